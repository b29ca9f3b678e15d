"""The progress line on a terminal: rows, rows/s and an ETA by bytes read."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from triage.readers.files import ReadOptions
from triage.records import (
    InputRecord,
)


# --- progress -------------------------------------------------------------------------------------
class Progress:
    """Rows, rows/s and an ETA on stderr (rich.progress, which typer brings), redrawn at most
    twice a second and erased at the end; silent when off. The caller turns it on only when
    the stream is a terminal."""

    def __init__(self, enabled: bool, total_bytes: int | None, stream=sys.stderr):
        self.enabled, self.total_bytes = enabled, total_bytes
        self.started = self.last = time.monotonic()
        self.done_bytes = 0  # bytes of the source files finished
        self.current_source: str | None = None
        self.current_size = 0
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import TaskProgressColumn, TextColumn, TimeRemainingColumn

            columns = [TextColumn("{task.fields[rows]:,} rows  {task.fields[rate]:,.0f} rows/s")]
            if total_bytes:
                columns += [TaskProgressColumn(), TextColumn("ETA"), TimeRemainingColumn()]
            console = Console(file=stream, force_terminal=True, highlight=False)
            # stdout stays ours (records go there, maybe to a pipe); rich would redirect it by default
            self.bar = RichProgress(
                *columns,
                console=console,
                transient=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self.task = self.bar.add_task("", total=total_bytes, rows=0, rate=0.0)
            self.bar.start()

    def update(self, rows: int, last_record: InputRecord | None) -> None:
        if self.bar is None:
            return
        position = None
        if last_record is not None and last_record.source:
            if last_record.source != self.current_source:
                self.done_bytes += self.current_size
                self.current_source = last_record.source
                try:
                    self.current_size = Path(last_record.source).stat().st_size
                except OSError:
                    self.current_size = 0
            position = self.done_bytes + (last_record.offset or 0)
        now = time.monotonic()
        if now - self.last < 0.5:
            return
        self.last = now
        rate = rows / max(now - self.started, 1e-9)
        completed = min(position, self.total_bytes) if position and self.total_bytes else 0
        self.bar.update(self.task, completed=completed, rows=rows, rate=rate)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def total_input_bytes(paths: list[str], read_options: ReadOptions) -> int | None:
    from triage.readers.inputs import directory_files

    total = 0
    for name in paths:
        if name == "-":
            return None
        path = Path(name)
        files = directory_files(path, read_options)[0] if path.is_dir() else [path]
        total += sum(file.stat().st_size for file in files)
    return total
