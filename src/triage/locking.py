"""One writer at a time for a file triage rewrites: an `-o` target with its journal, an
analyst's labelled file.

Two runs writing one `-o` would delete each other's journal, and two `triage label`
sessions on one `--data` file would each rewrite it without the other's answers. The
writer holds an OS lock (filelock: `flock` on `.NAME.lock` beside the file) for as long as
it writes; a second writer is refused at once with one line naming the process that holds
it. The lock dies with its process, so a killed run never leaves a file locked.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from triage.errors import BadInput

LOCK_SUFFIX = ".lock"
HOLDER_CHARACTERS = 300  # of the holder's line shown in the refusal


def lock_path(path: Path | str) -> Path:
    """The lock file of `path`: `.NAME.lock` beside it, there only while a writer holds it."""
    path = Path(path)
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


@contextmanager
def exclusive(path: Path | str, option: str) -> Iterator[None]:
    """Hold the lock of `path` while the block runs, or raise BadInput naming the process
    that holds it (`option` names the file for the user: "-o", "--data")."""
    from filelock import FileLock, Timeout

    path = Path(path)
    if not path.parent.is_dir():
        raise BadInput(f"{option} {path}: directory {path.parent} does not exist")
    lock_file = lock_path(path)
    lock = FileLock(lock_file, timeout=0, on_acquired=_write_holder)
    try:
        lock.acquire()
    except Timeout:
        raise BadInput(
            f"{option} {path}: another triage process is writing it ({_holder(lock_file)}); "
            "wait for it to finish"
        ) from None
    except OSError as exc:
        raise BadInput(f"{option} {path}: cannot lock it ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        # Removed while still held: a process that opened the old file and locks it after
        # the release finds it unlinked and counts the lock as taken (filelock checks).
        lock_file.unlink(missing_ok=True)
        lock.release()


def _write_holder(descriptor: int) -> None:
    """Say in the lock file who holds it: the pid and the command line."""
    command = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]) if sys.argv else "python"
    line = f"pid {os.getpid()}: {command}\n".encode("utf-8", errors="replace")
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, line, 0)


def _holder(lock_file: Path) -> str:
    try:
        text = lock_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    line = re.sub(r"\s+", " ", text).strip()[:HOLDER_CHARACTERS]
    return line or "its pid is not recorded yet"
