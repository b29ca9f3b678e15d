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
import gzip
import io
import json
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from triage.atomic import atomic_write_bytes
from triage.errors import BadInput
from triage.records import (
    OUTPUT_SCHEMA_KEY,
    REPORT_GENERATOR,
    InputRecord,
)
from triage.wording import counted

DEFAULT_MAX_BYTES = 20_000_000
# Used when present; a column named with --id-column must exist.
DEFAULT_ID_COLUMN = "id"
# Ids remembered per run for the duplicate-id warning; past this many the warning is
# best-effort, so that memory stays bounded on a feed of millions of rows.
DUPLICATE_ID_LIMIT = 100_000
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


Warn = Callable[[str], None]


class Skipped(str):
    """A warning that input was passed over: its text, and how many rows or files it skipped
    (one warning may name several files), so a run's summary counts what the warnings say."""

    rows: int
    files: int

    def __new__(cls, text: str, *, rows: int = 0, files: int = 0):
        message = super().__new__(cls, text)
        message.rows, message.files = rows, files
        return message


def decode_bytes(data: bytes, name: str, encoding: str | None = None) -> str:
    """Text of `data`: the given encoding, else a BOM's, else strict UTF-8; BadInput if not."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise BadInput(f"{name}: unknown encoding {encoding!r}") from None
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise BadInput(f"{name}: not valid {encoding} (byte {exc.start})") from None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data.decode(codec)
            except UnicodeDecodeError as exc:
                raise BadInput(
                    f"{name}: its {codec} byte-order mark is followed by invalid data (byte {exc.start})"
                ) from None
            return text.lstrip("\ufeff")
    if b"\x00" in data[:8192]:
        raise BadInput(f"{name}: looks like a binary file, not text")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{name}: not UTF-8 (invalid byte at {exc.start}); pass --encoding, e.g. --encoding gbk"
        ) from None


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes, gunzipped for `.gz` (the limit is on what it unpacks to)."""
    with _opening(path):
        size = require_regular_file(path).st_size
        if size > max_bytes:
            raise BadInput(f"{path}: {size:,} bytes is over --max-bytes {max_bytes:,}")
        if not path.name.lower().endswith(".gz"):
            with open(path, "rb") as stream:
                return stream.read(max_bytes + 1)
        with _reading(path), gzip.open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise BadInput(f"{path}: over --max-bytes {max_bytes:,} once unpacked")
        return data


@contextmanager
def _opening(path: Path):
    """The errors of opening a file, as one-line BadInput naming it."""
    try:
        yield
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None


