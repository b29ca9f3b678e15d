"""The terminal loop of triage label: one paragraph at a time, one key per answer, each answer written at once; keys read with click.getchar."""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from triage.annotation.queue import LabelFile, QueueItem, labelling_queue
from triage.corpus.labeled import (
    LABELS,
)
from triage.errors import BadInput
from triage.locking import exclusive
from triage.untrusted import for_terminal

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
