"""The report page: prediction records -> one self-contained HTML file (jinja2, autoescaped).

Records are rendered and written one at a time, as they come, so a long run never holds
them: the writer keeps only what the closing summary needs (counts and article ids per
label). The page loads nothing from the network: its CSS and the small label filter script
are inline.
"""

from __future__ import annotations

from typing import TextIO

import jinja2
from markupsafe import Markup

from triage import __version__
from triage.io import REPORT_GENERATOR

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


def template_environment() -> jinja2.Environment:
    """Our templates, with autoescaping on for every one of them: text from an article is
    data, never markup."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("triage", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


class HtmlReportWriter:
    """Writes the report page to `stream`: the head now, each record on `write`, the summary
    of tags across all records and the closing tags on `finish`.

    `preamble` is trusted HTML from our own templates (the web page's form), shown above the
    records."""

    def __init__(
        self, stream: TextIO, labels: list[str], *, title: str = "triage report", preamble: str = ""
    ):
        self._stream = stream
        self._labels = list(labels)
        self._environment = template_environment()
        self._environment.filters["label_class"] = self._label_class
        self._records_written = 0
        self._finished = False
        self._carriers: dict[str, list[tuple[str, str]]] = {label: [] for label in self._labels}
        self._paragraph_counts: dict[str, int] = dict.fromkeys(self._labels, 0)
        self._review_count = 0
        self._stream.write(
            self._environment.get_template("report_start.html").render(
                title=title,
                labels=self._labels,
                colours=self._colours(),
                preamble=Markup(preamble),
                generator=f"{REPORT_GENERATOR} {__version__}",
            )
        )

    def write(self, record: dict | list[dict]) -> None:
        """Render one article record or paragraph record (as `triage predict --format jsonl`
        writes it), or a chunk of them, remembering only ids under the labels they carry."""
        for one in [record] if isinstance(record, dict) else record:
            self._write_record(one)

    def _write_record(self, record: dict) -> None:
        if self._finished:
            raise RuntimeError("HtmlReportWriter.write after finish")
        self._records_written += 1
        anchor = f"record-{self._records_written}"
        paragraphs = record.get("paragraphs")
        if paragraphs is None:  # --unit paragraph: the record is one labelled paragraph
            paragraphs = [{**record, "index": 0, "text": ""}]
            carried = [record["label"]]
        else:
            carried = [tag["label"] for tag in record.get("tags", [])]
        for paragraph in paragraphs:
            self._paragraph_counts[paragraph["label"]] = self._paragraph_counts.get(paragraph["label"], 0) + 1
            self._review_count += bool(paragraph.get("needs_review"))
        for label in carried:
            self._carriers.setdefault(label, []).append((anchor, record["id"]))
        present = sorted(set(carried) | {paragraph["label"] for paragraph in paragraphs})
        self._stream.write(
            self._environment.get_template("report_record.html").render(
                record=record,
                anchor=anchor,
                paragraphs=paragraphs,
                is_article="paragraphs" in record,
                present_labels=present,
                labels=self._labels,
            )
        )

    def finish(self) -> None:
        """Write the summary table and close the page; the writer takes no more records."""
        if self._finished:
            return
        self._finished = True
        self._stream.write(
            self._environment.get_template("report_end.html").render(
                labels=self._labels,
                carriers=self._carriers,
                paragraph_counts=self._paragraph_counts,
                records_written=self._records_written,
                review_count=self._review_count,
            )
        )

    def _label_class(self, label: str) -> str:
        return f"lab-{self._labels.index(label)}" if label in self._labels else "lab-unknown"

    def _colours(self) -> list[tuple[str, str, str]]:
        return [
            (self._label_class(label), *LABEL_COLOURS[i % len(LABEL_COLOURS)])
            for i, label in enumerate(self._labels)
        ]


def report_page(records, labels: list[str], *, title: str = "triage report", preamble: str = "") -> str:
    """The whole page for records already in memory (the web page's few inputs)."""
    import io

    buffer = io.StringIO()
    writer = HtmlReportWriter(buffer, labels, title=title, preamble=preamble)
    for record in records:
        writer.write(record)
    writer.finish()
    return buffer.getvalue()
