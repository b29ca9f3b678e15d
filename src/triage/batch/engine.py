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
import os
import re
import shutil
import sys
import time
import warnings as python_warnings
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from triage import __version__
from triage.atomic import (
    atomic_write_bytes,
    atomic_write_text,
    fsync_directory,
    fsync_file,
    missing_folders_made,
)
from triage.batch.writers import open_writer
from triage.errors import BadInput, Interrupted, ModelRefused
from triage.locking import exclusive
from triage.readers.inputs import ReadOptions, check_output_target, iter_inputs, named_inputs
from triage.records import (
    OUTPUT_SCHEMA,
    InputRecord,
    article_record,
    check_keep_columns,
    paragraph_record,
    to_jsonl,
)
from triage.wording import counted

JOURNAL_SUFFIX = ".partial"
CHUNK_RECORDS = 1000  # records per chunk (and per journal part; $TRIAGE_CHUNK_RECORDS) ...
CHUNK_CHARACTERS = 2_000_000  # ... or fewer when they are long
# A semantic model labels a few paragraphs a second, not thousands: its chunks hold seconds
# of work too, so that --jobs keeps every process busy on a small input, progress moves,
# and an interrupted run keeps nearly all it did.
SEMANTIC_CHUNK_RECORDS = 64
SEMANTIC_CHUNK_CHARACTERS = 20_000


@dataclass(frozen=True)
class ScoreOptions:
    """What `triage predict` computes for each record."""

    unit: str = "article"
    context: bool = True
    threshold: float | None = None
    explain: bool = False


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


# --- scoring ------------------------------------------------------------------------------------
def ingest_record(record: InputRecord):
    """The article `triage predict` scores for a record (and `triage ingest` shows): its text
    ingested, with the record's title (a feed's title column, a page's) when ingestion
    found none."""
    from triage.ingestion.article import ingest

    article = ingest(record.text)
    if record.title and not article.title:
        article = type(article)(record.title, None, article.paragraphs, article.dropped)
    return article


def score_records(model, records: list[InputRecord], options: ScoreOptions) -> tuple[list[dict], list[str]]:
    """(output records, warnings) for a chunk of input records, in order: the chunk's
    paragraphs (or articles, all together) go through the model in one call."""
    warnings: list[str] = []
    if options.unit == "paragraph":
        predictions = model.predict_paragraphs(
            [record.text.strip() for record in records], explain=options.explain
        )
        outputs = [
            paragraph_record(record, prediction, model.short_sha, __version__)
            for record, prediction in zip(records, predictions, strict=True)
        ]
        return outputs, warnings
    articles = [ingest_record(record) for record in records]
    predictions = model.predict_articles(
        articles, context=options.context, threshold=options.threshold, explain=options.explain
    )
    outputs = []
    for record, article, prediction in zip(records, articles, predictions, strict=True):
        if prediction.mostly_foreign:
            warnings.append(
                f"{record.id}: mostly in another language ({article.foreign_share:.0%} of its text); no tags"
            )
        elif not prediction.paragraphs and record.text.strip():
            warnings.append(f"{record.id}: ingestion kept no paragraphs (all page furniture?); no tags")
        outputs.append(article_record(record, prediction, model.short_sha, __version__))
    return outputs, warnings


# A worker process's models by (card path, model sha): loaded once, kept for every chunk it is
# given (the one module-level state the package allows: STYLE.md, joblib's pattern).
_WORKER_MODELS: dict[tuple[str, str], object] = {}


@dataclass
class ScoredChunk:
    """One chunk scored, as the run needs it: the output records, or, for a run with a
    journal, their JSON lines (`near_duplicate_of` still null; far cheaper than the records
    to send from a worker, and the encoding is done there), with each record's id and the
    labels the summary counts (its tags, or the paragraph's label); the warnings; and for
    articles each one's `NearDuplicates.sampled_grams`. All but the near-duplicate index
    (which needs input order) is worked out where the chunk is scored, so --jobs shares it."""

    outputs: list[dict] | None
    lines: list[bytes] | None
    ids: list[str]
    labels: list[list[str]]
    warnings: list[str]
    sampled: list[list[int]] | None


def score_chunk(
    model, records: list[InputRecord], options: ScoreOptions, as_lines: bool = False
) -> ScoredChunk:
    """`score_records` and what the run needs of its records (`ScoredChunk`)."""
    outputs, warnings = score_records(model, records, options)
    sampled = None
    if options.unit == "article":
        sampled = [NearDuplicates.sampled_grams(article_text(output)) for output in outputs]
    labels = [
        [tag["label"] for tag in output["tags"]] if "tags" in output else [output["label"]]
        for output in outputs
    ]
    ids = [output["id"] for output in outputs]
    if as_lines:
        lines = [to_jsonl([output]).encode() for output in outputs]
        return ScoredChunk(None, lines, ids, labels, warnings, sampled)
    return ScoredChunk(outputs, None, ids, labels, warnings, sampled)


