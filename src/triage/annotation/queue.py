"""The annotation queue and its file: an analyst's articles, ranked by how unsure the model
is of each paragraph, labelled one key at a time into the analyst's own labelled file.

Every answer rewrites the file atomically (corpus.write_labeled_table), so at any moment it
is a complete, valid labelled file: a crash or Ctrl-C loses at most the paragraph on
screen, and running again resumes, because paragraphs already in the file (exactly or as a
near-duplicate, the split's own measure) never enter the queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from triage.corpus.labeled import (
    COLUMNS,
    LABELS,
    PROVENANCE_COLUMNS,
    near_duplicate_pairs,
    read_labeled_table,
    text_sha1,
    validate_labeled,
    write_labeled_table,
)
from triage.errors import BadInput, UsageError

STRATEGIES = ("margin", "entropy", "random")


@dataclass(frozen=True)
class QueueItem:
    """One paragraph to label, with what the screen and the file need to know about it."""

    article_id: str
    paragraph: int
    text: str
    title: str | None
    previous_text: str | None
    next_text: str | None
    probabilities: dict[str, float]
    terms: tuple[str, ...]
    source_file: str
    first_line: int | None
    last_line: int | None
    uncertainty: float

    @property
    def suggestion(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)


# --- the queue -------------------------------------------------------------------------------
def uncertainty_scores(probabilities: np.ndarray, strategy: str, seed: int = 0) -> np.ndarray:
    """How much each paragraph's label is worth asking for: higher first.

    margin: 1 - (top probability - second); entropy: of the label distribution; random: a
    seeded draw (the baseline the other two must beat).
    """
    probabilities = np.asarray(probabilities, dtype=float)
    if strategy == "margin":
        top_two = np.sort(probabilities, axis=1)[:, -2:]
        return 1.0 - (top_two[:, 1] - top_two[:, 0])
    if strategy == "entropy":
        safe = np.clip(probabilities, 1e-12, 1.0)
        return -(probabilities * np.log(safe)).sum(axis=1)
    if strategy == "random":
        return np.random.default_rng(seed).random(len(probabilities))
    raise UsageError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")


def build_queue(
    records,
    model,
    labelled: pd.DataFrame,
    strategy: str = "margin",
    seed: int = 0,
    warn: Callable[[str], None] = lambda message: None,
) -> list[QueueItem]:
    """The paragraphs of `records` (records.InputRecord) not yet in `labelled`, most uncertain
    first, each with the model's in-context probabilities and the terms behind its top label."""
    from triage.ingestion.article import ingest

    items: list[QueueItem] = []
    texts: list[str] = []
    for record in records:
        article = ingest(record.text)
        if record.title and not article.title:
            article = type(article)(record.title, None, article.paragraphs, article.dropped)
        prediction = model.predict_ingested(article, context=True, explain=True)
        for position, paragraph in enumerate(prediction.paragraphs):
            texts.append(paragraph.text)
            items.append(
                QueueItem(
                    article_id=record.id,
                    paragraph=paragraph.index,
                    text=paragraph.text,
                    title=article.title,
                    previous_text=prediction.paragraphs[position - 1].text if position else None,
                    next_text=(
                        prediction.paragraphs[position + 1].text
                        if position + 1 < len(prediction.paragraphs)
                        else None
                    ),
                    probabilities=paragraph.probabilities,
                    terms=tuple(term["term"] for term in paragraph.explanation or ()),
                    source_file=record.source or record.id,
                    first_line=paragraph.first_line,
                    last_line=paragraph.last_line,
                    uncertainty=0.0,
                )
            )
    keep = _unlabelled(items, labelled, warn)
    items = [items[i] for i in keep]
    if not items:
        return []
    matrix = np.array([[item.probabilities[label] for label in LABELS] for item in items])
    scores = uncertainty_scores(matrix, strategy, seed)
    order = np.argsort(-scores, kind="stable")
    return [_with_uncertainty(items[i], float(scores[i])) for i in order]


def _with_uncertainty(item: QueueItem, score: float) -> QueueItem:
    return replace(item, uncertainty=round(score, 4))


