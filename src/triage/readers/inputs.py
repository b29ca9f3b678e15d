"""Reading the inputs analysts feed `triage predict` and writing its outputs safely (the
records themselves, read and written, are defined in `triage.records`).

Inputs: a `.txt` article (optionally gzipped), `-` for standard input, a `.csv` / `.jsonl` (optionally
gzipped) or `.parquet` file with one article (or paragraph) per row, an `.html` page (its
main text by trafilatura), or a directory of any of them. Everything is streamed: a feed
is never read whole, and `max_bytes` limits one article. Text is UTF-8 (a BOM is dropped),
UTF-16/32 only when a BOM says so, anything else only with an explicit `encoding`: we never
guess Latin-1, which turns any bytes into plausible-looking garbage.
"""

from __future__ import annotations

import codecs
import csv
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from triage.errors import BadInput
from triage.readers.files import (
    INVALID_TEXT_HANDLER,
    BadFile,
    ReadOptions,
    Skipped,
    Warn,
    decode_bytes,
    open_binary,
    opened_regular_file,
    read_bytes,
    read_stdin,
    require_regular_file,
)
from triage.readers.formats import (
    csv_records,
    html_record,
    jsonl_records,
    no_columns,
    parquet_records,
    row_record,
)
from triage.records import (
    OUTPUT_SCHEMA_KEY,
    REPORT_GENERATOR,
    InputRecord,
)
from triage.wording import counted

# Ids remembered per run for the duplicate-id warning; past this many the warning is
# best-effort, so that memory stays bounded on a feed of millions of rows.
DUPLICATE_ID_LIMIT = 100_000


# --- inputs --------------------------------------------------------------------------------
# Suffixes read, longest first so `.csv.gz` is not taken for `.gz`.
INPUT_KINDS = {
    ".jsonl.gz": "jsonl",
    ".csv.gz": "csv",
    ".txt.gz": "txt",
    ".jsonl": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
    ".html": "html",
    ".htm": "html",
    ".txt": "txt",
}
SUPPORTED_FORMATS = ".txt, .csv, .jsonl (each optionally .gz), .parquet, .html/.htm, a directory of them, or - for standard input"


def input_kind(path: Path) -> str | None:
    name = path.name.lower()
    for suffix, kind in INPUT_KINDS.items():
        if name.endswith(suffix):
            return kind
    return None


def iter_inputs(
    paths: list[str],
    *,
    warn: Warn,
    options: ReadOptions | None = None,
    file_failed: Warn | None = None,
    **option_values,
) -> Iterator[InputRecord]:
    """Every record of every path, in order, streamed.

    A bad row is warned about and skipped. A file that breaks while it is read (a truncated
    .gz, a corrupt Parquet file) goes to `file_failed` and the next file is read; without
    `file_failed` it raises. Paths named on the command line must exist and be supported.
    """
    options = options or ReadOptions(**option_values)
    check_input_paths(paths)
    ids = RunIds(warn)
    for name in paths:
        if name == "-":
            text = read_stdin(options.encoding, options.max_bytes)
            if not text.strip():
                raise BadInput("standard input: no text")
            ids.note("-", "standard input")
            yield InputRecord("-", text)
            continue
        path = Path(name)
        if path.is_dir():
            yield from _directory_records(path, warn, options, file_failed, ids)
        else:
            yield from _guarded(_file_records(path, warn, options, ids, path.name), file_failed)


def named_inputs(paths: list[str]) -> str:
    """The inputs of a run as a message names them."""
    return ", ".join("standard input" if name == "-" else name for name in paths)


class RunIds:
    """The ids a run has given out, for the duplicate-id warning across all its inputs
    (remembering at most DUPLICATE_ID_LIMIT of them)."""

    def __init__(self, warn: Warn):
        self.warn = warn
        self.first_seen: dict[str, str] = {}

    def note(self, record_id: str, where: str) -> None:
        first = self.first_seen.get(record_id)
        if first is not None:
            self.warn(f"{where}: duplicate id {record_id!r} (as {first}; kept, outputs repeat it)")
        elif len(self.first_seen) < DUPLICATE_ID_LIMIT:
            self.first_seen[record_id] = where


