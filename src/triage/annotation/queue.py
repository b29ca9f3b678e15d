"""The annotation queue and its file: an analyst's articles, ranked by how unsure the model
is of each paragraph, labelled one key at a time into the analyst's own labelled file.

Every answer rewrites the file atomically (corpus.write_labeled_table), so at any moment it
is a complete, valid labelled file: a crash or Ctrl-C loses at most the paragraph on
screen, and running again resumes, because paragraphs already in the file (exactly or as a
near-duplicate, the split's own measure) never enter the queue.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from triage.corpus.labeled import (
    COLUMNS,
    LABELS,
    PROVENANCE_COLUMNS,
    is_simple_form,
    near_duplicate_pairs,
    read_csv_table,
    read_labeled_table,
    simple_form_rows,
    text_sha1,
    validate_labeled,
    write_labeled_table,
)
from triage.errors import BadInput, UsageError
from triage.locking import exclusive
from triage.untrusted import for_terminal, read_from_spreadsheet

STRATEGIES = ("margin", "entropy", "random")
# One key per label, in the taxonomy's table order.
LABEL_KEYS = {str(number): label for number, label in enumerate(LABELS, start=1)}
SKIP, UNDO, BACK, QUIT, HELP = "s", "u", "b", "q", "?"
INTERRUPT, END_OF_INPUT = "\x03", "\x04"
# Shown on `?`: the taxonomy's definitions in brief (docs/taxonomy.md is the full text).
DEFINITIONS = {
    "brand_criticism": "a brand, rights holder, industry group or commentator criticising a platform's handling of fakes",
    "platform_metrics": "a platform's own anti-counterfeiting record: its figures, programmes, alliances, technology",
    "legal_action": "lawsuits, rulings, damages, injunctions, settlements; raids and arrests in a case; what the law says",
    "regulatory_listing": "governments listing or scrutinising platforms: notorious markets, reports, bills, hearings",
    "market_expansion": "business growth and strategy: stores opened, brands joining, sales and user figures, trends",
    "other": "everything else: background, transitions, empty quotes, furniture; a non-statement",
}
TIE_RULE = "a tie goes to the first of: legal_action, regulatory_listing, brand_criticism, platform_metrics, market_expansion, other"
CARRY_ON_RULE = "a paragraph that only carries on the one before (a reply, an attribution) takes its topic"
NEIGHBOUR_CHARACTERS = 240


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


# --- the interactive loop ----------------------------------------------------------------------
@dataclass
class SessionSummary:
    labelled: int
    skipped: int
    remaining: int
    quit: bool


class LabelSession:
    """The terminal loop, with its input (`read_key`) and output (`out`) injected so the
    same logic runs under a test and on a real terminal."""

    def __init__(
        self,
        queue: Sequence[QueueItem],
        label_file: LabelFile,
        read_key: Callable[[], str],
        out: TextIO,
        blind: bool = False,
    ):
        self.queue = list(queue)
        self.label_file = label_file
        self.read_key = read_key
        self.out = out
        self.blind = blind
        self.answers: dict[int, str] = {}
        self.answered_order: list[int] = []
        self.skipped: set[int] = set()

    def run(self) -> SessionSummary:
        position = 0
        quit_early = False
        while position < len(self.queue):
            self._show(position)
            key = self.read_key()
            if key == INTERRUPT:
                raise KeyboardInterrupt
            if key in (QUIT, END_OF_INPUT, ""):
                quit_early = True
                break
            position = self._act(position, key)
        if not quit_early:
            self._say("queue done: every paragraph answered or skipped")
        return SessionSummary(
            labelled=len(self.answers),
            skipped=len(self.skipped - set(self.answers)),
            remaining=len(self.queue) - len(self.answers),
            quit=quit_early,
        )

    def _act(self, position: int, key: str) -> int:
        """Do what `key` asks at `position`; return the position to show next."""
        item = self.queue[position]
        if key in LABEL_KEYS:
            self.label_file.record(item, LABEL_KEYS[key], suggestion=item.suggestion)
            self.answers[position] = LABEL_KEYS[key]
            # A replaced answer (after `b`) is the newest one now, and only once: `u` undoes it,
            # then the answer before it.
            if position in self.answered_order:
                self.answered_order.remove(position)
            self.answered_order.append(position)
            self._say(f"saved {LABEL_KEYS[key]}")
            return position + 1
        if key == SKIP:
            self.skipped.add(position)
            return position + 1
        if key == UNDO:
            if not self.answered_order:
                self._say("nothing to undo")
                return position
            last = self.answered_order.pop()
            self.label_file.remove(self.queue[last])
            self._say(f"undone: {self.answers.pop(last)} removed from {self.label_file.path.name}")
            return last
        if key == BACK:
            if position == 0:
                self._say("already at the first paragraph")
            return max(position - 1, 0)
        if key == HELP:
            self._show_definitions()
            return position
        self._say(f"unknown key {key!r}: press ? for the keys")
        return position

    def _show(self, position: int) -> None:
        item = self.queue[position]
        lines = [
            "",
            f"-- {position + 1}/{len(self.queue)} -- {for_terminal(item.article_id)} paragraph {item.paragraph}"
            + (f" (lines {item.first_line}-{item.last_line})" if item.first_line is not None else ""),
            f"title: {for_terminal(item.title or '(none)')}",
        ]
        if item.previous_text:
            lines.append(f"   before: {_shorten(for_terminal(item.previous_text))}")
        lines.append(f">> {for_terminal(item.text)}")
        if item.next_text:
            lines.append(f"   after:  {_shorten(for_terminal(item.next_text))}")
        if not self.blind:
            ranked = sorted(item.probabilities.items(), key=lambda pair: -pair[1])[:3]
            lines.append("model: " + ", ".join(f"{label} {p:.2f}" for label, p in ranked))
            if item.terms:
                lines.append("terms: " + for_terminal(", ".join(item.terms)))
        if position in self.answers:
            lines.append(f"(your answer: {self.answers[position]}; a key replaces it)")
        lines.append("  ".join(f"{key} {label}" for key, label in LABEL_KEYS.items()))
        lines.append("s skip  u undo  b back  q quit  ? definitions")
        self._say("\n".join(lines))

    def _show_definitions(self) -> None:
        lines = [f"{key} {label}: {DEFINITIONS[label]}" for key, label in LABEL_KEYS.items()]
        self._say("\n".join([*lines, TIE_RULE, CARRY_ON_RULE]))

    def _say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _shorten(text: str) -> str:
    return text if len(text) <= NEIGHBOUR_CHARACTERS else text[: NEIGHBOUR_CHARACTERS - 3] + "..."


def terminal_key_reader(stream: TextIO | None = None) -> Callable[[], str]:
    """Read one key at a time from the terminal (click.getchar: the terminal in raw mode for
    one key, restored after; Ctrl-C still interrupts, Ctrl-D ends the session like q)."""
    import click

    stream = stream or sys.stdin
    try:
        descriptor = stream.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):
        descriptor = -1
    if descriptor < 0 or not os.isatty(descriptor):
        raise BadInput("triage label needs a terminal; use --export to label in a spreadsheet")

    def read_key() -> str:
        try:
            return click.getchar()
        except EOFError:  # click turns Ctrl-D into EOFError; the session reads it as the key
            return END_OF_INPUT

    return read_key


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


def label_interactively(
    paths: list[str],
    data: Path | str,
    *,
    annotator: str,
    read_key: Callable[[], str],
    out: TextIO,
    model_path: Path | str | None = None,
    strategy: str = "margin",
    seed: int = 0,
    blind: bool = False,
    split: str = "train",
    warn: Callable[[str], None] = lambda message: None,
    **input_options,
) -> SessionSummary:
    """Rank the paragraphs of `paths` and ask for their labels one key at a time. The
    labelled file is locked from before it is read until the session ends: a second
    session (or an import, or `review --apply`) on it is refused, not lost."""
    with exclusive(data, "--data"):
        model, labelled, queue = labelling_queue(
            paths, data, model_path=model_path, strategy=strategy, seed=seed, warn=warn, **input_options
        )
        if not queue:
            print("nothing to label: every paragraph is in the labelled file already", file=out, flush=True)
            return SessionSummary(0, 0, 0, quit=False)
        # The suggestion is recorded either way; the strategy says whether it was on screen.
        shown = f"{strategy} (blind)" if blind else strategy
        label_file = LabelFile(Path(data), annotator, split, model.short_sha, shown, rows=labelled)
        return LabelSession(queue, label_file, read_key, out, blind=blind).run()


def queue_frame(
    queue: Sequence[QueueItem], model_sha: str, strategy: str, blind: bool = False
) -> pd.DataFrame:
    """The ranked queue as the spreadsheet `--export` writes: fill in `label`, then `--import`.
    `blind` leaves out what the model thinks (suggestion, probabilities, terms)."""
    frame = pd.DataFrame(
        [
            {
                "rank": rank,
                "article_id": item.article_id,
                "paragraph": item.paragraph,
                "title": item.title or "",
                "text": item.text,
                "label": "",
                "suggestion": item.suggestion,
                **{f"p_{label}": item.probabilities[label] for label in LABELS},
                "uncertainty": item.uncertainty,
                "terms": "; ".join(item.terms),
                "strategy": strategy,
                "model_sha": model_sha,
                "source_file": item.source_file,
                "first_line": item.first_line,
                "last_line": item.last_line,
            }
            for rank, item in enumerate(queue, start=1)
        ]
    )
    if blind:
        frame = frame.drop(columns=["suggestion", *[f"p_{label}" for label in LABELS], "terms"])
    return frame


@dataclass
class ImportSummary:
    merged: int
    unlabelled: int
    already_labelled: int


def import_labels(
    spreadsheet: Path | str, data: Path | str, *, annotator: str, split: str = "train"
) -> ImportSummary:
    """Merge the filled-in labels of a queue export (or a simple `id,text,label` CSV) into the
    labelled file `data`. Rows with an empty label are left out; any bad row stops the
    import naming its row, and then nothing is merged. The labelled file is locked while
    it is read and rewritten."""
    with exclusive(data, "--data"):
        return _merge_labels(Path(spreadsheet), Path(data), annotator, split)


def _merge_labels(spreadsheet: Path, data: Path, annotator: str, split: str) -> ImportSummary:
    labelled = read_label_file(data)
    # The ' that --export put before a formula-like cell comes off before text_sha1 is computed.
    table = read_from_spreadsheet(read_csv_table(spreadsheet))
    if is_simple_form(table):
        table = simple_form_rows(table, spreadsheet)
    missing = [column for column in ("text", "label") if column not in table.columns]
    if missing:
        raise BadInput(
            f"{spreadsheet}: no {', '.join(missing)} column (a queue from --export, or id,text,label)"
        )
    filled = table[table["label"].str.strip() != ""].copy()
    row_numbers = [int(i) + 1 for i in filled.index]
    filled["split"] = split
    filled["source"] = "analyst"
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    filled["annotator"] = filled["annotator"] if "annotator" in filled.columns else annotator
    filled["annotator"] = filled["annotator"].replace("", annotator)
    filled["labeled_at"] = now
    for column in PROVENANCE_COLUMNS:
        if column not in filled.columns:
            filled[column] = ""
    filled["strategy"] = filled["strategy"].replace("", "import")
    validate_labeled(filled, spreadsheet, row_numbers)
    new_rows, already = _new_rows(filled, row_numbers, labelled, spreadsheet, data)
    if new_rows:
        keep = [*COLUMNS, *PROVENANCE_COLUMNS]
        extra = [column for column in labelled.columns if column not in keep]
        merged = pd.concat([labelled, filled.loc[new_rows, keep]], ignore_index=True)
        merged = merged[[*keep, *extra]].fillna("").astype(str)
        validate_labeled(merged, data)
        write_labeled_table(merged, data)
    return ImportSummary(len(new_rows), len(table) - len(filled), already)


def _new_rows(filled, row_numbers, labelled, spreadsheet, data) -> tuple[list, int]:
    """Index labels of the rows to merge, and how many the file holds already; a row that
    would change a label already in the file is refused (that is `triage review --apply`)."""
    by_key = {
        (str(a), str(p)): (sha, label)
        for a, p, sha, label in zip(
            labelled["article_id"],
            labelled["paragraph"],
            labelled["text_sha1"],
            labelled["label"],
            strict=True,
        )
    }
    by_text = dict(zip(labelled["text_sha1"], labelled["label"], strict=True))
    new_rows, already = [], 0
    for number, (index, row) in zip(row_numbers, filled.iterrows(), strict=True):
        where = f"{spreadsheet}: row {number}"
        known = by_key.get((str(row["article_id"]), str(row["paragraph"])))
        if known is not None and known[0] != row["text_sha1"]:
            raise BadInput(
                f"{where}: {row['article_id']} paragraph {row['paragraph']} holds other text in {data}"
            )
        previous = known[1] if known is not None else by_text.get(row["text_sha1"])
        if previous is not None and previous != row["label"]:
            raise BadInput(
                f"{where}: already labelled {previous} in {data}, not {row['label']} "
                "(change a label with triage review --apply)"
            )
        if previous is not None:
            already += 1
            continue
        new_rows.append(index)
    return new_rows, already
