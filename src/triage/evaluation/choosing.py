"""The one rule every choice is made by, on the real-news dev part.

- Two settings of different cost: paired bootstrap over dev articles (the same resamples
  for both), and the dearer one only when its gain has its 90% interval above 0.
- Values of equal cost (a grid): cross-fitting, so a grid cannot win by chance. Dev stories
  are split in two halves; the value best on one half is scored on the other, both ways; the
  pooled cross-fitted result must beat the current value with its 90% interval above 0.
- Paragraph labels and their post-hoc weights are judged by in-article macro-F1; the tag
  rule and tag thresholds by article-tag micro-F1.

Everything here reads the dev part only (`realnews.load_pages("dev")`): the test part is
for `triage evaluate --realnews test --final`, and a test checks no function here reads it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from triage.corpus.labeled import LABELS
from triage.evaluation.realnews_scoring import (
    ArticleCounts,
    article_counts,
    confusion,
    group_values,
    interval,
    macro_f1_of,
    micro_f1_of,
    resample_indices,
    tag_counts,
)
from triage.ingestion.article import Article, ingest
from triage.model.context import ArticleContextModel
from triage.model.pipeline import align_probabilities
from triage.model.tags import article_tags, needs_review

DECISION_LEVEL = 90
N_RESAMPLES = 1000
# What each kind of choice is judged by: (per-article counts, statistic of their sum).
STATISTICS: dict[
    str, tuple[Callable[[Sequence[ArticleCounts]], np.ndarray], Callable[[np.ndarray], float]]
] = {
    "in_article_macro_f1": (lambda articles: confusion(articles, "context"), macro_f1_of),
    "paragraph_macro_f1": (lambda articles: confusion(articles, "alone"), macro_f1_of),
    "article_tag_micro_f1": (tag_counts, micro_f1_of),
}


def score(articles: Sequence[ArticleCounts], statistic: str = "in_article_macro_f1") -> float:
    counts, of = STATISTICS[statistic]
    return of(counts(articles).sum(axis=0))


def paired_difference(
    cheaper: Sequence[ArticleCounts],
    dearer: Sequence[ArticleCounts],
    statistic: str = "in_article_macro_f1",
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> dict:
    """The dearer setting's gain over the cheaper on the same articles, with its 90% interval;
    `adopt` is True only when the whole interval is above 0."""
    if [a.id for a in cheaper] != [a.id for a in dearer]:
        raise ValueError("a paired comparison needs the same articles in the same order")
    counts, of = STATISTICS[statistic]
    first, second = counts(cheaper), counts(dearer)
    differences = [
        of(second[rows].sum(axis=0)) - of(first[rows].sum(axis=0))
        for rows in resample_indices(len(cheaper), n_resamples, seed)
    ]
    low, high = interval(differences, DECISION_LEVEL)
    base, other = of(first.sum(axis=0)), of(second.sum(axis=0))
    return {
        "cheaper": round(base, 4),
        "dearer": round(other, 4),
        "difference": round(other - base, 4),
        "interval": [low, high],
        "adopt": bool(low > 0),
    }


def story_halves(manifest_rows: pd.DataFrame) -> dict[str, int]:
    """Each dev article's half (0 or 1), by story, fixed by a hash so it never depends on order."""
    stories = sorted(set(manifest_rows["story"]), key=lambda s: hashlib.sha1(s.encode()).hexdigest())
    half_of_story = {story: i % 2 for i, story in enumerate(stories)}
    return {row.id: half_of_story[row.story] for row in manifest_rows.itertuples()}


@dataclass
class CrossFit:
    chosen_per_half: list
    adopted: object
    comparison: dict
    scores: dict


def cross_fit(
    candidates: Mapping[object, Sequence[ArticleCounts]],
    current: object,
    halves: Mapping[str, int],
    statistic: str = "in_article_macro_f1",
    seed: int = 0,
) -> CrossFit:
    """Choose among values of equal cost by cross-fitting (module docstring).

    `candidates` maps each value to its per-article counts (same articles, same order).
    The value adopted is the best on all of dev when the cross-fitted gain over `current`
    has its 90% interval above 0, else `current`.
    """
    values = list(candidates)
    reference = candidates[current]
    half = np.array([halves[a.id] for a in reference])

    def best_on(mask: np.ndarray):
        def value_score(value):
            chosen = [a for a, keep in zip(candidates[value], mask, strict=True) if keep]
            return (round(score(chosen, statistic), 6), value == current)

        return max(values, key=value_score)

    chosen = [best_on(half == 1), best_on(half == 0)]  # half 0 gets the value chosen on half 1
    fitted = [candidates[chosen[h]][i] for i, h in enumerate(half)]
    comparison = paired_difference(reference, fitted, statistic, seed=seed)
    best = best_on(np.ones(len(half), dtype=bool))
    return CrossFit(
        chosen_per_half=chosen,
        adopted=best if comparison["adopt"] else current,
        comparison=comparison,
        scores={value: round(score(candidates[value], statistic), 4) for value in values},
    )


