"""The article-tag rule and the review flag, one function each, and the rules that choose
their thresholds from out-of-fold predictions; used by predict, evaluate, the fitted
article model and the notebook alike."""

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
    the tag's score is that maximum and it lists the paragraphs at or above the threshold,
    which it carries (so a tag given by a paragraph labelled otherwise explains itself).
    `other` is never a tag. A float threshold applies to every label.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    return articles_tags(probabilities, [len(probabilities)], labels, thresholds)[0]


def articles_tags(
    probabilities: np.ndarray,
    lengths: Sequence[int],
    labels: Sequence[str],
    thresholds: Mapping[str, float] | float = DEFAULT_TAG_THRESHOLD,
) -> list[list[dict]]:
    """`article_tags` of consecutive articles whose paragraphs' rows are stacked in
    `probabilities` (`lengths` rows each): each label's maximum per article in one array
    step, a Python step only for the tags that are given."""
    probabilities = np.asarray(probabilities, dtype=float)
    lengths = np.asarray(lengths, dtype=np.int64)
    tags: list[list[dict]] = [[] for _ in lengths]
    columns = [column for column, label in enumerate(labels) if label != NOT_A_TAG]
    if probabilities.size == 0 or not columns:
        return tags
    limits = np.array(
        [
            thresholds
            if isinstance(thresholds, float | int)
            else thresholds.get(labels[column], DEFAULT_TAG_THRESHOLD)
            for column in columns
        ],
        dtype=float,
    )
    articles = np.flatnonzero(lengths > 0)
    starts = (np.cumsum(lengths) - lengths)[articles]
    maxima = np.maximum.reduceat(probabilities[:, columns], starts, axis=0)
    for position, which in zip(*np.nonzero(maxima >= limits), strict=True):
        start, column = starts[position], columns[which]
        scores = probabilities[start : start + lengths[articles[position]], column]
        tags[articles[position]].append(
            {
                "label": labels[column],
                "score": round(float(maxima[position, which]), 4),
                "paragraphs": [int(i) for i in np.flatnonzero(scores >= limits[which])],
                "threshold": round(float(limits[which]), 4),
            }
        )
    return [sorted(article, key=lambda tag: -tag["score"]) for article in tags]


def paragraph_labels(probabilities: np.ndarray, labels: Sequence[str], topic_floor: float = 0.0) -> list[str]:
    """Each paragraph's label: the most probable, or `other` when no topic reaches
    `topic_floor` (chosen on real-news dev: a weak topic there is more often no topic)."""
    probabilities = np.asarray(probabilities, dtype=float)
    if probabilities.size == 0:
        return []
    chosen = np.argmax(probabilities, axis=1)
    if topic_floor and NOT_A_TAG in labels:
        other = list(labels).index(NOT_A_TAG)
        topics = np.delete(probabilities, other, axis=1)
        chosen = np.where(topics.max(axis=1) < topic_floor, other, chosen)
    return [labels[i] for i in chosen]


def true_tags(paragraph_labels: Sequence[str], not_a_tag: str = NOT_A_TAG) -> set[str]:
    """An article's true tags: the labels of its gold paragraphs other than `other`."""
    return {label for label in paragraph_labels if label != not_a_tag}


def needs_review(probabilities: np.ndarray, review_threshold: float = DEFAULT_REVIEW_THRESHOLD) -> np.ndarray:
    """True for each paragraph whose top probability is under the review threshold."""
    return np.asarray(probabilities, dtype=float).max(axis=1) < review_threshold


# Review rule: the lowest top-probability threshold at which the out-of-fold paragraphs the
# model is at least that sure of are right REVIEW_TARGET_ACCURACY of the time; everything
# under it goes to a person. With fewer than REVIEW_MIN_ROWS out-of-fold rows: the default.
REVIEW_TARGET_ACCURACY = 0.95
REVIEW_MIN_ROWS = 100
REVIEW_GRID = tuple(round(float(x), 2) for x in np.arange(0.30, 0.951, 0.05))
# Tag thresholds: per label, the value on this grid that maximises that label's article-tag
# F1 over the out-of-fold articles (ties: the one nearest 0.5); a label with fewer than
# TAG_MIN_ARTICLES articles carrying it keeps the default.
TAG_GRID = tuple(round(float(x), 2) for x in np.arange(0.20, 0.801, 0.05))
TAG_MIN_ARTICLES = 5


def choose_review_threshold(correct: np.ndarray, confidence: np.ndarray) -> float:
    """The review rule (see REVIEW_TARGET_ACCURACY) applied to out-of-fold predictions."""
    if len(correct) < REVIEW_MIN_ROWS:
        return DEFAULT_REVIEW_THRESHOLD
    for threshold in REVIEW_GRID:
        sure = confidence >= threshold
        if sure.any() and correct[sure].mean() >= REVIEW_TARGET_ACCURACY:
            return float(threshold)
    return float(REVIEW_GRID[-1])


def choose_tag_thresholds(
    articles: Sequence[tuple[Sequence[str], np.ndarray]], labels: Sequence[str], not_a_tag: str = NOT_A_TAG
) -> dict[str, float]:
    """Per-label tag thresholds by the rule above (see TAG_GRID), from (gold labels,
    probabilities) of each out-of-fold article; `not_a_tag` gets none."""
    thresholds = {}
    for column, label in enumerate(labels):
        if label == not_a_tag:
            continue
        carrying = sum(label in true_tags(gold, not_a_tag) for gold, _ in articles)
        if carrying < TAG_MIN_ARTICLES:
            thresholds[label] = DEFAULT_TAG_THRESHOLD
            continue
        best = max(TAG_GRID, key=lambda t: (_tag_f1(articles, column, label, t, not_a_tag), -abs(t - 0.5)))
        thresholds[label] = float(best)
    return thresholds


def _tag_f1(articles, column, label, threshold, not_a_tag) -> float:
    """`label`'s article-tag F1 at `threshold`: does the article carry it, is it tagged."""
    from sklearn.metrics import f1_score

    if not articles:
        return 0.0
    actual = [label in true_tags(gold, not_a_tag) for gold, _ in articles]
    predicted = [probabilities[:, column].max() >= threshold for _, probabilities in articles]
    return float(f1_score(actual, predicted, zero_division=0.0))
