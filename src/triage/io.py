"""Reading the inputs analysts feed `triage predict` and writing its outputs safely.

Inputs: a `.txt` article, a directory of them, `-` for standard input, or a `.csv` /
`.jsonl` file with one article (or paragraph) per row. Text is UTF-8 (a BOM is dropped),
UTF-16/32 only when a BOM says so, anything else only with an explicit `encoding`: we never
guess Latin-1, which turns any bytes into plausible-looking garbage.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from triage.atomic import atomic_write_bytes
from triage.errors import BadInput
from triage.table import to_table  # noqa: F401  (the table moved to its own module; io keeps the name)

DEFAULT_MAX_BYTES = 20_000_000
# Used when present; a column named with --id-column must exist.
DEFAULT_ID_COLUMN = "id"
SUPPORTED_FORMATS = ".txt, a directory of .txt, .csv, .jsonl, or - for standard input"
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


@dataclass(frozen=True)
class InputRecord:
    """One article (or paragraph) to triage and where it came from, for messages."""

    id: str
    text: str
    title: str | None = None


Warn = Callable[[str], None]


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
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise BadInput(f"{path}: {size:,} bytes is over --max-bytes {max_bytes:,}")
        with open(path, "rb") as stream:
            return stream.read(max_bytes + 1)
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a directory") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_text(path: Path, encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    return decode_bytes(read_bytes(path, max_bytes), str(path), encoding)


def read_stdin(encoding: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    stream = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else io.BytesIO(sys.stdin.read().encode())
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"standard input: over --max-bytes {max_bytes:,}")
    return decode_bytes(data, "standard input", encoding)


def iter_inputs(
    paths: list[str],
    *,
    warn: Warn,
    encoding: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    text_column: str = "text",
    id_column: str | None = None,
) -> Iterator[InputRecord]:
    """Every record of every path, in order; bad rows or files among many are warned about."""
    if not paths:
        raise BadInput("no input: give a file, a directory, or - for standard input")
    for name in paths:
        if name == "-":
            text = read_stdin(encoding, max_bytes)
            if not text.strip():
                raise BadInput("standard input: no text")
            yield InputRecord("-", text)
            continue
        path = Path(name)
        if path.is_dir():
            yield from _directory_records(path, warn, encoding, max_bytes)
        elif not path.exists():
            raise BadInput(f"{path}: no such file or directory")
        elif path.suffix.lower() == ".csv":
            yield from _csv_records(path, warn, encoding, max_bytes, text_column, id_column)
        elif path.suffix.lower() == ".jsonl":
            yield from _jsonl_records(path, warn, encoding, max_bytes, text_column, id_column)
        elif path.suffix.lower() in (".txt", ""):
            text = read_text(path, encoding, max_bytes)
            if not text.strip():
                raise BadInput(f"{path}: empty or whitespace only")
            yield InputRecord(str(path), text)
        else:
            raise BadInput(f"{path}: {path.suffix} files are not supported; use {SUPPORTED_FORMATS}")


def _directory_records(directory: Path, warn: Warn, encoding, max_bytes) -> Iterator[InputRecord]:
    files = sorted(path for path in directory.iterdir() if path.is_file() and path.suffix.lower() == ".txt")
    if not files:
        raise BadInput(f"{directory}: no .txt articles in this directory")
    good = 0
    for path in files:
        try:
            text = read_text(path, encoding, max_bytes)
        except BadInput as exc:
            warn(f"skipped {exc}")
            continue
        if not text.strip():
            warn(f"skipped {path}: empty or whitespace only")
            continue
        good += 1
        yield InputRecord(str(path), text)
    if not good:
        raise BadInput(f"{directory}: none of its {len(files)} .txt files could be read")


def _csv_records(
    path: Path, warn: Warn, encoding, max_bytes, text_column, id_column
) -> Iterator[InputRecord]:
    text = read_text(path, encoding, max_bytes)
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        fields = reader.fieldnames or []
        rows = list(reader)
    except csv.Error as exc:
        raise BadInput(f"{path}: not a readable CSV ({exc})") from None
    if text_column not in fields:
        raise BadInput(
            f"{path}: no {text_column!r} column (columns: {', '.join(fields) or 'none'}); use --text-column"
        )
    if id_column is not None and id_column not in fields:
        raise BadInput(
            f"{path}: no {id_column!r} column (columns: {', '.join(fields) or 'none'}); use --id-column"
        )
    yield from _rows_to_records(path, rows, warn, text_column, id_column, first_row=1)


def _jsonl_records(
    path: Path, warn: Warn, encoding, max_bytes, text_column, id_column
) -> Iterator[InputRecord]:
    text = read_text(path, encoding, max_bytes)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            warn(f"skipped {path} line {number}: not valid JSON")
            continue
        if not isinstance(row, dict):
            warn(f"skipped {path} line {number}: not a JSON object")
            continue
        rows.append((number, row))
    if rows and all(text_column not in row for _, row in rows):
        raise BadInput(f"{path}: no {text_column!r} field in any line; use --text-column")
    if not rows:
        raise BadInput(f"{path}: no JSON lines")
    if id_column is not None and all(id_column not in row for _, row in rows):
        raise BadInput(f"{path}: no {id_column!r} field in any line; use --id-column")
    for number, row in rows:
        yield from _rows_to_records(path, [row], warn, text_column, id_column, first_row=number, unit="line")


def _rows_to_records(
    path, rows, warn, text_column, id_column, first_row, unit="row"
) -> Iterator[InputRecord]:
    seen: set[str] = set()
    for offset, row in enumerate(rows):
        number = first_row + offset
        text = row.get(text_column)
        record_id = str(row.get(id_column or DEFAULT_ID_COLUMN) or f"{path.name}:{number}")
        if not isinstance(text, str) or not text.strip():
            warn(f"skipped {path} {unit} {number} (id {record_id}): empty or missing {text_column!r}")
            continue
        if record_id in seen:
            warn(f"{path} {unit} {number}: duplicate id {record_id!r} (kept; outputs repeat it)")
        seen.add(record_id)
        title = row.get("title") if isinstance(row.get("title"), str) and row.get("title").strip() else None
        yield InputRecord(record_id, text, title)


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
OUTPUT_FORMATS = ("table", "jsonl", "csv", "html")


def article_record(record: InputRecord, prediction, model_sha: str, version: str) -> dict:
    """The JSON object `triage predict --unit article` writes for one article."""
    return {
        "id": record.id,
        "title": prediction.title,
        "tags": prediction.tags,
        "context": prediction.context,
        "dropped_lines": len(prediction.dropped),
        "mostly_foreign": prediction.mostly_foreign,
        "paragraphs": [paragraph.to_dict() for paragraph in prediction.paragraphs],
        "model": model_sha,
        "triage_version": version,
    }


def paragraph_record(record: InputRecord, prediction, model_sha: str, version: str) -> dict:
    """The JSON object `triage predict --unit paragraph` writes for one paragraph."""
    data = {
        "id": record.id,
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


def to_csv(objects: list[dict], labels: list[str]) -> str:
    """One row per paragraph, with its article's id (for --unit paragraph: one row per input)."""
    buffer = io.StringIO()
    columns = [
        "id",
        "paragraph",
        "first_line",
        "last_line",
        "label",
        "needs_review",
        *[f"p_{label}" for label in labels],
        "tags",
        "text",
        "model",
        "triage_version",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for obj in objects:
        paragraphs = obj.get("paragraphs")
        if paragraphs is None:  # a paragraph record
            paragraphs = [{"index": 0, "text": "", **obj}]
        tags = ";".join(tag["label"] for tag in obj.get("tags", []))
        for paragraph in paragraphs:
            lines = paragraph.get("lines") or [None, None]
            writer.writerow(
                {
                    "id": obj["id"],
                    "paragraph": paragraph.get("index", 0),
                    "first_line": lines[0],
                    "last_line": lines[1],
                    "label": paragraph["label"],
                    "needs_review": paragraph["needs_review"],
                    **{f"p_{label}": paragraph["probabilities"][label] for label in labels},
                    "tags": tags,
                    "text": paragraph.get("text", ""),
                    "model": obj["model"],
                    "triage_version": obj["triage_version"],
                }
            )
    return buffer.getvalue()
