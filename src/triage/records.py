"""The shape of the records `triage predict` writes: the one definition of the output record.

The JSON writers emit these keys in this order (io.article_record, io.paragraph_record); the
reserved output names (io.reserved_output_names) are their keys; the API spec of `triage
serve` is generated from these classes (pydantic reads TypedDicts), so the spec cannot drift
from what is written. An input's kept columns (--keep-columns, or an API article's own
fields) are further top-level keys beside these.

No `from __future__ import annotations` here: the classes are read at run time (pydantic,
`NotRequired` on Python 3.11).
"""

from typing import (
    NotRequired,  # pydantic reads typing_extensions' TypedDict on 3.11
    get_type_hints,
)

from typing_extensions import TypedDict


class Term(TypedDict):
    """A term of the paragraph and its weight for (or against) a label."""

    term: str
    weight: float


class RunnerUp(TypedDict):
    """The second most probable label and the terms that favour the chosen label over it."""

    label: str
    terms: list[Term]


class Tag(TypedDict):
    """An article's tag: the highest probability of its label over the article's paragraphs
    (`score`), reaching the label's `threshold`; `paragraphs`: those at or above it."""

    label: str
    score: float
    paragraphs: list[int]
    threshold: float


class Paragraph(TypedDict):
    """One paragraph of an article record, in reading order."""

    index: int
    text: str
    lines: NotRequired[list[int]]  # [first, last] line of the input (of the extracted text for a page)
    label: str
    probabilities: dict[str, float]
    needs_review: bool
    own_probabilities: NotRequired[dict[str, float]]  # before article context, when it was used
    explanation: NotRequired[list[Term]]  # with explain
    runner_up: NotRequired[RunnerUp]  # with explain, when another label came second


class ArticleRecord(TypedDict):
    """What `triage predict --unit article` writes for one article."""

    triage_schema: int
    id: str
    title: str | None
    tags: list[Tag]
    context: bool
    dropped_lines: int
    mostly_foreign: bool
    near_duplicate_of: str | None  # the id of an earlier article this one nearly repeats
    lines_refer_to: NotRequired[str]
    paragraphs: list[Paragraph]
    model: str
    triage_version: str


class ParagraphRecord(TypedDict):
    """What `triage predict --unit paragraph` writes for one paragraph."""

    triage_schema: int
    id: str
    label: str
    probabilities: dict[str, float]
    needs_review: bool
    explanation: NotRequired[list[Term]]
    runner_up: NotRequired[RunnerUp]
    model: str
    triage_version: str


# The nested parts have no keys but these (pydantic reads this config, as a plain dict, when
# it makes the spec); the records themselves may carry kept input columns beside theirs.
for _part in (Term, RunnerUp, Tag, Paragraph):
    _part.__pydantic_config__ = {"extra": "forbid"}

# Every top-level key of the two records, in the order the writers emit them.
ARTICLE_KEYS = tuple(get_type_hints(ArticleRecord))
PARAGRAPH_KEYS = tuple(get_type_hints(ParagraphRecord))
