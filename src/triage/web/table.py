"""`triage predict --format table`: the reading view for people, fitted to the terminal.

Under each article's tags it lists the paragraphs labelled with that tag's label, or, when
none is, the paragraphs whose probability put the tag there (a tag needs a paragraph at
or above its threshold, not a paragraph labelled with it). A legend under the table
explains the review marks.
"""

from __future__ import annotations

import shutil
from typing import TextIO

from triage.untrusted import for_terminal
from triage.wording import counted

REVIEW_MARK = "?"
REVIEW_WORD = "(review)"
MIN_TEXT_WIDTH = 20


def to_table(
    objects: list[dict], explain: bool = False, width: int | None = None, legend: bool = True
) -> str:
    """Tags per article (with the paragraphs behind each), then each paragraph's label, one
    line each, cut to `width` (default: the terminal's), then the legend (a writer that
    streams chunks passes legend=False and ends with `table_legend` once)."""
    width = width or shutil.get_terminal_size().columns
    out: list[str] = []
    for obj in objects:
        out += (
            _paragraph_lines(obj, explain) if "paragraphs" not in obj else _article_lines(obj, explain, width)
        )
    text = "\n".join(out) + ("\n" if out else "")
    if not legend:
        return text
    return text + table_legend(
        articles=any("paragraphs" in obj for obj in objects),
        paragraphs=any("paragraphs" not in obj for obj in objects),
    )


def _paragraph_lines(obj: dict, explain: bool) -> list[str]:
    review = f"  {REVIEW_WORD}" if obj["needs_review"] else ""
    lines = [f"{for_terminal(obj['id'])}: {obj['label']} {obj['probabilities'][obj['label']]:.2f}{review}"]
    if explain and obj.get("explanation"):
        lines += _explanation_lines(obj, "    ")
    return lines


def _article_lines(obj: dict, explain: bool, width: int) -> list[str]:
    lines = [f"== {for_terminal(obj['id'])}" + (f": {for_terminal(obj['title'])}" if obj["title"] else "")]
    lines.append("   tags:" + ("" if obj["tags"] else " none"))
    label_width = max((len(tag["label"]) for tag in obj["tags"]), default=0)
    for tag in obj["tags"]:
        lines.append(
            f"     {tag['label']:<{label_width}} {tag['score']:.2f}  {_evidence(tag, obj['paragraphs'])}"
        )
    if obj.get("mostly_foreign"):
        lines.append("   (mostly in another language: no tags)")
    lines.append(
        f"   dropped {counted(obj.get('dropped_lines', 0), 'line')} of page furniture (triage ingest --show-dropped)"
    )
    for paragraph in obj["paragraphs"]:
        review = f" {REVIEW_MARK}" if paragraph["needs_review"] else "  "
        probability = paragraph["probabilities"][paragraph["label"]]
        prefix = f"   {paragraph['index']:>3} {paragraph['label']:<18} {probability:.2f}{review} "
        lines.append(prefix + _cut(for_terminal(paragraph["text"]), max(width - len(prefix), MIN_TEXT_WIDTH)))
        if explain and paragraph.get("explanation"):
            lines += _explanation_lines(paragraph, "       ")
    lines.append("")
    return lines


def _evidence(tag: dict, paragraphs: list[dict]) -> str:
    """Which paragraphs carry the tag's label, or why the tag is there when none does."""
    label = tag["label"]
    labelled = [p["index"] for p in paragraphs if p["label"] == label]
    if labelled:
        return f"{_plural('paragraph', labelled)} {_indexes(labelled)}"
    by_index = {p["index"]: p for p in paragraphs}
    evidence = ", ".join(
        f"{i} (labelled {by_index[i]['label']}, p {by_index[i]['probabilities'][label]:.2f})"
        for i in tag["paragraphs"]
        if i in by_index
    )
    return f"no paragraph labelled {label}; from {_plural('paragraph', tag['paragraphs'])} {evidence}"


def table_legend(*, articles: bool, paragraphs: bool) -> str:
    """The marks the table uses for article records and for paragraph records, explained."""
    legend = []
    if articles:
        legend.append(
            f"{REVIEW_MARK} after a probability: under the review threshold (needs_review: a person should check it)."
        )
        legend.append(
            "Tags list the paragraphs labelled with them; a tag needs one paragraph whose probability "
            "reaches its threshold, which may be labelled otherwise."
        )
    if paragraphs:
        legend.append(f"{REVIEW_WORD}: under the review threshold (needs_review: a person should check it).")
    return "".join(line + "\n" for line in legend)


def _explanation_lines(paragraph: dict, indent: str) -> list[str]:
    lines = [indent + "terms: " + _terms(paragraph["explanation"])]
    if paragraph.get("runner_up"):
        runner_up = paragraph["runner_up"]
        lines.append(f"{indent}why not {runner_up['label']}: " + (_terms(runner_up["terms"]) or "no term"))
    return lines


def _terms(terms: list[dict]) -> str:
    return for_terminal(", ".join(term["term"] for term in terms))


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _plural(word: str, items: list) -> str:
    return word if len(items) == 1 else word + "s"


def _indexes(indexes: list[int]) -> str:
    """0, 1, 2, 3, 6 -> "0-3, 6": a long article's list stays short."""
    runs: list[list[int]] = []
    for index in indexes:
        if runs and index == runs[-1][-1] + 1:
            runs[-1].append(index)
        else:
            runs.append([index])
    return ", ".join(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}" for run in runs)


class TableWriter:
    """The table for people, chunk by chunk, with its legend once at the end."""

    def __init__(self, stream: TextIO, explain: bool = False, **_):
        self.stream, self.explain = stream, explain
        self.seen_articles = self.seen_paragraphs = False

    def write(self, records: list[dict]) -> None:
        self.seen_articles |= any("paragraphs" in record for record in records)
        self.seen_paragraphs |= any("paragraphs" not in record for record in records)
        self.stream.write(to_table(records, self.explain, legend=False))

    def finish(self) -> None:
        self.stream.write(table_legend(articles=self.seen_articles, paragraphs=self.seen_paragraphs))
        self.stream.flush()
