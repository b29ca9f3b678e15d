"""The article-tag rule and the review flag: one function each, used by predict, evaluate,
train (threshold choice) and the notebook alike."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

NOT_A_TAG = "other"
DEFAULT_TAG_THRESHOLD = 0.5
DEFAULT_REVIEW_THRESHOLD = 0.5


def article_tags(
    probabilities: np.ndarray,
    labels: Sequence[str],
    thresholds: Mapping[str, float] | float = DEFAULT_TAG_THRESHOLD,
) -> list[dict]:
    """Tags of one article from its paragraphs' probabilities (rows: paragraphs, columns: labels).

    The article is tagged L when the highest p(L) over its paragraphs reaches L's threshold;
    the tag's score is that maximum and it lists the paragraphs at or above the threshold.
    `other` is never a tag. A float threshold applies to every label.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    tags = []
    if probabilities.size == 0:
        return tags
    for column, label in enumerate(labels):
        if label == NOT_A_TAG:
            continue
        threshold = (
            thresholds
            if isinstance(thresholds, float | int)
            else thresholds.get(label, DEFAULT_TAG_THRESHOLD)
        )
        scores = probabilities[:, column]
        if scores.max() >= threshold:
            tags.append(
                {
                    "label": label,
                    "score": round(float(scores.max()), 4),
                    "paragraphs": [int(i) for i in np.flatnonzero(scores >= threshold)],
                }
            )
    return sorted(tags, key=lambda tag: -tag["score"])


def true_tags(paragraph_labels: Sequence[str]) -> set[str]:
    """An article's true tags: the labels of its gold paragraphs other than `other`."""
    return {label for label in paragraph_labels if label != NOT_A_TAG}


def needs_review(probabilities: np.ndarray, review_threshold: float = DEFAULT_REVIEW_THRESHOLD) -> np.ndarray:
    """True for each paragraph whose top probability is under the review threshold."""
    return np.asarray(probabilities, dtype=float).max(axis=1) < review_threshold
