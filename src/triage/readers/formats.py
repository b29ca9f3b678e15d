"""One reader per row format (csv, jsonl, parquet) and the HTML page reader: rows become input records, unreadable rows are skipped with a warning that counts them."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

from triage.errors import BadInput
from triage.readers.files import (
    BOMS,
    DEFAULT_ID_COLUMN,
    EXTRACTED_TEXT,
    BadFile,
    ReadOptions,
    Skipped,
    Warn,
    batch_extra_hint,
    decode_bytes,
    disk_position,
    marked_invalid,
    read_bytes,
    reading_errors_named,
    text_stream,
)
from triage.records import (
    InputRecord,
)


def _check_columns(path: Path, fields: list[str], options: ReadOptions, what: str = "column") -> None:
    wanted = [(options.text_column, "--text-column")]
    if options.id_column is not None:
        wanted.append((options.id_column, "--id-column"))
    if options.title_column is not None:
        wanted.append((options.title_column, "--title-column"))
    wanted += [(column, "--keep-columns") for column in options.keep_columns]
    for column, option in wanted:
        if column not in fields:
            raise BadInput(
                f"{path}: no {column!r} {what} (columns: {', '.join(fields) or 'none'}); use {option}"
            )


def csv_records(path: Path, warn: Warn, options: ReadOptions) -> Iterator[tuple[dict, int, str, int | None]]:
    """(row, row number, "row", bytes read) for each row of a CSV file."""
    with reading_errors_named(path), text_stream(path, options.encoding) as stream:
        reader = csv.reader(stream)
        try:
            fields = next(reader, None) or []
        except csv.Error as exc:
            raise BadInput(f"{path}: not a readable CSV ({exc})") from None
        fields = [field.lstrip("\ufeff") for field in fields]
        if any(map(marked_invalid, fields)):
            raise BadInput(f"{path}: its header is not valid {stream.encoding}; pass --encoding")
        _check_columns(path, fields, options)
        number = 0
        while True:
            try:
                values = next(reader, None)
            except csv.Error as exc:
                # the csv module would go on at the next line, which may be inside a quoted
                # field: rows made of its lines would be wrong, so the file stops here
                raise BadFile(
                    f"{path}: not a readable CSV after row {number} ({exc}); its later rows are not read"
                ) from None
            if values is None:
                break
            number += 1
            if any(map(marked_invalid, values)):
                warn(_undecodable(path, "row", number, stream.encoding))
                continue
            yield dict(zip(fields, values, strict=False)), number, "row", disk_position(stream)
    if not number:
        raise BadInput(f"{path}: no rows, only a header")


def jsonl_records(
    path: Path, warn: Warn, options: ReadOptions
) -> Iterator[tuple[dict, int, str, int | None]]:
    """(object, line number, "line", bytes read) for each JSON object of a JSON-lines file."""
    checked = False
    with reading_errors_named(path), text_stream(path, options.encoding) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            if marked_invalid(line):
                warn(_undecodable(path, "line", number, stream.encoding))
                continue
            try:
                row = json.loads(line)
            except ValueError:
                warn(Skipped(f"skipped {path} line {number}: not valid JSON", rows=1))
                continue
            if not isinstance(row, dict):
                warn(Skipped(f"skipped {path} line {number}: not a JSON object", rows=1))
                continue
            if not checked:  # the first object stands for the file: its fields must be there
                _check_columns(path, list(row), options, what="field")
                checked = True
            yield row, number, "line", disk_position(stream)
    if not checked:
        raise BadInput(f"{path}: no JSON lines")


def _undecodable(path: Path, unit: str, number: int, encoding: str) -> Skipped:
    return Skipped(
        f"skipped {path} {unit} {number}: not valid {encoding} (pass --encoding if the file is in another)",
        rows=1,
    )


def parquet_records(path: Path, warn: Warn, options: ReadOptions) -> Iterator[tuple[dict, int, str, int]]:
    """(row, row number, "row", estimated bytes read) for each row of a Parquet file."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BadInput(f"{path}: reading Parquet needs pyarrow: {batch_extra_hint()}") from None
    try:
        parquet = pq.ParquetFile(path)
        fields = parquet.schema_arrow.names
    except Exception as exc:  # pyarrow's errors: ArrowInvalid, OSError, ...
        raise BadFile(f"{path}: not a readable Parquet file ({type(exc).__name__})") from None
    _check_columns(path, fields, options)
    wanted = [
        column
        for column in dict.fromkeys(
            [options.text_column, options.id_column or DEFAULT_ID_COLUMN, options.title_column or "title"]
            + list(options.keep_columns)
        )
        if column in fields
    ]
    number = 0
    size, total_rows = path.stat().st_size, max(parquet.metadata.num_rows, 1)
    try:
        for batch in parquet.iter_batches(batch_size=2048, columns=wanted):
            for row in batch.to_pylist():
                number += 1
                yield row, number, "row", size * number // total_rows
    except BadInput:
        raise
    except Exception as exc:
        raise BadFile(f"{path}: corrupt Parquet data after row {number} ({type(exc).__name__})") from None
    if not number:
        raise BadInput(f"{path}: no rows")