def check_input_paths(paths: list[str]) -> None:
    """Refuse, before any work (and before a model is loaded), paths that cannot be read:
    none given, missing, or of a type triage does not read."""
    if not paths:
        raise BadInput("no input: give a file, a directory, or - for standard input")
    for name in paths:
        path = Path(name)
        if name == "-" or path.is_dir():
            continue
        if not path.exists():
            raise BadInput(f"{path}: no such file or directory")
        with opened_regular_file(path):
            require_regular_file(path)
        if input_kind(path) is None and path.suffix:
            raise BadInput(f"{path}: {path.suffix} files are not supported; use {SUPPORTED_FORMATS}")


def _guarded(records: Iterator[InputRecord], file_failed: Warn | None) -> Iterator[InputRecord]:
    try:
        yield from records
    except BadFile as exc:
        if file_failed is None:
            raise
        file_failed(str(exc))


def _file_records(
    path: Path, warn: Warn, options: ReadOptions, ids: RunIds, name: str
) -> Iterator[InputRecord]:
    """The records of one file; `name` (the file's path relative to the input it was found
    in) makes the default ids of its rows, NAME:ROW."""
    with opened_regular_file(path):
        require_regular_file(path)
    kind = input_kind(path) or "txt"
    if kind in ("csv", "jsonl", "parquet"):
        readers = {"csv": csv_records, "jsonl": jsonl_records, "parquet": parquet_records}
        for row, number, unit, offset in readers[kind](path, warn, options):
            record = row_record(path, name, row, number, unit, warn, options, offset)
            if record is not None:
                ids.note(record.id, f"{path} {unit} {number}")
                yield record
        return
    if kind == "html":
        record = html_record(path, warn, options)
    else:
        record = text_record(str(path), read_bytes(path, options.max_bytes), options)
        record = replace(record, source=str(path), offset=path.stat().st_size)
    ids.note(record.id, str(path))
    yield record


def read_article(name: str, options: ReadOptions, warn: Warn) -> InputRecord:
    """One article as `iter_inputs` reads it (for `triage ingest`): `-` for standard input,
    a `.txt` (or `.txt.gz`) file, or an `.html`/`.htm` page's main text. A file of rows is
    refused: each of its rows is an article."""
    if name == "-":
        text = read_stdin(options.encoding, options.max_bytes)
        if not text.strip():
            raise BadInput("standard input: no text")
        return InputRecord("-", text)
    check_input_paths([name])
    path = Path(name)
    if path.is_dir():
        raise BadInput(f"{path}: is a directory; give one article")
    kind = input_kind(path) or "txt"
    if kind == "html":
        return html_record(path, warn, options)
    if kind != "txt":
        raise BadInput(
            f"{path}: a file of rows, each an article; `triage predict {path} --format table` "
            "shows each one's paragraphs"
        )
    record = text_record(str(path), read_bytes(path, options.max_bytes), options)
    return replace(record, source=str(path))


def text_record(name: str, data: bytes, options: ReadOptions) -> InputRecord:
    """One article from the bytes of a text file named `name` (read, uploaded or pasted):
    decoded by the file rules, refused when over --max-bytes, empty or whitespace only."""
    if len(data) > options.max_bytes:
        raise BadInput(f"{name}: {len(data):,} bytes is over --max-bytes {options.max_bytes:,}")
    text = decode_bytes(data, name, options.encoding)
    if not text.strip():
        raise BadInput(f"{name}: empty or whitespace only")
    return InputRecord(name, text, columns=no_columns(options))


