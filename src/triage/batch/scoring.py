"""Scoring records chunk by chunk, in this process or in --jobs workers (each worker loads its model once: the one module-level cache allowed, joblib's pattern)."""

from __future__ import annotations

import os
import warnings as python_warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from triage import __version__
from triage.batch.near_duplicates import NearDuplicates, article_text
from triage.errors import ModelRefused
from triage.records import (
    InputRecord,
    article_record,
    paragraph_record,
    to_jsonl,
)

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