_NOT_REGULAR = (
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def require_regular_file(path: Path) -> os.stat_result:
    """The file's stat; BadInput for a FIFO, device or socket, before anything opens it
    (opening a FIFO waits for a writer for ever)."""
    status = path.stat()
    if not stat.S_ISREG(status.st_mode) and not stat.S_ISDIR(status.st_mode):
        kind = next((name for test, name in _NOT_REGULAR if test(status.st_mode)), "not a regular file")
        raise BadInput(f"{path}: is {kind}, not a file; give files, directories, or - for standard input")
    return status


def read_text(path: Path, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    return decode_bytes(read_bytes(path, max_bytes), str(path), encoding)


def read_stdin(encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode())
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"standard input: over --max-bytes {max_bytes:,}")
    return decode_bytes(data, "standard input", encoding)


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
EXTRACTED_TEXT = "extracted main text"  # what an HTML page's line spans count lines of


@dataclass(frozen=True)
class ReadOptions:
    """How inputs are read: the CLI's reading options, in one place."""

    encoding: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    text_column: str = "text"
    id_column: str | None = None
    title_column: str | None = None
    keep_columns: tuple[str, ...] = ()
    recurse: bool = True
    exclude: tuple[Path, ...] = ()  # the -o target and its journal: never read back in


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
        with _opening(path):
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


class BadFile(BadInput):
    """A file that cannot be read on; the files after it can."""


def _file_records(
    path: Path, warn: Warn, options: ReadOptions, ids: RunIds, name: str
) -> Iterator[InputRecord]:
    """The records of one file; `name` (the file's path relative to the input it was found
    in) makes the default ids of its rows, NAME:ROW."""
    with _opening(path):
        require_regular_file(path)
    kind = input_kind(path) or "txt"
    if kind in ("csv", "jsonl", "parquet"):
        readers = {"csv": _csv_records, "jsonl": _jsonl_records, "parquet": _parquet_records}
        for row, number, unit, offset in readers[kind](path, warn, options):
            record = _row_record(path, name, row, number, unit, warn, options, offset)
            if record is not None:
                ids.note(record.id, f"{path} {unit} {number}")
                yield record
        return
    if kind == "html":
        record = _html_record(path, warn, options)
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
        return _html_record(path, warn, options)
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
    return InputRecord(name, text, columns=_no_columns(options))


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
            with _open_binary(path) as stream:
                head = stream.read(4096)
            return bool(_FIRST_KEY.match(head)) or OUTPUT_SCHEMA_KEY.encode() in head.split(b"\n", 1)[0]
        if kind == "csv":
            with _open_binary(path) as stream:
                header = stream.readline(HEADER_LIMIT).decode("utf-8-sig", errors="replace")
            return OUTPUT_SCHEMA_KEY in next(csv.reader([header]), [])
        if kind == "html":
            with _open_binary(path) as stream:
                return bool(_GENERATOR_META.search(stream.read(4096)))
        if kind == "parquet":
            import pyarrow.parquet as pq

            return OUTPUT_SCHEMA_KEY in pq.read_schema(path).names
    except Exception:  # unreadable here: reading it later names the problem
        return False
    return False


def _open_binary(path: Path):
    """The file's bytes, gunzipped for .gz."""
    with _opening(path):
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")


def _disk_position(stream) -> int | None:
    """How many bytes of the file on disk a text stream has read (for progress)."""
    binary = stream.buffer
    raw_file = binary.fileobj if isinstance(binary, gzip.GzipFile) else binary
    try:
        return raw_file.tell()
    except (OSError, ValueError, AttributeError):
        return None


# Feeds are decoded with this error handler: an invalid sequence becomes a lone surrogate,
# which no validly decoded text holds, and decoding goes on after it, so the row or line
# that carries it is skipped and the rest of the file read. Decoders never take a quote,
# comma or newline into an invalid sequence (tests/test_robustness.py), so a CSV's rows stay
# where they were.
INVALID_TEXT_HANDLER = "triage.mark_invalid"
codecs.register_error(INVALID_TEXT_HANDLER, lambda error: ("\udcff", error.end))
_INVALID_TEXT = re.compile("[\ud800-\udfff]")


def _marked_invalid(text: str) -> bool:
    return not text.isascii() and _INVALID_TEXT.search(text) is not None  # isascii: the cheap common case


def _text_stream(path: Path, encoding: str | None):
    """A text stream over a (possibly gzipped) file: the given encoding, a BOM's, or UTF-8;
    invalid bytes are marked (_INVALID_TEXT) for the reader to skip their row."""
    binary = _open_binary(path)
    head = binary.peek(4)[:4] if hasattr(binary, "peek") else b""
    codec = encoding
    if codec is None:
        codec = next((name for bom, name in _BOMS if head.startswith(bom)), "utf-8")
    else:
        try:
            codecs.lookup(codec)
        except LookupError:
            binary.close()
            raise BadInput(f"{path}: unknown encoding {codec!r}") from None
    return io.TextIOWrapper(binary, encoding=codec, errors=INVALID_TEXT_HANDLER, newline="")


@contextmanager
def _reading(path: Path, what: str = "line"):
    """Turn the errors of a stream that breaks part-way into BadFile naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise BadFile(f"{path}: not valid text in its encoding ({exc.reason}); pass --encoding") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BadFile(f"{path}: truncated or corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise BadFile(f"{path}: cannot read ({exc.strerror or exc})") from None


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


def _csv_records(path: Path, warn: Warn, options: ReadOptions) -> Iterator[tuple[dict, int, str, int | None]]:
    """(row, row number, "row", bytes read) for each row of a CSV file."""
    with _reading(path), _text_stream(path, options.encoding) as stream:
        reader = csv.reader(stream)
        try:
            fields = next(reader, None) or []
        except csv.Error as exc:
            raise BadInput(f"{path}: not a readable CSV ({exc})") from None
        fields = [field.lstrip("\ufeff") for field in fields]
        if any(map(_marked_invalid, fields)):
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
            if any(map(_marked_invalid, values)):
                warn(_undecodable(path, "row", number, stream.encoding))
                continue
            yield dict(zip(fields, values, strict=False)), number, "row", _disk_position(stream)
    if not number:
        raise BadInput(f"{path}: no rows, only a header")


def _jsonl_records(
    path: Path, warn: Warn, options: ReadOptions
) -> Iterator[tuple[dict, int, str, int | None]]:
    """(object, line number, "line", bytes read) for each JSON object of a JSON-lines file."""
    checked = False
    with _reading(path), _text_stream(path, options.encoding) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            if _marked_invalid(line):
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
            yield row, number, "line", _disk_position(stream)
    if not checked:
        raise BadInput(f"{path}: no JSON lines")


def _undecodable(path: Path, unit: str, number: int, encoding: str) -> Skipped:
    return Skipped(
        f"skipped {path} {unit} {number}: not valid {encoding} (pass --encoding if the file is in another)",
        rows=1,
    )


def _parquet_records(path: Path, warn: Warn, options: ReadOptions) -> Iterator[tuple[dict, int, str, int]]:
    """(row, row number, "row", estimated bytes read) for each row of a Parquet file."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise BadInput(f"{path}: reading Parquet needs pyarrow: {_batch_extra()}") from None
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


def _row_record(path, name, row, number, unit, warn, options: ReadOptions, offset=None) -> InputRecord | None:
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


def _no_columns(options: ReadOptions) -> dict:
    return {column: None for column in options.keep_columns}


# --- HTML pages --------------------------------------------------------------------------------
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares in a <meta> tag near its start (HTTP-style or HTML5)."""
    match = _META_CHARSET.search(data[:8192])
    return match.group(1).decode("ascii").lower() if match else None


def _html_record(path: Path, warn: Warn, options: ReadOptions) -> InputRecord:
    data = read_bytes(path, options.max_bytes)
    encoding = options.encoding
    if encoding is None and not any(data.startswith(bom) for bom, _ in _BOMS):
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
        _no_columns(options),
        str(path),
        lines_refer_to=EXTRACTED_TEXT,
        offset=len(data),
    )


def extract_main_text(page: str, path: Path) -> tuple[str | None, str]:
    """(title, main text) of an HTML page by trafilatura, one paragraph a line, for ingestion."""
    try:
        import trafilatura
    except ImportError:
        raise BadInput(f"{path}: reading HTML needs trafilatura: {_batch_extra()}") from None
    # one pass for the text and the title (extract + extract_metadata parsed the page twice)
    document = trafilatura.bare_extraction(
        page, include_comments=False, include_tables=False, favor_precision=True, with_metadata=True
    )
    if document is None:
        return None, ""
    return document.title or None, document.text or ""


def _batch_extra() -> str:
    from triage.paths import extra_install_command

    return f"install the batch extra with {extra_install_command('batch')}"


def check_output_target(path: Path | str, force: bool = False) -> None:
    """Refuse an -o target before any work: a directory, an existing file without `force`,
    or a missing parent directory."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"-o {path}: is a directory")
    if path.exists() and not force:
        raise BadInput(f"-o {path}: already exists (use --force to replace it)")
    if not path.parent.exists():
        raise BadInput(f"-o {path}: directory {path.parent} does not exist")


def write_output(path: Path | str, data: str, force: bool = False) -> None:
    """Write `data` to `path` atomically; an existing file only with `force`."""
    path = Path(path)
    check_output_target(path, force)
    try:
        atomic_write_bytes(path, data.encode("utf-8"))
    except PermissionError:
        raise BadInput(f"-o {path}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"-o {path}: cannot write ({exc.strerror or exc}); nothing was changed") from None


# --- output formats ----------------------------------------------------------------------
# The top-level keys of the two JSON records, from their one definition (triage.records);
# with the CSV/Parquet columns (flat_columns) they are every name an output uses, so a kept
# input column may take none of them.