# --- predictions of a paragraph pipeline on dev pages, under any post-hoc setting ----------
@dataclass
class DevPredictions:
    """A fitted paragraph pipeline's own probabilities on every dev page, computed once, so
    every post-hoc setting (context weights, thresholds) is scored without refitting."""

    ids: list[str]
    articles: list[Article]
    blocks: list[pd.DataFrame]
    groups: list[dict]
    own: list[np.ndarray]
    titles: list[np.ndarray | None]

    @classmethod
    def of(cls, pipeline, pages: Sequence[tuple[pd.Series, str, pd.DataFrame]]) -> DevPredictions:
        articles = [ingest(text) for _, text, _ in pages]
        texts = [paragraph for article in articles for paragraph in article.texts]
        titles = [article.title for article in articles if article.title]
        probabilities = _aligned(pipeline, texts + titles)
        own, start = [], 0
        for article in articles:
            own.append(probabilities[start : start + len(article.texts)])
            start += len(article.texts)
        title_rows = []
        for article in articles:
            title_rows.append(probabilities[start] if article.title else None)
            start += bool(article.title)
        return cls(
            ids=[row["id"] for row, _, _ in pages],
            articles=articles,
            blocks=[page_blocks for _, _, page_blocks in pages],
            groups=[group_values(row) for row, _, _ in pages],
            own=own,
            titles=title_rows,
        )

    def counts(
        self,
        context: ArticleContextModel,
        tag_thresholds: Mapping[str, float] | float = 0.5,
        review_threshold: float = 0.5,
        paragraph_tag_thresholds: Mapping[str, float] | float = 0.5,
        tag_min_paragraphs: int = 1,
        topic_floor: float = 0.0,
        tempered: bool = True,
    ) -> list[ArticleCounts]:
        """Per-article counts as `triage predict` would give them under these post-hoc settings.

        Two rules measured here before any enters the product: a tag needs `tag_min_paragraphs`
        paragraphs at or over its threshold, and a paragraph none of whose topics reaches
        `topic_floor` is `other` in the in-context output (0: off). `tempered=False` scores
        the mixing alone, for an unfitted `context` (no temperature learned yet)."""
        other = LABELS.index("other")
        counts = []
        for i, article in enumerate(self.articles):
            own = self.own[i]
            title = self.titles[i] if context.context_title_weight else None
            in_context = context.contextualise(own, title, temper_output=tempered) if len(own) else own
            records = []
            for probabilities, thresholds, review, floor in (
                (in_context, tag_thresholds, review_threshold, topic_floor),
                (own, paragraph_tag_thresholds, review_threshold, 0.0),
            ):
                tags = [] if article.mostly_foreign else article_tags(probabilities, LABELS, thresholds)
                tags = [tag for tag in tags if len(tag["paragraphs"]) >= tag_min_paragraphs]
                flags = needs_review(probabilities, review) if len(probabilities) else []
                records.append(
                    {
                        "paragraphs": [
                            {
                                "lines": [p.first_line, p.last_line],
                                "label": LABELS[_floored_label(row, floor, other)],
                                "needs_review": bool(flag),
                            }
                            for p, row, flag in zip(article.paragraphs, probabilities, flags, strict=True)
                        ],
                        "tags": tags,
                    }
                )
            counts.append(article_counts(self.ids[i], self.blocks[i], records[0], records[1], self.groups[i]))
        return counts


def _floored_label(row: np.ndarray, topic_floor: float, other: int) -> int:
    """The argmax, or `other` when no topic reaches the floor."""
    topics = np.delete(row, other)
    return other if topic_floor and topics.max() < topic_floor else int(np.argmax(row))


def _aligned(pipeline, texts: list[str]) -> np.ndarray:
    if not texts:
        return np.zeros((0, len(LABELS)))
    return align_probabilities(pipeline.classes_, pipeline.predict_proba(texts), LABELS)


def dev_pages(directory=None, cache=None) -> tuple[pd.DataFrame, list[tuple[pd.Series, str, pd.DataFrame]]]:
    """The dev part's manifest rows and pages: the only real news any choice reads."""
    from triage.corpus.realnews import DEFAULT_SET_DIR, load_manifest, load_pages, select

    directory = directory or DEFAULT_SET_DIR
    pages = load_pages("dev", directory=directory, cache=cache)
    return select(load_manifest(directory), "dev"), pages