def row_record(path, name, row, number, unit, warn, options: ReadOptions, offset=None) -> InputRecord | None:
    text = row.get(options.text_column)
    record_id = id_text(row.get(options.id_column or DEFAULT_ID_COLUMN)) or f"{name}:{number}"
    if not isinstance(text, str) or not text.strip():
        warn(
            Skipped(
                f"skipped {path} {unit} {number} (id {record_id}): empty or missing {options.text_column!r}",
                rows=1,
            )
        )
        return None
    if len(text) > options.max_bytes and len(text.encode("utf-8")) > options.max_bytes:
        warn(
            Skipped(
                f"skipped {path} {unit} {number} (id {record_id}): text over --max-bytes {options.max_bytes:,}",
                rows=1,
            )
        )
        return None
    title = row.get(options.title_column or "title")
    title = title.strip() if isinstance(title, str) and title.strip() else None
    columns = {column: _plain(row.get(column)) for column in options.keep_columns}
    return InputRecord(record_id, text, title, columns, str(path), number, offset=offset)


def id_text(value) -> str | None:
    """A row's id as text, or None when it has none (missing, empty, NaN); 0 and False are ids."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value)
    return text if text.strip() else None


def _plain(value):
    """A kept column's value as JSON can hold it (dates as ISO text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def no_columns(options: ReadOptions) -> dict:
    return {column: None for column in options.keep_columns}


# --- HTML pages --------------------------------------------------------------------------------
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in a <meta> tag near its start (HTTP-style or HTML5)."""
    match = _META_CHARSET.search(data[:8192])
    return match.group(1).decode("ascii").lower() if match else None


def html_record(path: Path, warn: Warn, options: ReadOptions) -> InputRecord:
    data = read_bytes(path, options.max_bytes)
    encoding = options.encoding
    if encoding is None and not any(data.startswith(bom) for bom, _ in BOMS):
        encoding = declared_charset(data)
    page = decode_bytes(data, str(path), encoding)
    title, text = extract_main_text(page, path)
    if not text.strip():
        warn(f"{path}: no main text found in the page (navigation only?); no tags")
        text = ""
    return InputRecord(
        str(path),
        text,
        title,
        no_columns(options),
        str(path),
        lines_refer_to=EXTRACTED_TEXT,
        offset=len(data),
    )


def extract_main_text(page: str, path: Path) -> tuple[str | None, str]:
    """(title, main text) of an HTML page by trafilatura, one paragraph a line, for ingestion."""
    try:
        import trafilatura
    except ImportError:
        raise BadInput(f"{path}: reading HTML needs trafilatura: {batch_extra_hint()}") from None
    # one pass for the text and the title (extract + extract_metadata parsed the page twice)
    document = trafilatura.bare_extraction(
        page, include_comments=False, include_tables=False, favor_precision=True, with_metadata=True
    )
    if document is None:
        return None, ""
    return document.title or None, document.text or ""
