"""The report page: prediction records -> one self-contained HTML file (jinja2, autoescaped).

Records are rendered and written one at a time, as they come, so a long run never holds
them. The page opens with a link to its overview (one row per record, linking to its
section) and the tag summary. When the records can be read twice (a run with -o reads its
journal; the local page has its few in memory), `overview` writes both before the records;
otherwise they come at the end, the rows kept in a spooled temporary file meanwhile. Either
way the writer holds only counts, and the ids of at most ANCHORED_IDS records. The page
loads nothing from the network: its CSS and the small label filter script are inline.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from triage import __version__
from triage.readers.inputs import DUPLICATE_ID_LIMIT
from triage.records import REPORT_GENERATOR

# Shading (light) and chip (dark, for white text) colours, given to labels in card order.
LABEL_COLOURS = (
    ("#f9dcdc", "#a8322d"),
    ("#d8e6f6", "#1f5b9e"),
    ("#e8def5", "#653c99"),
    ("#fbe9cc", "#8a5200"),
    ("#d9f0dc", "#22703a"),
    ("#ececec", "#505050"),
    ("#d5f0f0", "#17676b"),
    ("#f6dcef", "#8c2f73"),
)
# The kept column shown as the source link when it holds an http(s) address.
URL_COLUMN = "url"
LINK_SCHEMES = ("http", "https")
# How the report tells a reader to ask for the terms behind each label; the page says its own.
CLI_EXPLAIN_HINT = "run triage predict with --explain"
# A record's first occurrence of an id gets an anchor that near-duplicates link to; the ids
# seen are remembered up to this many (past it a repeated id may repeat its anchor, and a
# link goes to the first of them, which is still its first copy).
ANCHORED_IDS = DUPLICATE_ID_LIMIT
SPOOL_BYTES = 1 << 20  # overview rows kept in memory up to this size, then on disk


def template_environment() -> jinja2.Environment:
    """Our templates, with autoescaping on for every one of them: text from an article is
    data, never markup."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("triage.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def id_anchor(record_id: str) -> str:
    """The page anchor of the first record with this id, made from the id alone, so a
    near-duplicate links to its first copy without the writer remembering where it was."""
    return "id-" + hashlib.blake2b(str(record_id).encode("utf-8"), digest_size=8).hexdigest()


def source_link(value) -> str | None:
    """The value of a url column when it is an http(s) address to link to, else None (shown
    as text: a `javascript:` or `file:` value must never become a link)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme.lower() in LINK_SCHEMES and parts.netloc else None


def review_flag_note(card: dict | None) -> str:
    """What the review flag means, in the figures the model card carries from the real-news
    test for this model's settings, or that no such figure exists yet."""
    logged = (card or {}).get("realnews_test") or {}
    try:
        flagged = float(logged["review_flagged_share"])
        caught = float(logged["review_errors_caught_share"])
    except (KeyError, TypeError, ValueError):
        return (
            "No real-news test figure exists yet for this model's settings: how much the review flag "
            "flags and how many errors it catches is not measured."
        )
    return (
        f"On the real-news test ({logged.get('articles', '?')} articles, logged {str(logged.get('date', ''))[:10]}) "
        f"the review flag marked {flagged:.0%} of paragraphs and caught {caught:.0%} of the paragraphs "
        "the model labelled wrongly."
    )


class _Counts:
    """What the summary shows, counted as the terminal's closing line counts: a near-duplicate
    article is one record more, but its tags and paragraphs are not counted again."""

    def __init__(self, labels: list[str]):
        self.records = 0
        self.near_duplicates = 0
        self.carrying = dict.fromkeys(labels, 0)
        self.paragraphs = dict.fromkeys(labels, 0)
        self.review = 0
        self.paragraphs_total = 0

    def add(self, record: dict, carried: list[str], paragraphs: list[dict]) -> None:
        self.records += 1
        if record.get("near_duplicate_of") is not None:
            self.near_duplicates += 1
            return
        for label in carried:
            self.carrying[label] = self.carrying.get(label, 0) + 1
        for paragraph in paragraphs:
            self.paragraphs[paragraph["label"]] = self.paragraphs.get(paragraph["label"], 0) + 1
            self.review += bool(paragraph.get("needs_review"))
        self.paragraphs_total += len(paragraphs)


