"""The journal of a run with -o: finished chunks as parts, the run's summary, --resume from the last part, the target assembled atomically at the end."""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    fsync_directory,
    fsync_file,
)
from triage.batch.scoring import CHUNK_RECORDS
from triage.batch.writers import open_writer
from triage.errors import BadInput
from triage.readers.files import ReadOptions
from triage.records import (
    OUTPUT_SCHEMA,
)
from triage.wording import counted

JOURNAL_SUFFIX = ".partial"


@dataclass
class BatchSummary:
    """Counts of a run, for its closing line (kept in the journal across --resume)."""

    records: int = 0
    skipped: int = 0  # rows
    near_duplicates: int = 0
    tags: Counter = field(default_factory=Counter)
    failed_files: list[str] = field(default_factory=list)
    seconds: float = 0.0  # this process's share of the run
    skipped_files: int = 0

    def line(self, unit: str) -> str:
        seconds = self.seconds
        noun = counted(self.records, "article" if unit == "article" else "paragraph")
        tags = ", ".join(f"{label} {count}" for label, count in self.tags.most_common()) or "none"
        skipped = [counted(self.skipped, "row")] if self.skipped or not self.skipped_files else []
        if self.skipped_files:
            skipped.append(counted(self.skipped_files, "file"))
        duplicates = (
            f", {counted(self.near_duplicates, 'near-duplicate')} counted once"
            if self.near_duplicates
            else ""
        )
        failed = f", {counted(len(self.failed_files), 'file')} failed" if self.failed_files else ""
        what = "tags" if unit == "article" else "labels"
        return (
            f"triaged {noun} in {seconds:.1f}s ({self.records / max(seconds, 1e-9):,.0f}/s)"
            f"; skipped {' and '.join(skipped)}{failed}{duplicates}; {what}: {tags}"
        )

    def to_dict(self) -> dict:
        return {
            "records": self.records,
            "skipped": self.skipped,
            "skipped_files": self.skipped_files,
            "near_duplicates": self.near_duplicates,
            "tags": dict(self.tags),
            "failed_files": self.failed_files,
        }

    @classmethod
    def from_dict(cls, values: dict) -> BatchSummary:
        return cls(
            values["records"],
            values["skipped"],
            values["near_duplicates"],
            Counter(values["tags"]),
            list(values["failed_files"]),
            skipped_files=values.get("skipped_files", 0),  # journals written before it was counted
        )


# --- the journal ---------------------------------------------------------------------------------
def journal_directory(target: Path) -> Path:
    """Where the finished chunks of a run writing `target` wait: `OUT.partial/` beside it."""
    return target.with_name(target.name + JOURNAL_SUFFIX)