def _unlabelled(items: Sequence[QueueItem], labelled: pd.DataFrame, warn) -> list[int]:
    """Positions of the items to ask about: not labelled already (exact text or near
    duplicate), not a repeat of an earlier item, and not on a key the file holds for other text."""
    texts = [item.text for item in items]
    known_texts = list(labelled["text"]) if len(labelled) else []
    known_hashes = set(labelled["text_sha1"]) if len(labelled) else set()
    known_keys = (
        {(str(a), int(p)) for a, p in zip(labelled["article_id"], labelled["paragraph"], strict=True)}
        if len(labelled)
        else set()
    )
    drop = {i for i, text in enumerate(texts) if text_sha1(text) in known_hashes}
    drop |= {i for i, _, _ in near_duplicate_pairs(texts, known_texts)}
    seen_hashes: set[str] = set()
    for i, text in enumerate(texts):
        digest = text_sha1(text)
        if digest in seen_hashes:
            drop.add(i)
        seen_hashes.add(digest)
    drop |= {max(i, j) for i, j, _ in near_duplicate_pairs(texts, texts) if i != j}
    for i, item in enumerate(items):
        key = (item.article_id, item.paragraph)
        if i not in drop and key in known_keys:
            warn(
                f"{item.article_id} paragraph {item.paragraph}: the labelled file or an earlier input "
                "holds other text under this id and paragraph; skipped (give inputs unique ids)"
            )
            drop.add(i)
        known_keys.add(key)
    return [i for i in range(len(items)) if i not in drop]


# --- the labelled file -----------------------------------------------------------------------
def read_label_file(path: Path | str) -> pd.DataFrame:
    """The analyst's labelled file with its provenance columns (empty when it does not exist
    yet); refused, naming the row, when it breaks the schema."""
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"--data {path}: is a folder; name the CSV file to label into")
    if not path.exists():
        if not path.parent.exists():
            raise BadInput(f"--data {path}: directory {path.parent} does not exist")
        return pd.DataFrame(columns=[*COLUMNS, *PROVENANCE_COLUMNS], dtype=str)
    table = read_labeled_table(path)
    validate_labeled(table, path)
    for column in PROVENANCE_COLUMNS:
        if column not in table.columns:
            table[column] = ""
    return table


@dataclass
class LabelFile:
    """The file answers go to: each change is validated, then written atomically."""

    path: Path
    annotator: str
    split: str = "train"
    model_sha: str = ""
    strategy: str = ""
    rows: pd.DataFrame = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        self.path = Path(self.path)
        if self.rows is None:
            self.rows = read_label_file(self.path)

    def record(self, item: QueueItem, label: str, suggestion: str) -> None:
        """Write `label` for `item` (replacing an answer given to it before)."""
        row = {
            "article_id": item.article_id,
            "paragraph": str(item.paragraph),
            "text": item.text,
            "text_sha1": text_sha1(item.text),
            "label": label,
            "split": self.split,
            "source": "analyst",
            "annotator": self.annotator,
            "labeled_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "model_sha": self.model_sha,
            "suggestion": suggestion,
            "strategy": self.strategy,
            "source_file": item.source_file,
            "first_line": "" if item.first_line is None else str(item.first_line),
            "last_line": "" if item.last_line is None else str(item.last_line),
        }
        kept = self.rows[~self._matches(item)]
        self._commit(pd.concat([kept, pd.DataFrame([row])], ignore_index=True))

    def remove(self, item: QueueItem) -> None:
        self._commit(self.rows[~self._matches(item)].reset_index(drop=True))

    def _matches(self, item: QueueItem) -> pd.Series:
        return (self.rows["article_id"] == item.article_id) & (
            self.rows["paragraph"].astype(str) == str(item.paragraph)
        )

    def _commit(self, rows: pd.DataFrame) -> None:
        rows = rows.fillna("").astype(str)
        validate_labeled(rows, self.path)  # never write a file `triage validate` would refuse
        write_labeled_table(rows, self.path)
        self.rows = rows


# --- what `triage label` does ------------------------------------------------------------------
def labelling_queue(
    paths: list[str],
    data: Path | str,
    *,
    model_path: Path | str | None = None,
    strategy: str = "margin",
    seed: int = 0,
    warn: Callable[[str], None] = lambda message: None,
    **input_options,
):
    """(model, labelled rows, ranked queue) for `paths` against the labelled file `data`.

    `input_options` are io.iter_inputs' (text_column, id_column, encoding, max_bytes).
    """
    from triage.model.predict import load_model
    from triage.readers.inputs import iter_inputs, named_inputs

    if strategy not in STRATEGIES:
        raise UsageError(f"strategy {strategy!r} is not one of {', '.join(STRATEGIES)}")
    labelled = read_label_file(data)
    records = list(iter_inputs(paths, warn=warn, **input_options))
    if not records:
        raise BadInput(f"no readable input in {named_inputs(paths)}")
    model = load_model(model_path)
    return model, labelled, build_queue(records, model, labelled, strategy, seed, warn)
