"""Labelling in a spreadsheet instead: the queue exported as a CSV with a label column, and the filled sheet merged back with provenance."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from triage.annotation.queue import QueueItem, read_label_file
from triage.corpus.labeled import (
    COLUMNS,
    LABELS,
    PROVENANCE_COLUMNS,
    is_simple_form,
    read_csv_table,
    simple_form_rows,
    validate_labeled,
    write_labeled_table,
)
from triage.errors import BadInput
from triage.locking import exclusive
from triage.untrusted import read_from_spreadsheet


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
