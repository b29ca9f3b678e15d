"""A person's review decisions (keep or relabel) applied to the labelled files, each with its provenance, and logged."""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from triage.corpus.labeled import (
    LABELED_FILES,
    LABELS,
    REVIEW_COLUMNS,
    read_csv_table,
    read_labeled_table,
    validate_labeled,
    write_labeled_table,
)
from triage.errors import BadInput
from triage.locking import exclusive
from triage.untrusted import read_from_spreadsheet

DECISIONS = ("keep", "relabel")
REVIEW_LOG_NAME = "review-log.csv"
LOG_COLUMNS = (
    "reviewed_at",
    "reviewed_by",
    "file",
    "article_id",
    "paragraph",
    "text_sha1",
    "decision",
    "old_label",
    "new_label",
)


# --- a person's decisions ------------------------------------------------------------------------
@dataclass
class AppliedDecisions:
    kept: int
    relabelled: int
    log_path: Path
    files: list[Path]


def apply_decisions(
    decisions_path: Path | str,
    data: Path | str | None,
    *,
    reviewer: str,
    log_path: Path | str | None = None,
) -> AppliedDecisions:
    """Record each decision of `decisions_path` (keep or relabel, by article_id and
    paragraph) in the labelled file that holds the row (review_decision, reviewed_by,
    reviewed_at, previous_label) and in the review log. Any bad row stops it naming the row,
    and then nothing is changed."""
    from triage.paths import resolve_data

    decisions_path, data = Path(decisions_path), resolve_data(data)
    files = _labelled_files(data)
    with ExitStack() as locks:  # every file that may change, so no `triage label` writes meanwhile
        for path in sorted(files):
            locks.enter_context(exclusive(path, "--data"))
        return _record_decisions(decisions_path, data, files, reviewer, log_path)


def _decided_label(decision: dict, current: str, text_sha1: str, where: str) -> str:
    """The label a decision leaves: its new_label (one of LABELS) or the current one; refused
    when the paragraph's text changed since the review."""
    if decision.get("text_sha1") and decision["text_sha1"] != text_sha1:
        raise BadInput(
            f"{where}: the text of {decision['article_id']} paragraph {decision['paragraph']} changed since the review"
        )
    if decision["decision"] != "relabel":
        return current
    new_label = decision["new_label"]
    if new_label not in LABELS:
        shown = repr(new_label) if new_label else "empty"
        raise BadInput(f"{where}: new_label {shown} is not one of {', '.join(LABELS)}")
    return new_label


def _record_decisions(
    decisions_path: Path, data: Path, files: list[Path], reviewer: str, log_path
) -> AppliedDecisions:
    tables = {path: read_labeled_table(path) for path in files}
    where_is = {
        (str(a), str(p)): path
        for path, table in tables.items()
        for a, p in zip(table["article_id"], table["paragraph"], strict=True)
    }
    decisions = _read_decisions(decisions_path)
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    log_rows, kept, relabelled = [], 0, 0
    for number, decision in decisions:
        where = f"{decisions_path}: row {number}"
        key = (decision["article_id"], decision["paragraph"])
        path = where_is.get(key)
        if path is None:
            raise BadInput(f"{where}: {key[0]} paragraph {key[1]} is not in {data}")
        table = tables[path]
        position = table.index[(table["article_id"] == key[0]) & (table["paragraph"].astype(str) == key[1])][
            0
        ]
        current = table.at[position, "label"]
        new_label = _decided_label(decision, current, table.at[position, "text_sha1"], where)
        relabelled += decision["decision"] == "relabel"
        kept += decision["decision"] != "relabel"
        for column in REVIEW_COLUMNS:
            if column not in table.columns:
                table[column] = ""
        table.loc[position, ["label", *REVIEW_COLUMNS]] = [
            new_label,
            decision["decision"],
            decision.get("reviewer") or reviewer,
            now,
            current,
        ]
        log_rows.append(
            {
                "reviewed_at": now,
                "reviewed_by": decision.get("reviewer") or reviewer,
                "file": str(path),
                "article_id": key[0],
                "paragraph": key[1],
                "text_sha1": table.at[position, "text_sha1"],
                "decision": decision["decision"],
                "old_label": current,
                "new_label": new_label,
            }
        )
    changed = sorted({Path(row["file"]) for row in log_rows})
    for path in changed:
        validate_labeled(tables[path].fillna(""), path)
    for path in changed:
        write_labeled_table(tables[path].fillna(""), path)
    log_path = Path(log_path) if log_path else default_log_path(data)
    _append_log(log_path, log_rows)
    return AppliedDecisions(kept, relabelled, log_path, changed)


def default_log_path(data: Path) -> Path:
    """The review log beside the data: `<folder>/review-log.csv`, or `<file>.review-log.csv`."""
    return data / REVIEW_LOG_NAME if data.is_dir() else data.with_name(f"{data.stem}.{REVIEW_LOG_NAME}")


def _labelled_files(data: Path) -> list[Path]:
    if data.is_dir():
        files = [data / name for name in LABELED_FILES if (data / name).exists()]
        if not files:
            raise BadInput(f"{data}: no labelled files ({', '.join(LABELED_FILES)})")
        return files
    if not data.exists():
        raise BadInput(f"{data}: no such file or folder")
    return [data]


def _read_decisions(path: Path) -> list[tuple[int, dict]]:
    """(row number, decision) for each row with a decision; every row checked first."""
    table = read_from_spreadsheet(read_csv_table(path))  # the ' --format csv put before formulas comes off
    missing = [column for column in ("article_id", "paragraph", "decision") if column not in table.columns]
    if missing:
        raise BadInput(
            f"{path}: no {', '.join(missing)} column (fill in `decision` of `triage review --format csv`)"
        )
    decisions = []
    for number, row in enumerate(table.to_dict("records"), start=1):
        choice = row["decision"].strip().lower()
        if not choice:
            continue
        if choice not in DECISIONS:
            raise BadInput(f"{path}: row {number}: decision {choice!r} is not keep or relabel")
        row = {key: str(value).strip() for key, value in row.items()}
        row["decision"] = choice
        row.setdefault("new_label", "")
        decisions.append((number, row))
    if not decisions:
        raise BadInput(f"{path}: no row has a decision (keep or relabel)")
    return decisions


def _append_log(path: Path, rows: list[dict]) -> None:
    from triage.atomic import atomic_write_text

    previous = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None
    frame = pd.DataFrame(rows, columns=list(LOG_COLUMNS))
    if previous is not None:
        frame = pd.concat([previous, frame], ignore_index=True)
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))