def _directory_records(
    directory: Path, warn: Warn, options: ReadOptions, file_failed: Warn | None, ids: RunIds
) -> Iterator[InputRecord]:
    files, unsupported = directory_files(directory, options)
    if unsupported:
        shown = ", ".join(str(path) for path in unsupported[:10])
        more = f" and {len(unsupported) - 10} more" if len(unsupported) > 10 else ""
        warn(
            Skipped(
                f"skipped {counted(len(unsupported), 'file')} of unsupported types in {directory}: {shown}{more}",
                files=len(unsupported),
            )
        )
    if not files:
        raise BadInput(f"{directory}: no articles to read (looked for {', '.join(INPUT_KINDS)})")
    good = 0
    for path in files:
        try:
            name = path.relative_to(directory).as_posix()
            for record in _guarded(_file_records(path, warn, options, ids, name), file_failed):
                good += 1
                yield record
        except BadFile:
            raise
        except BadInput as exc:
            message = str(exc)
            text = f"skipped {message}" if message.startswith(str(path)) else f"skipped {path}: {message}"
            warn(Skipped(text, files=1))
    if not good:
        raise BadInput(f"{directory}: none of its {len(files)} files could be read")


def directory_files(directory: Path, options: ReadOptions) -> tuple[list[Path], list[Path]]:
    """(files to read, files skipped for their type) under `directory`, in sorted order;
    recursive unless `options.recurse` is off; the -o target, its journal and files that
    triage wrote are left out."""
    excluded = {path.resolve() for path in options.exclude}
    readable, unsupported = [], []
    for root, folders, names in os.walk(directory):
        folders[:] = sorted(
            folder
            for folder in folders
            if options.recurse and (Path(root) / folder).resolve() not in excluded
        )
        for name in sorted(names):
            path = Path(root) / name
            if path.resolve() in excluded:
                continue
            if input_kind(path) is None:
                unsupported.append(path)
            elif not written_by_triage(path):
                readable.append(path)
    return readable, unsupported


_FIRST_KEY = re.compile(rb'\s*\{\s*"' + OUTPUT_SCHEMA_KEY.encode() + rb'"\s*:')
_GENERATOR_META = re.compile(
    rb"""<meta\s+name=["']?generator["']?\s+content=["']""" + REPORT_GENERATOR.encode() + rb"""[\s"']""",
    re.IGNORECASE,
)
HEADER_LIMIT = 1 << 20  # bytes of a CSV header read to look for OUTPUT_SCHEMA_KEY


def written_by_triage(path: Path) -> bool:
    """True for an output file of `triage predict`: JSON lines whose first key is
    OUTPUT_SCHEMA_KEY (or, as older versions wrote them, that carry it in their first 4 KB),
    a CSV or Parquet file with that column, or an HTML report marked with its generator."""
    kind = input_kind(path)
    try:
        require_regular_file(path)  # never open a FIFO to peek at it
        if kind == "jsonl":
            with open_binary(path) as stream:
                head = stream.read(4096)
            return bool(_FIRST_KEY.match(head)) or OUTPUT_SCHEMA_KEY.encode() in head.split(b"\n", 1)[0]
        if kind == "csv":
            with open_binary(path) as stream:
                header = stream.readline(HEADER_LIMIT).decode("utf-8-sig", errors="replace")
            return OUTPUT_SCHEMA_KEY in next(csv.reader([header]), [])
        if kind == "html":
            with open_binary(path) as stream:
                return bool(_GENERATOR_META.search(stream.read(4096)))
        if kind == "parquet":
            import pyarrow.parquet as pq

            return OUTPUT_SCHEMA_KEY in pq.read_schema(path).names
    except Exception:  # unreadable here: reading it later names the problem
        return False
    return False


codecs.register_error(INVALID_TEXT_HANDLER, lambda error: ("\udcff", error.end))


# --- output formats ----------------------------------------------------------------------
# The top-level keys of the two JSON records, from their one definition (triage.records);
# with the CSV/Parquet columns (flat_columns) they are every name an output uses, so a kept
# input column may take none of them.