def worker_model(model_path: str, model_sha: str):
    """A worker process loads the model once and keeps it for every chunk it is given: the
    model the run started with, refused when the card now names another (a `triage train`
    during the run), so one output never mixes two models."""
    from triage.model.predict import load_model

    key = (model_path, model_sha)
    if key not in _WORKER_MODELS:
        model = load_model(model_path)
        loaded_sha = model.card["model_file"]["sha256"]
        if loaded_sha != model_sha:
            raise ModelRefused(
                f"{model_path}: the model changed during this run (it started with {model_sha[:12]}, "
                f"the card now names {loaded_sha[:12]}); the finished chunks used the first: start "
                "over with --force"
            )
        _WORKER_MODELS[key] = model
    return _WORKER_MODELS[key]


def _load_in_worker(model_path: str, model_sha: str) -> None:
    worker_model(model_path, model_sha)


def start_workers(model_path: Path, jobs: int) -> None:
    """Start the `jobs` worker processes loading the model while this process loads it too
    (in a thread: otherwise their start-up would only begin after this process's). The
    scoring later reuses the same workers (joblib keeps them)."""
    import threading

    from joblib import Parallel, delayed

    from triage.model.card import read_card

    def load() -> None:
        try:
            model_sha = read_card(model_path)["model_file"]["sha256"]
            Parallel(n_jobs=jobs, backend="loky")(
                delayed(_load_in_worker)(str(model_path), model_sha) for _ in range(jobs)
            )
        except Exception:  # noqa: BLE001 (this process loads the model next and says what is wrong)
            pass

    threading.Thread(target=load, daemon=True).start()


def _score_in_worker(
    model_path: str, model_sha: str, records: list[InputRecord], options: ScoreOptions, as_lines: bool
) -> ScoredChunk:
    return score_chunk(worker_model(model_path, model_sha), records, options, as_lines)


def chunked(records: Iterable[InputRecord], semantic: bool = False) -> Iterator[list[InputRecord]]:
    """Records in chunks of CHUNK_RECORDS or CHUNK_CHARACTERS (a semantic model's: smaller)."""
    most_records, most_characters = (
        (SEMANTIC_CHUNK_RECORDS, SEMANTIC_CHUNK_CHARACTERS) if semantic else (CHUNK_RECORDS, CHUNK_CHARACTERS)
    )
    size = int(os.environ.get("TRIAGE_CHUNK_RECORDS") or most_records)
    chunk: list[InputRecord] = []
    characters = 0
    for record in records:
        chunk.append(record)
        characters += len(record.text)
        if len(chunk) >= size or characters >= most_characters:
            yield chunk
            chunk, characters = [], 0
    if chunk:
        yield chunk


def scored_chunks(
    model,
    model_path: Path,
    chunks: Iterable[list[InputRecord]],
    options: ScoreOptions,
    jobs: int,
    as_lines: bool = False,
) -> Iterator[tuple[list[InputRecord], ScoredChunk]]:
    """(input chunk, `ScoredChunk`) per chunk, in input order, over `jobs` processes."""
    if jobs <= 1:
        for chunk in chunks:
            yield chunk, score_chunk(model, chunk, options, as_lines)
        return
    from joblib import Parallel, delayed

    pending: list[list[InputRecord]] = []

    def remembered(source):
        for chunk in source:
            pending.append(chunk)
            yield delayed(_score_in_worker)(str(model_path), model_sha, chunk, options, as_lines)

    model_sha = model.card["model_file"]["sha256"]
    parallel = Parallel(n_jobs=jobs, return_as="generator", pre_dispatch="2*n_jobs", backend="loky")
    results = parallel(remembered(chunks))
    try:
        for scored in results:
            yield pending.pop(0), scored
    finally:
        # Stopped early (Ctrl-C, an error): the chunks read ahead are dropped on purpose, and
        # --resume reads them again; joblib's warning about them is not for the user.
        with python_warnings.catch_warnings():
            python_warnings.filterwarnings("ignore", r".*(not used|have been cancelled)", UserWarning)
            results.close()


# --- near-duplicate articles within a run ------------------------------------------------------
SAMPLE_EVERY = 4  # a 3-gram is indexed when its hash is divisible by this (a stable sample)
INDEX_LIMIT = 1_000_000  # sampled 3-grams remembered; past it new articles are checked, not added


