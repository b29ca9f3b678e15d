"""Streaming records through the model in chunks: the engine behind `triage predict`.

Records are read lazily, scored a chunk at a time (in this process, or in `jobs` worker
processes that keep input order), and written as they come. With an output file, each
finished chunk first goes to a journal beside it, `OUT.partial/` (numbered JSONL parts
and a manifest that is the commit point); the target appears only when the run completes,
assembled from the parts, and `resume=True` continues an interrupted run from the journal:
every input row exactly once, nothing lost or written twice.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage.atomic import (
    missing_folders_made,
)
from triage.batch.journal import BatchSummary, Journal, input_fingerprint
from triage.batch.near_duplicates import NearDuplicates, article_text
from triage.batch.progress import Progress, total_input_bytes
from triage.batch.scoring import ScoredChunk, ScoreOptions, chunked, scored_chunks, start_workers
from triage.batch.writers import open_writer
from triage.errors import BadInput, Interrupted
from triage.locking import exclusive
from triage.readers.files import ReadOptions, check_output_target
from triage.readers.inputs import iter_inputs, named_inputs
from triage.records import (
    InputRecord,
    check_keep_columns,
)


# --- the run -------------------------------------------------------------------------------------
class ReadTally:
    """Rows and files skipped and files failed while reading, held with the chunk they were read into
    until that chunk is committed. With --jobs, chunks are read ahead of the ones written;
    a kill loses those, and --resume reads them (and warns about them) again, so only a
    committed chunk's counts may enter the journal's summary."""

    def __init__(self, replaying: bool = False):
        self.skipped = self.skipped_files = 0
        self.failed_files: list[str] = []
        # True while a resumed run passes over its finished part: what that part's reading
        # warned about was said (and counted) in the run it resumes
        self.replaying = replaying
        self._per_chunk: deque[tuple[int, int, list[str]]] = deque()

    def passing_on(self, tell: Callable[[str], None], count: Callable[[str], None]) -> Callable[[str], None]:
        """`tell` for the reader's messages, each counted by `count` first; silent while
        replaying (what a resumed run's finished part warned about was said in its own run)."""

        def passed_on(message: str) -> None:
            if not self.replaying:
                count(message)
                tell(message)

        return passed_on

    def note(self, message: str) -> None:
        """Count what a warning says it skipped (io.Skipped: rows or files)."""
        self.skipped += getattr(message, "rows", 0)
        self.skipped_files += getattr(message, "files", 0)

    def cut(self, chunks: Iterable[list[InputRecord]]) -> Iterator[list[InputRecord]]:
        """Pass `chunks` on, each with what was read up to its last record."""
        for chunk in chunks:
            self._per_chunk.append((self.skipped, self.skipped_files, self.failed_files))
            self.skipped, self.skipped_files, self.failed_files = 0, 0, []
            yield chunk

    def count_next_chunk(self, summary: BatchSummary) -> None:
        """The oldest uncommitted chunk is being committed: its counts join `summary`."""
        skipped, skipped_files, failed_files = self._per_chunk.popleft()
        summary.skipped += skipped
        summary.skipped_files += skipped_files
        summary.failed_files.extend(failed_files)

    def count_the_rest(self, summary: BatchSummary) -> None:
        """What was read after the last chunk (rows skipped at the end of the input)."""
        summary.skipped += self.skipped
        summary.skipped_files += self.skipped_files
        summary.failed_files.extend(self.failed_files)
        self.skipped, self.skipped_files, self.failed_files = 0, 0, []


@dataclass
class BatchRequest:
    """One `triage predict` run: what to read, how to score it, where it goes."""

    paths: list[str]
    read_options: ReadOptions
    score_options: ScoreOptions
    output_format: str
    output: Path | None = None
    model_path: Path | None = None
    force: bool = False
    resume: bool = False
    jobs: int = 1
    show_progress: bool = False
    # writers of formats beyond the data ones, by name (the CLI passes web/'s html and table)
    writers: Mapping[str, Callable] = field(default_factory=dict)


def run_batch(
    request: BatchRequest,
    *,
    warn: Callable[[str], None],
    file_failed: Callable[[str], None],
    stdout=None,
) -> BatchSummary:
    """Read, score and write every record of `request`; returns the counts. Raises
    Interrupted (with the journal kept) on Ctrl-C. A run with -o holds the target's lock
    throughout: a second run on the same -o (with --force or --resume too) is refused."""
    from triage.readers.inputs import check_input_paths

    check_input_paths(request.paths)
    if request.output is None:
        return _run_batch(request, warn, file_failed, stdout)
    # its folder must exist to hold the lock: made when missing, gone again if the run fails empty
    with missing_folders_made(request.output.parent, f"-o {request.output}"):
        check_output_target(request.output, request.force)
        with exclusive(request.output, "-o"):
            return _run_batch(request, warn, file_failed, stdout)


def _run_batch(request: BatchRequest, warn, file_failed, stdout) -> BatchSummary:
    """The run's steps: load the model, open the journal (or the writer), read, score and
    write chunk by chunk, then assemble the output."""
    model_path, model = _checked_model(request)
    journal, summary, skip = _open_journal(request, model)
    run = BatchRun(request, model, model_path, journal, summary, skip, warn)
    tally = run.tally
    records = iter_inputs(
        request.paths,
        warn=tally.passing_on(warn, tally.note),
        options=request.read_options,
        # a lambda: the tally starts a new list of failed files at each chunk
        file_failed=tally.passing_on(file_failed, lambda message: tally.failed_files.append(message)),
    )
    writer = None if journal is not None else run.open_writer(stdout or sys.stdout)
    try:
        run.score_and_write(_skipping(records, skip, tally), writer)
        run.finish(writer)
    except KeyboardInterrupt:
        run.progress.close()
        where = (
            f"; run the same command with --resume to continue from {journal.directory}" if journal else ""
        )
        raise Interrupted(f"interrupted after {run.inputs_done:,} input records{where}") from None
    except BadInput:
        if journal is not None and not request.resume and not journal.manifest["parts"]:
            # refused before any chunk was finished: a journal of nothing to resume would
            # only make the next run ask for --resume or --force
            shutil.rmtree(journal.directory, ignore_errors=True)
        raise
    summary.seconds = time.monotonic() - run.started
    return summary


def _checked_model(request: BatchRequest):
    """The model path and the loaded model, once the output and kept columns are known to be
    usable; with --jobs the workers start loading it alongside."""
    from triage.model.predict import default_model_path, load_model

    check_output(request)
    model_path = Path(request.model_path) if request.model_path is not None else default_model_path()
    if request.jobs > 1:
        start_workers(model_path, request.jobs)
    model = load_model(model_path)
    check_keep_columns(request.read_options.keep_columns, model.labels)
    return model_path, model


class BatchRun:
    """One run's state between its steps: what has been read, scored and written so far."""

    def __init__(self, request: BatchRequest, model, model_path: Path, journal, summary, skip: int, warn):
        self.request, self.model, self.model_path = request, model, model_path
        self.journal, self.summary, self.warn = journal, summary, warn
        self.tally = ReadTally(replaying=skip > 0)
        self.duplicates = NearDuplicates() if request.score_options.unit == "article" else None
        if self.duplicates is not None and journal is not None and skip:
            for record in journal.records():
                self.duplicates.original_of(record["id"], NearDuplicates.sampled_grams(article_text(record)))
        total = total_input_bytes(request.paths, request.read_options) if request.show_progress else None
        self.progress = Progress(request.show_progress, total)
        self.inputs_done = skip
        self.started = time.monotonic()

    def open_writer(self, stream):
        return open_writer(
            self.request.output_format,
            stream,
            labels=self.model.labels,
            keep_columns=self.request.read_options.keep_columns,
            explain=self.request.score_options.explain,
            card=self.model.card,
            writers=self.request.writers,
        )

    def score_and_write(self, records: Iterator[InputRecord], writer) -> None:
        """Score `records` chunk by chunk; each chunk goes to the journal (-o) or the writer."""
        chunks = scored_chunks(
            self.model,
            self.model_path,
            self.tally.cut(chunked(records, self.model.semantic)),
            self.request.score_options,
            self.request.jobs,
            as_lines=self.journal is not None,
        )
        for chunk, scored in chunks:
            for message in scored.warnings:
                self.warn(message)
            self.tally.count_next_chunk(self.summary)
            _account(scored, self.duplicates, self.summary)
            self.inputs_done += len(chunk)
            if self.journal is not None:
                self.journal.add(scored.lines, self.inputs_done, self.summary)
            else:
                writer.write(scored.outputs)
            self.progress.update(self.summary.records, chunk[-1])
        self.progress.close()
        self.tally.count_the_rest(self.summary)

    def finish(self, writer) -> None:
        """Refuse a run that read nothing; else assemble the output from the journal, or end
        the writer."""
        if self.inputs_done == 0:
            if self.journal is not None:
                shutil.rmtree(self.journal.directory, ignore_errors=True)
            failed = self.summary.failed_files
            raise BadInput(
                f"no readable input in {named_inputs(self.request.paths)}"
                + (f" ({failed[0]})" if failed else "")
            )
        if self.journal is None:
            writer.finish()
            return
        self.journal.assemble(
            self.request.output_format,
            self.model.labels,
            self.request.read_options.keep_columns,
            self.request.score_options.explain,
            card=self.model.card,
            writers=self.request.writers,
        )


def check_output(request: BatchRequest) -> None:
    """Refuse, before any work, an -o target that cannot be written or would be lost: one
    that exists without --force, an interrupted run's journal that a new run would discard,
    or a --resume with nothing (or standard input) to resume."""
    if request.output is None:
        if request.resume:
            raise BadInput("--resume continues a run with -o; there is no output file to continue")
        return
    check_output_target(request.output, request.force)
    journal = Journal(request.output)
    if request.resume:
        if "-" in request.paths:
            raise BadInput("--resume cannot re-read standard input; give files")
        if not journal.exists():
            raise BadInput(f"--resume: no interrupted run to continue ({journal.directory} does not exist)")
    elif journal.directory.exists() and not request.force:
        raise BadInput(
            f"{journal.directory} holds an interrupted run: add --resume to continue it, or --force to start over"
        )


def _open_journal(request: BatchRequest, model) -> tuple[Journal | None, BatchSummary, int]:
    """(the journal, the counts so far, input records already done): a new journal for a run
    with -o, the interrupted run's for --resume, none for stdout."""
    if request.output is None:
        return None, BatchSummary(), 0
    journal = Journal(request.output)
    fingerprint = {
        "inputs": [str(Path(p).resolve()) if p != "-" else "-" for p in request.paths],
        "input files": "-"
        if "-" in request.paths
        else input_fingerprint(request.paths, request.read_options),
        "options": {
            **request.score_options.__dict__,
            "format": request.output_format,
            **_read_fingerprint(request.read_options),
        },
        "model": model.card["model_file"]["sha256"],
    }
    if not request.resume:
        journal.start(fingerprint)
        return journal, BatchSummary(), 0
    journal.reopen(fingerprint)
    summary = BatchSummary.from_dict(journal.manifest.get("summary") or BatchSummary().to_dict())
    return journal, summary, journal.inputs_done


def _read_fingerprint(read_options: ReadOptions) -> dict:
    values = dict(read_options.__dict__)
    values.pop("exclude", None)
    values["keep_columns"] = list(values["keep_columns"])
    return values


def _skipping(records: Iterator[InputRecord], count: int, tally: ReadTally) -> Iterator[InputRecord]:
    """Pass over the first `count` records (a resumed run's finished part), quietly: `tally`
    is replaying until the last of them is read."""
    for number, record in enumerate(records):
        if number >= count:
            tally.replaying = False
            yield record
        elif number == count - 1:
            tally.replaying = False
    tally.replaying = False


def _account(scored: ScoredChunk, duplicates: NearDuplicates | None, summary: BatchSummary) -> None:
    """Count a scored chunk in the summary, and mark each article that nearly duplicates an
    earlier one (in its record, or in its JSON line: the one `null` that field holds)."""
    for number, (record_id, labels) in enumerate(zip(scored.ids, scored.labels, strict=True)):
        summary.records += 1
        if duplicates is not None:
            original = duplicates.original_of(record_id, scored.sampled[number])
            if original is not None:
                if scored.outputs is not None:
                    scored.outputs[number]["near_duplicate_of"] = original
                else:
                    scored.lines[number] = scored.lines[number].replace(
                        _NO_ORIGINAL,
                        _NO_ORIGINAL[: -len(b"null")] + json.dumps(original, ensure_ascii=False).encode(),
                        1,
                    )
                summary.near_duplicates += 1
                continue
        summary.tags.update(labels)


# How an article record's JSON line says it is nobody's copy: keys and strings never hold
# this (a quote inside a string is escaped), so its first occurrence is the field itself.
_NO_ORIGINAL = b'"near_duplicate_of": null'