class _Anchors:
    """Each record's section anchor (record-N, in order) and, for the first record of an id,
    its id anchor; the same answers on a second pass over the same records."""

    def __init__(self):
        self.number = 0
        self.seen: set[str] = set()

    def next(self, record_id: str) -> tuple[str, str | None]:
        self.number += 1
        anchor = id_anchor(record_id)
        if anchor in self.seen:
            return f"record-{self.number}", None
        if len(self.seen) < ANCHORED_IDS:
            self.seen.add(anchor)
        return f"record-{self.number}", anchor


class HtmlReportWriter:
    """Writes the report page to `stream`: the head now, each record on `write`, and on
    `finish` the overview and summary (unless `overview` wrote them first) and the end.

    `preamble` is trusted HTML from our own templates (the web page's form), shown above the
    records. `keep_columns` are the input columns the records carry: a `url` one is the
    source link, the others are shown beneath the heading. `card` is the model card, for
    what the review flag means."""

    def __init__(
        self,
        stream: TextIO,
        labels: list[str],
        *,
        title: str = "triage report",
        preamble: str = "",
        keep_columns: Iterable[str] = (),
        explain: bool = False,
        explain_hint: str = CLI_EXPLAIN_HINT,
        card: dict | None = None,
        url_column: str = URL_COLUMN,
    ):
        self._stream = stream
        self._labels = list(labels)
        self._keep_columns = tuple(keep_columns)
        self._url_column = url_column
        self._environment = template_environment()
        self._environment.filters["label_class"] = self._label_class
        self._record_template = self._environment.get_template("report_record.html")
        self._row_template = self._environment.get_template("report_overview_row.html")
        self._anchors = _Anchors()
        self._counts = _Counts(self._labels)
        self._review_note = review_flag_note(card)
        self._overview_written = False
        self._spool: tempfile.SpooledTemporaryFile | None = None
        self._started = False
        self._finished = False
        self._stream.write(
            self._environment.get_template("report_start.html").render(
                title=title,
                labels=self._labels,
                colours=self._colours(),
                preamble=Markup(preamble),
                generator=f"{REPORT_GENERATOR} {__version__}",
                explain=explain,
                explain_hint=explain_hint,
                review_note=self._review_note,
            )
        )

    def overview(self, records: Iterable[dict]) -> None:
        """Write the overview and the summary now, from a first pass over the records that
        `write` will then be given in the same order."""
        if self._started or self._overview_written:
            raise RuntimeError("HtmlReportWriter.overview must come before any record")
        self._overview_written = True
        anchors, counts = _Anchors(), _Counts(self._labels)
        self._stream.write(self._overview_start())
        for record in records:
            view = self._view(record, anchors)
            counts.add(record, view["carried"], view["paragraphs"])
            self._stream.write(self._row_template.render(view=view, record=record))
        self._stream.write(self._overview_end(counts))
        self._stream.write('<main id="records">\n')

    def write(self, record: dict | list[dict]) -> None:
        """Render one article record or paragraph record (as `triage predict --format jsonl`
        writes it), or a chunk of them."""
        for one in [record] if isinstance(record, dict) else record:
            self._write_record(one)

    def _write_record(self, record: dict) -> None:
        if self._finished:
            raise RuntimeError("HtmlReportWriter.write after finish")
        if not self._started:
            self._started = True
            if not self._overview_written:
                self._stream.write('<main id="records">\n')
        view = self._view(record, self._anchors)
        self._counts.add(record, view["carried"], view["paragraphs"])
        if not self._overview_written:
            if self._spool is None:
                self._spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES, mode="w+", encoding="utf-8")
            self._spool.write(self._row_template.render(view=view, record=record))
        self._stream.write(self._record_template.render(view=view, record=record, labels=self._labels))

    def finish(self) -> None:
        """Write the overview and summary (when they were not written first) and close the
        page; the writer takes no more records."""
        if self._finished:
            return
        self._finished = True
        if self._started or self._overview_written:
            self._stream.write("</main>\n")
        if not self._overview_written and self._counts.records:
            self._stream.write(self._overview_start())
            if self._spool is not None:
                self._spool.seek(0)
                shutil.copyfileobj(self._spool, self._stream)
                self._spool.close()
            self._stream.write(self._overview_end(self._counts))
        elif not self._overview_written:
            self._stream.write('<p class="meta" id="overview">Nothing triaged yet.</p>\n')
        self._stream.write("</body>\n</html>\n")

    def _overview_start(self) -> str:
        return self._environment.get_template("report_overview.html").render(part="start")

    def _overview_end(self, counts: _Counts) -> str:
        return self._environment.get_template("report_overview.html").render(
            part="end", labels=self._labels, counts=counts, review_note=self._review_note
        )

    def _view(self, record: dict, anchors: _Anchors) -> dict:
        """What the templates show of a record, worked out once for its row and its section."""
        anchor, first_of_id = anchors.next(record["id"])
        paragraphs = record.get("paragraphs")
        is_article = paragraphs is not None
        if not is_article:  # --unit paragraph: the record is one labelled paragraph
            paragraphs = [{**record, "index": 0, "text": ""}]
            carried = [record["label"]]
        else:
            carried = [tag["label"] for tag in record.get("tags", [])]
        url_value = record.get(self._url_column) if self._url_column in self._keep_columns else None
        columns = [
            (column, record.get(column))
            for column in self._keep_columns
            if column != self._url_column and record.get(column) not in (None, "")
        ]
        original = record.get("near_duplicate_of")
        notes = _tag_notes(record.get("tags", []), paragraphs) if is_article else []
        return {
            "anchor": anchor,
            "id_anchor": first_of_id,
            "is_article": is_article,
            "paragraphs": paragraphs,
            "carried": carried,
            "present_labels": sorted(set(carried) | {paragraph["label"] for paragraph in paragraphs}),
            "heading": record.get("title") or record["id"],
            "show_id": bool(record.get("title")),
            "url": source_link(url_value),
            "url_text": None if url_value in (None, "") else str(url_value),
            "columns": columns,
            "near_duplicate_of": original,
            "original_anchor": id_anchor(original) if original is not None else None,
            "review_count": sum(bool(paragraph.get("needs_review")) for paragraph in paragraphs),
            "tag_notes": notes,
            "evidence": _evidence_labels(notes),
        }

    def _label_class(self, label: str) -> str:
        return f"lab-{self._labels.index(label)}" if label in self._labels else "lab-unknown"

    def _colours(self) -> list[tuple[str, str, str]]:
        return [
            (self._label_class(label), *LABEL_COLOURS[i % len(LABEL_COLOURS)])
            for i, label in enumerate(self._labels)
        ]