class NearDuplicates:
    """The split's near-duplicate measure (corpus.py: word 3-gram containment >= 0.3) between
    each article and those before it in the run, on a stable 1-in-4 sample of 3-grams so the
    index stays small. Order decides: the first copy is the original.

    The index maps each sampled 3-gram to the first article that held it. Most of it is two
    sorted NumPy arrays (4 bytes a 3-gram, 4 for its article: 8 MB at INDEX_LIMIT, where a
    dict of Python ints took over 100 MB); what came since the last merge is a small dict."""

    MERGE_EVERY = 50_000  # 3-grams held in the dict before they join the arrays

    def __init__(self):
        import numpy as np

        from triage.corpus.labeled import NEAR_DUPLICATE_MIN_SHARED, NEAR_DUPLICATE_THRESHOLD

        self.threshold = NEAR_DUPLICATE_THRESHOLD
        self.min_shared = max(2, NEAR_DUPLICATE_MIN_SHARED // SAMPLE_EVERY)
        self.grams = np.zeros(0, dtype=np.uint32)  # sorted
        self.holders = np.zeros(0, dtype=np.int32)  # the article that first held each
        self.recent: dict[int, int] = {}
        self.sizes: list[int] = []
        self.ids: list[str] = []

    def __len__(self) -> int:
        """How many sampled 3-grams the index holds."""
        return len(self.grams) + len(self.recent)

    @staticmethod
    def sampled_grams(text: str) -> list[int]:
        """The crc32 of each word 3-gram (words: `\\w+` of the lowercased text, UTF-8, joined
        by a space) that falls in the sample, each once, in order of first appearance. The
        order matters: `original_of` builds its set in it, and the set's order breaks ties."""
        words = _utf8_words(text.lower())
        hashes = map(zlib.crc32, map(b" ".join, zip(words, words[1:], words[2:], strict=False)))
        return list(dict.fromkeys(h for h in hashes if h % SAMPLE_EVERY == 0))

    def original_of(self, record_id: str, sampled_grams: list[int]) -> str | None:
        """The id of an earlier article this one nearly duplicates, or None; remembers it.
        `sampled_grams`: the article's `sampled_grams` (worked out where it was scored)."""
        signature = set(sampled_grams)
        ordered = list(signature)  # the set's own order: it decides ties between originals
        holders = self._holders(ordered)
        shared = Counter(holders)
        shared.pop(None, None)  # 3-grams no earlier article has
        original = None
        for article, count in shared.most_common():
            if (
                count >= self.min_shared
                and count / max(min(len(signature), self.sizes[article]), 1) >= self.threshold
            ):
                original = self.ids[article]
                break
        if original is None and len(self) < INDEX_LIMIT:
            number = len(self.ids)
            self.ids.append(record_id)
            self.sizes.append(len(signature))
            # a 3-gram keeps its first holder
            self.recent.update(
                dict.fromkeys((h for h, held in zip(ordered, holders, strict=True) if held is None), number)
            )
            if len(self.recent) >= self.MERGE_EVERY:
                self._merge()
        return original

    def _holders(self, grams: list[int]) -> list[int | None]:
        """The article holding each 3-gram, or None."""
        import numpy as np

        holders = list(map(self.recent.get, grams))
        if len(self.grams) and grams:
            wanted = np.fromiter(grams, dtype=np.uint32, count=len(grams))
            slots = np.minimum(np.searchsorted(self.grams, wanted), len(self.grams) - 1)
            found = np.flatnonzero(self.grams[slots] == wanted)
            for position, holder in zip(found.tolist(), self.holders[slots[found]].tolist(), strict=True):
                holders[position] = holder
        return holders

    def _merge(self) -> None:
        import numpy as np

        grams = np.fromiter(self.recent, dtype=np.uint32, count=len(self.recent))
        holders = np.fromiter(self.recent.values(), dtype=np.int32, count=len(self.recent))
        grams, holders = np.concatenate([self.grams, grams]), np.concatenate([self.holders, holders])
        order = np.argsort(grams, kind="stable")
        self.grams, self.holders, self.recent = grams[order], holders[order], {}


def article_text(record: dict) -> str:
    return "\n".join(paragraph["text"] for paragraph in record.get("paragraphs", []))


# ASCII bytes that `\w` does not match become spaces; bytes of other characters stay.
_ASCII_NON_WORD = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else ord(" ") for byte in range(256)
)
_WORD_RUN = re.compile(r"\w+")


def _utf8_words(text: str) -> list[bytes]:
    """`re.findall(r"\\w+", text)`, each encoded as UTF-8, found with bytes.translate and
    split: a run between ASCII non-word characters is one word when it is ASCII; a run
    holding other characters is split by the regular expression, as before."""
    runs = text.encode().translate(_ASCII_NON_WORD).split()
    if text.isascii():
        return runs
    words: list[bytes] = []
    for run in runs:
        if run.isascii():
            words.append(run)
        else:
            words.extend(word.encode() for word in _WORD_RUN.findall(run.decode()))
    return words


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
