"""The two baselines every score is printed beside: the majority label and a keyword rule.

The keyword rule reads its cue phrases from `cue_lexicon.json` (data, not code): phrases
from the taxonomy's own text only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pandas as pd

from triage.corpus import TIE_BREAK_ORDER

CUE_LEXICON_PATH = Path(__file__).with_name("cue_lexicon.json")


@cache
def cue_lexicon() -> dict[str, tuple[str, ...]]:
    """label -> cue phrases ("*" at the end of a phrase matches any word it starts)."""
    cues = json.loads(CUE_LEXICON_PATH.read_text(encoding="utf-8"))["cues"]
    return {label: tuple(phrases) for label, phrases in cues.items()}


def _pattern(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    if words[-1].endswith(r"\*"):
        words[-1] = words[-1][:-2] + r"\w*"
    return r"\b" + r"\s+".join(words) + r"\b"


@cache
def _patterns() -> dict[str, re.Pattern]:
    return {
        label: re.compile("|".join(_pattern(phrase) for phrase in phrases), re.I)
        for label, phrases in cue_lexicon().items()
    }


def cue_counts(text: str) -> dict[str, int]:
    """How many cue phrases of each label occur in `text`."""
    return {label: len(pattern.findall(str(text))) for label, pattern in _patterns().items()}


def majority_baseline(train_labels: Sequence[str], n: int) -> list[str]:
    """Every paragraph gets the most frequent training label."""
    majority = pd.Series(list(train_labels)).value_counts().index[0]
    return [majority] * n


def keyword_baseline(texts: Sequence[str]) -> list[str]:
    """The label whose cue phrases occur most often; ties by the taxonomy's order; none: other."""
    predictions = []
    for text in texts:
        counts = cue_counts(text)
        best = max(counts.values())
        if best == 0:
            predictions.append("other")
        else:
            predictions.append(next(label for label in TIE_BREAK_ORDER if counts.get(label) == best))
    return predictions
