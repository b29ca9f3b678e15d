"""Article text is untrusted: where it could act instead of being read, it is made inert.

Two such places. A spreadsheet runs a cell that starts like a formula (`=`, `+`, `-`, `@`,
or a tab or carriage return before one), so the CSV files meant for spreadsheets
(`triage label --export`, `triage review --format csv`) write such a cell with a leading
`'`, as spreadsheet exports do, and reading them back (`label --import`, `review --apply`)
takes exactly that `'` off again: a paragraph keeps its text and its text_sha1. A terminal
obeys control characters and ANSI escape sequences (colours, cursor moves, a rewritten
title), so the terminal table and the label screen drop them.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_LEADS = frozenset("=+-@\t\r")
SPREADSHEET_QUOTE = "'"

# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC), and any other two-byte ESC sequence;
# the 8-bit CSI (U+009B) likewise.
_ANSI_ESCAPE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?"
)
# Control characters (C0, DEL, C1) and the bidirectional overrides that reorder what is shown.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def for_spreadsheet(cell: str) -> str:
    """`cell` as a spreadsheet shows it but never runs it: a leading `'` when it starts like
    a formula, or with a `'` already (so that `from_spreadsheet` is its exact inverse)."""
    if cell and (cell[0] in FORMULA_LEADS or cell[0] == SPREADSHEET_QUOTE):
        return SPREADSHEET_QUOTE + cell
    return cell


def from_spreadsheet(cell: str) -> str:
    """The cell `for_spreadsheet` was given: the one `'` it added taken off."""
    if (
        cell[:1] == SPREADSHEET_QUOTE
        and cell[1:2]
        and (cell[1] in FORMULA_LEADS or cell[1] == SPREADSHEET_QUOTE)
    ):
        return cell[1:]
    return cell


def spreadsheet_csv(frame: pd.DataFrame) -> str:
    """`frame` as CSV text for a spreadsheet: every text cell through `for_spreadsheet`
    (numbers stay numbers: a negative margin is not a formula)."""
    inert = frame.map(lambda value: for_spreadsheet(value) if isinstance(value, str) else value)
    return inert.to_csv(index=False, lineterminator="\n")


def read_from_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A CSV read back (every cell a string): each cell through `from_spreadsheet`."""
    return frame.map(lambda value: from_spreadsheet(value) if isinstance(value, str) else value)


def for_terminal(text: str) -> str:
    """`text` with ANSI escape sequences and control characters taken out (a tab or line
    break becomes a space): what a terminal prints of it is exactly its words."""
    text = _ANSI_ESCAPE.sub("", str(text))
    return _CONTROL.sub(lambda match: " " if match.group() in "\t\n\r" else "", text)
