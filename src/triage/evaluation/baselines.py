"""The two baselines every score is printed beside: the majority label and a keyword rule.

The keyword rule reads its cue phrases from `cue_lexicon.json` (data, not code): phrases
from the taxonomy's own text only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from triage.corpus.labeled import TIE_BREAK_ORDER

CUE_LEXICON_PATH = Path(__file__).with_name("cue_lexicon.json")


def cue_lexicon(path: Path = CUE_LEXICON_PATH) -> dict[str, tuple[str, ...]]:
    """label -> cue phrases ("*" at the end of a phrase matches any word it starts)."""
    cues = json.loads(path.read_text(encoding="utf-8"))["cues"]
    return {label: tuple(phrases) for label, phrases in cues.items()}


def _pattern(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    if words[-1].endswith(r"\*"):
        words[-1] = words[-1][:-2] + r"\w*"
    return r"\b" + r"\s+".join(words) + r"\b"


class KeywordRule:
    """The keyword baseline: a lexicon's cue phrases, compiled once per rule (the compiled
    patterns are an attribute of the rule, not a module-level cache)."""

    def __init__(self, lexicon: dict[str, tuple[str, ...]] | None = None):
        self.lexicon = cue_lexicon() if lexicon is None else lexicon
        self.patterns = {
            label: re.compile("|".join(_pattern(phrase) for phrase in phrases), re.I)
            for label, phrases in self.lexicon.items()
        }

    def counts(self, text: str) -> dict[str, int]:
        """How many cue phrases of each label occur in `text`."""
        return {label: len(pattern.findall(str(text))) for label, pattern in self.patterns.items()}

    def predict(self, texts: Sequence[str]) -> list[str]:
        """The label whose cue phrases occur most often; ties by the taxonomy's order; none: other."""
        predictions = []
        for text in texts:
            counts = self.counts(text)
            best = max(counts.values())
            if best == 0:
                predictions.append("other")
            else:
                predictions.append(next(label for label in TIE_BREAK_ORDER if counts.get(label) == best))
        return predictions


def cue_counts(text: str) -> dict[str, int]:
    """How many cue phrases of each label of the bundled lexicon occur in `text`."""
    return KeywordRule().counts(text)


def majority_baseline(train_labels: Sequence[str], n: int) -> list[str]:
    """Every paragraph gets the most frequent training label."""
    majority = pd.Series(list(train_labels)).value_counts().index[0]
    return [majority] * n


def keyword_baseline(texts: Sequence[str], lexicon: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """`KeywordRule.predict` with `lexicon` (default: the bundled `cue_lexicon.json`)."""
    return KeywordRule(lexicon).predict(texts)
