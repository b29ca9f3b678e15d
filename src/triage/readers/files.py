"""Reading bytes and text safely: size limits, regular files only, encodings by BOM or by name (never a guess), the read options every format shares, output targets written atomically."""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import stat
import sys
import zlib
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from triage.atomic import atomic_write_bytes
from triage.errors import BadInput

DEFAULT_MAX_BYTES = 20_000_000
# Used when present; a column named with --id-column must exist.
DEFAULT_ID_COLUMN = "id"
BOMS = (
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
    for bom, codec in BOMS:
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
    with opened_regular_file(path):
        size = require_regular_file(path).st_size
        if size > max_bytes:
            raise BadInput(f"{path}: {size:,} bytes is over --max-bytes {max_bytes:,}")
        if not path.name.lower().endswith(".gz"):
            with open(path, "rb") as stream:
                return stream.read(max_bytes + 1)
        with reading_errors_named(path), gzip.open(path, "rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise BadInput(f"{path}: over --max-bytes {max_bytes:,} once unpacked")
        return data


@contextmanager
def opened_regular_file(path: Path):
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


def open_binary(path: Path):
    """The file's bytes, gunzipped for .gz."""
    with opened_regular_file(path):
        if path.name.lower().endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")


def disk_position(stream) -> int | None:
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
_INVALID_TEXT = re.compile("[\ud800-\udfff]")


def marked_invalid(text: str) -> bool:
    return not text.isascii() and _INVALID_TEXT.search(text) is not None  # isascii: the cheap common case


def text_stream(path: Path, encoding: str | None):
    """A text stream over a (possibly gzipped) file: the given encoding, a BOM's, or UTF-8;
    invalid bytes are marked (_INVALID_TEXT) for the reader to skip their row."""
    binary = open_binary(path)
    head = binary.peek(4)[:4] if hasattr(binary, "peek") else b""
    codec = encoding
    if codec is None:
        codec = next((name for bom, name in BOMS if head.startswith(bom)), "utf-8")
    else:
        try:
            codecs.lookup(codec)
        except LookupError:
            binary.close()
            raise BadInput(f"{path}: unknown encoding {codec!r}") from None
    return io.TextIOWrapper(binary, encoding=codec, errors=INVALID_TEXT_HANDLER, newline="")


@contextmanager
def reading_errors_named(path: Path, what: str = "line"):
    """Turn the errors of a stream that breaks part-way into BadFile naming the file."""
    try:
        yield
    except UnicodeDecodeError as exc:
        raise BadFile(f"{path}: not valid text in its encoding ({exc.reason}); pass --encoding") from None
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise BadFile(f"{path}: truncated or corrupt gzip data ({exc})") from None
    except OSError as exc:
        raise BadFile(f"{path}: cannot read ({exc.strerror or exc})") from None


def batch_extra_hint() -> str:
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


class BadFile(BadInput):
    """A file that cannot be read on; the files after it can."""
