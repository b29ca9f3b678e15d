"""Streaming writers for `triage predict`: records go out chunk by chunk in any format.

Every writer takes output records (records.article_record / records.paragraph_record) through
`write(records)` and ends with `finish()`; none keeps the records it has written.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TextIO

from triage.errors import BadInput, UsageError
from triage.records import flat_columns, flat_rows, to_jsonl

OUTPUT_SUFFIXES = {".jsonl": "jsonl", ".csv": "csv", ".parquet": "parquet", ".html": "html", ".htm": "html"}


def format_for_output(path: Path | None, requested: str | None, on_terminal: bool) -> str:
    """The output format: --format when given, else by -o's suffix, else table on a terminal
    and jsonl in a pipe. A suffix that contradicts --format is refused."""
    by_suffix = OUTPUT_SUFFIXES.get(path.suffix.lower()) if path is not None else None
    if requested and by_suffix and requested != by_suffix and requested != "table":
        raise UsageError(f"-o {path}: its suffix says {by_suffix}, but --format says {requested}")
    if requested:
        if requested == "parquet" and path is None:
            raise UsageError(
                "--format parquet needs -o FILE.parquet (Parquet is not written to a terminal or pipe)"
            )
        return requested
    if path is not None:
        if by_suffix is None:
            raise UsageError(
                f"-o {path}: unknown output suffix; use .jsonl, .csv, .parquet or .html, or pass --format"
            )
        return by_suffix
    return "table" if on_terminal else "jsonl"


class JsonlWriter:
    def __init__(self, stream: TextIO, **_):
        self.stream = stream

    def write(self, records: list[dict]) -> None:
        self.stream.write(to_jsonl(records))

    def finish(self) -> None:
        self.stream.flush()


class CsvWriter:
    def __init__(self, stream: TextIO, labels: list[str], keep_columns: tuple[str, ...] = (), **_):
        self.labels, self.keep_columns = labels, keep_columns
        self.writer = csv.DictWriter(
            stream, fieldnames=flat_columns(labels, keep_columns), lineterminator="\n"
        )
        self.writer.writeheader()
        self.stream = stream

    def write(self, records: list[dict]) -> None:
        for record in records:
            self.writer.writerows(flat_rows(record, self.labels, self.keep_columns))

    def finish(self) -> None:
        self.stream.flush()


class ParquetWriter:
    """Parquet of the CSV's rows (one per paragraph), with a fixed schema, row group by row group."""

    def __init__(self, path: Path, labels: list[str], keep_columns: tuple[str, ...] = (), **_):
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.labels, self.keep_columns = labels, keep_columns
        self.schema = parquet_schema(labels, keep_columns)
        self.writer = pq.ParquetWriter(str(path), self.schema)
        self._pa = pa

    def write(self, records: list[dict]) -> None:
        rows = [row for record in records for row in flat_rows(record, self.labels, self.keep_columns)]
        if rows:
            for column in self.keep_columns:  # kept columns travel as text, whatever they were
                for row in rows:
                    row[column] = None if row[column] is None else str(row[column])
            self.writer.write_table(self._pa.Table.from_pylist(rows, schema=self.schema))

    def finish(self) -> None:
        self.writer.close()


# The writers of data formats; those for people (html, table) are in web/ and passed in.
DATA_WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter}


def parquet_schema(labels: list[str], keep_columns: tuple[str, ...] = ()):
    import pyarrow as pa

    types = {
        "paragraph": pa.int64(),
        "first_line": pa.int64(),
        "last_line": pa.int64(),
        "needs_review": pa.bool_(),
        "triage_schema": pa.int64(),
        **{f"p_{label}": pa.float64() for label in labels},
        **{f"tag_{label}": pa.float64() for label in labels},
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in flat_columns(labels, keep_columns)])


def open_writer(
    output_format: str,
    target,
    *,
    labels: list[str],
    keep_columns=(),
    explain=False,
    card=None,
    writers: Mapping[str, Callable] | None = None,
):
    """A writer of `output_format` onto `target` (a text stream; a path for Parquet). `card`,
    the model's, tells the report page what the review flag means. `writers` adds the writers
    of other formats by name (the CLI passes the page's and the table's from `web/`), so this
    engine never imports what people look at.

    Every writer has `write(records)` and `finish()`; a writer that can use a first pass over
    all the records (the report page's overview) also has `overview(records)`, which the
    journal, able to read them twice, calls before the first `write`."""
    if output_format == "parquet":
        try:
            return ParquetWriter(Path(target), labels, keep_columns)
        except ImportError:
            from triage.paths import extra_install_command

            raise BadInput(
                f"writing Parquet needs pyarrow: install the batch extra with {extra_install_command('batch')}"
            ) from None
    available = {**DATA_WRITERS, **(writers or {})}
    if output_format not in available:
        raise UsageError(
            f"no writer for --format {output_format} here (known: {', '.join(sorted(available))})"
        )
    return available[output_format](
        target, labels=labels, keep_columns=keep_columns, explain=explain, card=card
    )