class Journal:
    """`OUT.partial/`: numbered JSONL parts of finished chunks and `manifest.json`, written
    after each part (atomically: the commit point). A part the manifest does not list is
    rewritten on resume."""

    def __init__(self, target: Path):
        self.target = target
        self.directory = journal_directory(target)
        self.manifest_path = self.directory / "manifest.json"
        self.manifest: dict = {}

    def exists(self) -> bool:
        return self.manifest_path.exists()

    def start(self, fingerprint: dict) -> None:
        try:
            if self.directory.exists():
                shutil.rmtree(self.directory)
            self.directory.mkdir()
            self.manifest = {
                "triage_schema": OUTPUT_SCHEMA,
                "fingerprint": fingerprint,
                "inputs_done": 0,
                "parts": [],
            }
            self._commit()
        except OSError as exc:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise BadInput(f"{self.directory}: cannot write the journal ({exc.strerror or exc})") from None

    def reopen(self, fingerprint: dict) -> None:
        try:
            self.manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise BadInput(
                f"{self.manifest_path}: unreadable journal ({exc}); start over with --force"
            ) from None
        if self.manifest.get("triage_schema") != OUTPUT_SCHEMA:
            raise BadInput(
                f"{self.directory}: the interrupted run wrote records of triage_schema "
                f"{self.manifest.get('triage_schema')}, this triage writes {OUTPUT_SCHEMA}; "
                "start over with --force"
            )
        if self.manifest.get("fingerprint") != fingerprint:
            changed = sorted(
                key
                for key in set(fingerprint) | set(self.manifest.get("fingerprint", {}))
                if fingerprint.get(key) != self.manifest.get("fingerprint", {}).get(key)
            )
            raise BadInput(
                f"{self.directory}: the interrupted run had other {', '.join(changed)}; "
                "rerun it as it was, or start over with --force"
            )
        for part in self.manifest["parts"]:
            if not (self.directory / part["name"]).is_file():
                raise BadInput(f"{self.directory}: part {part['name']} is missing; start over with --force")

    @property
    def inputs_done(self) -> int:
        return int(self.manifest["inputs_done"])

    def add(self, lines: list[bytes], inputs_done: int, summary: BatchSummary) -> None:
        """A finished chunk's records, as JSON lines, then the manifest that counts them."""
        name = f"part-{len(self.manifest['parts']) + 1:06d}.jsonl"
        data = b"".join(lines)
        try:
            atomic_write_bytes(self.directory / name, data)
            manifest = {
                **self.manifest,
                "parts": [*self.manifest["parts"], {"name": name, "records": len(lines)}],
                "inputs_done": inputs_done,
                "summary": summary.to_dict(),
            }
            atomic_write_text(self.manifest_path, json.dumps(manifest, indent=1) + "\n")
        except OSError as exc:
            raise BadInput(
                f"{self.directory}: cannot write the journal ({exc.strerror or exc}); the work finished "
                "before this chunk is kept (run again with --resume)"
            ) from None
        self.manifest = manifest

    def records(self) -> Iterator[dict]:
        for part in self.manifest["parts"]:
            with open(self.directory / part["name"], encoding="utf-8") as stream:
                for line in stream:
                    yield json.loads(line)

    def _commit(self) -> None:
        atomic_write_text(self.manifest_path, json.dumps(self.manifest, indent=1) + "\n")

    def assemble(
        self,
        output_format: str,
        labels: list[str],
        keep_columns,
        explain: bool,
        card: dict | None = None,
        writers: Mapping[str, Callable] | None = None,
    ) -> None:
        """Write the target from the parts: a temporary file, fsynced, renamed into place."""
        temporary = self.target.with_name(f".{self.target.name}.{os.getpid()}.tmp")
        try:
            if output_format == "parquet":
                writer = open_writer("parquet", temporary, labels=labels, keep_columns=keep_columns)
                self._pour(writer)
                fsync_file(temporary)
            elif output_format == "jsonl":  # the parts are already JSON lines: copy their bytes
                with open(temporary, "wb") as stream:
                    for part in self.manifest["parts"]:
                        with open(self.directory / part["name"], "rb") as source:
                            shutil.copyfileobj(source, stream, 1 << 20)
                    stream.flush()
                    os.fsync(stream.fileno())
            else:
                with open(temporary, "w", encoding="utf-8", newline="") as stream:
                    writer = open_writer(
                        output_format,
                        stream,
                        labels=labels,
                        keep_columns=keep_columns,
                        explain=explain,
                        card=card,
                        writers=writers,
                    )
                    self._pour(writer)
                    stream.flush()
                    os.fsync(stream.fileno())
            _replace(temporary, self.target)
        except BaseException as exc:  # a full disk, or Ctrl-C: no temporary file is left behind
            temporary.unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            raise BadInput(
                f"-o {self.target}: cannot write ({exc.strerror or exc}); nothing there was changed, "
                f"and the finished work is kept in {self.directory} (run again with --resume)"
            ) from None
        fsync_directory(self.target.parent)
        shutil.rmtree(self.directory, ignore_errors=True)

    def _pour(self, writer) -> None:
        if hasattr(writer, "overview"):  # the parts can be read twice: the overview comes first
            writer.overview(self.records())
        batch: list[dict] = []
        for record in self.records():
            batch.append(record)
            if len(batch) >= CHUNK_RECORDS:
                writer.write(batch)
                batch = []
        writer.write(batch)
        writer.finish()


def _replace(source: Path, target: Path) -> None:
    """The commit of the output file (a function of its own so tests can make it fail)."""
    os.replace(source, target)


def input_fingerprint(paths: list[str], read_options: ReadOptions) -> str:
    """A digest of every input file's path, size and modification time: resume refuses
    inputs that changed."""
    import hashlib

    from triage.readers.inputs import directory_files

    digest = hashlib.sha256()
    for name in paths:
        path = Path(name)
        files = directory_files(path, read_options)[0] if path.is_dir() else [path]
        for file in files:
            stat = file.stat()
            digest.update(f"{file.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()