def _tag_notes(tags: list[dict], paragraphs: list[dict]) -> list[dict]:
    """For each tag that no paragraph carries as its label, why the article has it: the
    paragraphs whose probability of the label reached the tag's threshold (as the terminal
    table says under the tag)."""
    by_index = {paragraph["index"]: paragraph for paragraph in paragraphs}
    notes = []
    for tag in tags:
        label = tag["label"]
        if any(paragraph["label"] == label for paragraph in paragraphs):
            continue
        notes.append(
            {
                "label": label,
                "threshold": tag.get("threshold"),
                "evidence": [
                    {
                        "index": index,
                        "label": by_index[index]["label"],
                        "probability": by_index[index]["probabilities"][label],
                    }
                    for index in tag.get("paragraphs", [])
                    if index in by_index
                ],
            }
        )
    return notes


def _evidence_labels(notes: list[dict]) -> dict[int, list[str]]:
    """Paragraph index -> the tags it gave the article when no paragraph carries their label
    (the label filter leaves these paragraphs undimmed)."""
    evidence: dict[int, list[str]] = {}
    for note in notes:
        for one in note["evidence"]:
            evidence.setdefault(one["index"], []).append(note["label"])
    return evidence


def report_page(records, labels: list[str], **writer_options) -> str:
    """The whole page for records already in memory (the local page's few inputs), its
    overview first; `writer_options` as HtmlReportWriter takes them."""
    import io

    records = list(records)
    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, labels, **writer_options)
    if records:
        writer.overview(records)
    for record in records:
        writer.write(record)
    writer.finish()
    return buffer.getvalue()
