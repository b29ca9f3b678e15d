"""The shape of the records `triage predict` writes: the one definition of the output record.

The JSON writers emit these keys in this order (article_record, paragraph_record below); the
reserved output names (reserved_output_names) are their keys; the API spec of `triage
serve` is generated from these classes (pydantic reads TypedDicts), so the spec cannot drift
from what is written. An input's kept columns (--keep-columns, or an API article's own
fields) are further top-level keys beside these.

No `from __future__ import annotations` here: the classes are read at run time (pydantic,
`NotRequired` on Python 3.11).
"""

import json
from dataclasses import dataclass, field
from typing import (
    NotRequired,  # pydantic reads typing_extensions' TypedDict on 3.11
    get_type_hints,
)

from typing_extensions import TypedDict

from triage.errors import UsageError


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
# Every output record carries this key (its value: OUTPUT_SCHEMA), first, so that a reader
# leaves triage's own outputs out of a directory by their first bytes however long a record
# is; an HTML report says so in <meta name="generator" content="triage VERSION">.
OUTPUT_SCHEMA_KEY = "triage_schema"
OUTPUT_SCHEMA = 2
REPORT_GENERATOR = "triage"


@dataclass(frozen=True)
class InputRecord:
    """One article (or paragraph) to triage and where it came from, for messages."""

    id: str
    text: str
    title: str | None = None
    columns: dict = field(default_factory=dict)  # --keep-columns, carried to the output
    source: str | None = None  # the file it was read from
    row: int | None = None  # its row or line in that file
    lines_refer_to: str | None = None  # set when line spans count lines of extracted text
    offset: int | None = None  # bytes of the source file read once this record was (progress)


def reserved_output_names(labels: list[str]) -> set[str]:
    """Every key and column name triage's outputs use with a model of these labels."""
    return {*ARTICLE_KEYS, *PARAGRAPH_KEYS, *flat_columns(labels)}


def check_keep_columns(keep_columns: tuple[str, ...], labels: list[str]) -> None:
    """A kept column must not take a name of the output: it would be written twice and its
    value lost (CSV, Parquet) or overwritten (JSON)."""
    clashing = [column for column in keep_columns if column in reserved_output_names(labels)]
    if clashing:
        raise UsageError(
            f"--keep-columns {', '.join(clashing)}: the output already has "
            f"{'a column' if len(clashing) == 1 else 'columns'} of that name; rename the input column"
        )


def article_record(record: InputRecord, prediction, model_sha: str, version: str) -> ArticleRecord:
    """The JSON object `triage predict --unit article` writes for one article."""
    data = {
        OUTPUT_SCHEMA_KEY: OUTPUT_SCHEMA,
        "id": record.id,
        **record.columns,
        "title": prediction.title,
        "tags": prediction.tags,
    }
    data.update(
        context=prediction.context,
        dropped_lines=len(prediction.dropped),
        mostly_foreign=prediction.mostly_foreign,
        near_duplicate_of=None,
    )
    if record.lines_refer_to:
        data["lines_refer_to"] = record.lines_refer_to
    data["paragraphs"] = [paragraph.to_dict() for paragraph in prediction.paragraphs]
    return {**data, "model": model_sha, "triage_version": version}


def paragraph_record(record: InputRecord, prediction, model_sha: str, version: str) -> ParagraphRecord:
    """The JSON object `triage predict --unit paragraph` writes for one paragraph."""
    data = {
        OUTPUT_SCHEMA_KEY: OUTPUT_SCHEMA,
        "id": record.id,
        **record.columns,
        "label": prediction.label,
        "probabilities": prediction.probabilities,
        "needs_review": prediction.needs_review,
    }
    if prediction.explanation is not None:
        data["explanation"] = prediction.explanation
    if prediction.runner_up is not None:
        data["runner_up"] = prediction.runner_up
    return {**data, "model": model_sha, "triage_version": version}


def to_jsonl(objects: list[dict]) -> str:
    return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)


def flat_columns(labels: list[str], keep_columns: tuple[str, ...] = ()) -> list[str]:
    """The columns of CSV and Parquet output: one row per paragraph."""
    return [
        "id",
        *keep_columns,
        "title",
        "paragraph",
        "first_line",
        "last_line",
        "label",
        "needs_review",
        *[f"p_{label}" for label in labels],
        "tags",
        *[f"tag_{label}" for label in labels],
        "near_duplicate_of",
        "text",
        "model",
        "triage_version",
        OUTPUT_SCHEMA_KEY,
    ]


def flat_rows(obj: dict, labels: list[str], keep_columns: tuple[str, ...] = ()) -> list[dict]:
    """An output record as rows of `flat_columns` (a paragraph record is one row)."""
    paragraphs = obj.get("paragraphs")
    if paragraphs is None:  # a paragraph record
        paragraphs = [{"index": 0, "text": "", **obj}]
    tag_scores = {tag["label"]: tag["score"] for tag in obj.get("tags", [])}
    shared = {
        "id": obj["id"],
        **{column: obj.get(column) for column in keep_columns},
        "title": obj.get("title"),
        "tags": ";".join(tag_scores),
        **{f"tag_{label}": tag_scores.get(label) for label in labels},
        "near_duplicate_of": obj.get("near_duplicate_of"),
        "model": obj["model"],
        "triage_version": obj["triage_version"],
        OUTPUT_SCHEMA_KEY: obj.get(OUTPUT_SCHEMA_KEY, OUTPUT_SCHEMA),
    }
    rows = []
    for paragraph in paragraphs:
        lines = paragraph.get("lines") or [None, None]
        rows.append(
            {
                **shared,
                "paragraph": paragraph.get("index", 0),
                "first_line": lines[0],
                "last_line": lines[1],
                "label": paragraph["label"],
                "needs_review": paragraph["needs_review"],
                **{f"p_{label}": paragraph["probabilities"][label] for label in labels},
                "text": paragraph.get("text", ""),
            }
        )
    return rows


assert ARTICLE_KEYS[0] == PARAGRAPH_KEYS[0] == OUTPUT_SCHEMA_KEY  # the first key, as readers expect
