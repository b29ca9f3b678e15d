"""Write a file so that readers see the old bytes or the new ones, never a half-written file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from triage.errors import BadInput


def atomic_write_bytes(path: Path | str, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename it over `path`.

    On any failure (a full disk, a permission error, an interrupt) the temporary file is
    removed and `path` is left exactly as it was.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    fsync_directory(path.parent)


def atomic_write_text(path: Path | str, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def fsync_file(path: Path | str) -> None:
    """Flush a file another library wrote and closed (pyarrow's Parquet) to disk."""
    with open(path, "rb") as stream:
        os.fsync(stream.fileno())


def fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a no-op where directories cannot be opened)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


@contextmanager
def missing_folders_made(folder: Path | str, name: str) -> Iterator[None]:
    """Create `folder` and any missing parents for the block (an `-o` into a new folder);
    `name` names the target in a refusal ("-o out/tags.jsonl").

    When the block fails, the folders made here are removed again if they are still empty
    (deepest first, by rmdir, which removes nothing else), so a refused run leaves no
    trace; a folder that holds something by then (an interrupted run's journal) stays.
    """
    folder = Path(folder)
    missing = [path for path in (folder, *folder.parents) if not path.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"{name}: cannot create the folder {folder} ({exc.strerror or exc})") from None
    try:
        yield
    except BaseException:
        for path in missing:  # deepest first
            try:
                path.rmdir()
            except OSError:
                break
        raise
