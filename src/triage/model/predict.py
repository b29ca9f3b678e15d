"""Paragraphs -> labels, articles -> tags, and explanations: the model as people use it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from triage.errors import UsageError
from triage.ingestion.article import Article, ingest
from triage.model.card import load_model_file
from triage.model.context import ArticleContextModel
from triage.model.explanations import TermAttribution
from triage.model.pipeline import align_probabilities
from triage.model.tags import (
    articles_tags,
    needs_review,
    paragraph_labels,
)
from triage.paths import default_model_path


@dataclass
class ParagraphPrediction:
    index: int
    text: str
    label: str
    probabilities: dict[str, float]
    needs_review: bool
    first_line: int | None = None
    last_line: int | None = None
    own_probabilities: dict[str, float] | None = None  # before article context, when context was used
    explanation: list[dict] | None = None
    runner_up: dict | None = None  # with explain: {"label", "terms"} favouring `label` over it

    def to_dict(self) -> dict:
        data = {"index": self.index, "text": self.text}
        if self.first_line is not None:
            data["lines"] = [self.first_line, self.last_line]
        data.update(label=self.label, probabilities=self.probabilities, needs_review=self.needs_review)
        if self.own_probabilities is not None:
            data["own_probabilities"] = self.own_probabilities
        if self.explanation is not None:
            data["explanation"] = self.explanation
        if self.runner_up is not None:
            data["runner_up"] = self.runner_up
        return data


@dataclass
class ArticlePrediction:
    title: str | None
    tags: list[dict]
    paragraphs: list[ParagraphPrediction]
    context: bool
    dropped: list[dict] = field(default_factory=list)
    mostly_foreign: bool = False

    @property
    def labels(self) -> list[str]:
        return [paragraph.label for paragraph in self.paragraphs]


class TriageModel:
    """A loaded model: the paragraph pipeline, its article-context wrapper and its card."""

    def __init__(self, estimator: ArticleContextModel, card: dict, path: Path | None = None):
        self.context_model = estimator
        self.pipeline = estimator.paragraph_model
        self.card = card
        self.path = path
        self.labels: list[str] = list(card["labels"])
        # Chosen on real-news dev; cards written before it was a setting mean plain argmax.
        self.topic_floor = float(card.get("settings", {}).get("topic_floor", 0.0))
        self._term_attribution: TermAttribution | None = None  # built by the first explanation

    @property
    def semantic(self) -> bool:
        """A semantic model (`triage train --semantic`): its card names an encoder."""
        return "encoder" in self.card

    @property
    def short_sha(self) -> str:
        """The model file's sha256, first 12 digits (a saved model's: its card names the file)."""
        return self.card["model_file"]["sha256"][:12]

    def thresholds(self, context: bool) -> tuple[dict[str, float], float]:
        """(per-label tag thresholds, review threshold) of the in-context or the paragraph
        output: the article model's fitted state."""
        fitted = self.context_model
        check_is_fitted(fitted)
        if context:
            return dict(fitted.tag_thresholds_), float(fitted.review_threshold_)
        return dict(fitted.paragraph_tag_thresholds_), float(fitted.paragraph_review_threshold_)

    def paragraph_probabilities(self, texts: Sequence[str]) -> np.ndarray:
        """Context-free probabilities, columns in `self.labels` order."""
        if len(texts) == 0:
            return np.zeros((0, len(self.labels)))
        probabilities = self.pipeline.predict_proba([str(text) for text in texts])
        return align_probabilities(self.pipeline.classes_, probabilities, self.labels)

    def predict_paragraphs(self, texts: Sequence[str], explain: bool = False) -> list[ParagraphPrediction]:
        """Each text labelled as one paragraph on its own (no article context)."""
        probabilities = self.paragraph_probabilities(texts)
        _, review_threshold = self.thresholds(context=False)
        return self._paragraphs(list(texts), probabilities, review_threshold, explain=explain)

    def predict_article(
        self, text: str, *, context: bool = True, threshold: float | None = None, explain: bool = False
    ) -> ArticlePrediction:
        """Ingest a scraped article, label its paragraphs (in context), tag the article."""
        return self.predict_ingested(ingest(text), context=context, threshold=threshold, explain=explain)

    def predict_ingested(
        self, article: Article, *, context: bool = True, threshold: float | None = None, explain: bool = False
    ) -> ArticlePrediction:
        """One ingested article: its paragraphs labelled in context, the article tagged."""
        return self.predict_articles([article], context=context, threshold=threshold, explain=explain)[0]

    def predict_articles(
        self,
        articles: Sequence[Article],
        *,
        context: bool = True,
        threshold: float | None = None,
        explain: bool = False,
    ) -> list[ArticlePrediction]:
        """`predict_ingested` for many articles at once, with the same output: one pipeline
        call for all their paragraphs (and one for their titles), the article context for
        all rows together (`ArticleContextModel.contextualise_stacked`), one explanation
        pass for the whole chunk."""
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError(f"threshold {threshold} is outside 0..1")
        lengths = [len(article.paragraphs) for article in articles]
        texts = [text for article in articles for text in article.texts]
        own = self.paragraph_probabilities(texts)
        final = own
        if context and len(texts):
            final = self.context_model.contextualise_stacked(
                own, lengths, self._title_probabilities(articles)
            )
        tag_thresholds, review_threshold = self.thresholds(context)
        paragraphs = self._paragraphs(
            texts,
            final,
            review_threshold,
            explain=explain,
            own=own if context else None,
            spans=[span for article in articles for span in article.paragraphs],
        )
        tags_of = articles_tags(
            final, lengths, self.labels, threshold if threshold is not None else tag_thresholds
        )
        predictions, start = [], 0
        for article, length, tags in zip(articles, lengths, tags_of, strict=True):
            rows = slice(start, start + length)
            start += length
            if article.mostly_foreign:
                tags = []  # the paragraphs that remain are a fragment of an article the model cannot read
            dropped = [{"line": line.line, "rule": line.rule, "text": line.text} for line in article.dropped]
            predictions.append(
                ArticlePrediction(
                    article.title, tags, paragraphs[rows], context, dropped, article.mostly_foreign
                )
            )
        return predictions

    def _title_probabilities(self, articles: Sequence[Article]) -> list[np.ndarray | None] | None:
        """Each article's title row (None without a title or paragraphs), in one pipeline
        call; None when the model gives titles no weight."""
        if not self.context_model.context_title_weight:
            return None
        titled = [i for i, article in enumerate(articles) if article.title and article.paragraphs]
        rows = self.paragraph_probabilities([articles[i].title for i in titled])
        titles: list[np.ndarray | None] = [None] * len(articles)
        for i, row in zip(titled, rows, strict=True):
            titles[i] = row
        return titles

    def _paragraphs(self, texts, probabilities, review_threshold, *, explain, own=None, spans=None):
        """ParagraphPrediction of each row; with `spans` (the ingested paragraphs), each
        numbered within its article and given its lines."""
        flags = needs_review(probabilities, review_threshold) if len(texts) else []
        # The floor was chosen for the in-context output (`own` is given exactly then).
        floor = self.topic_floor if own is not None else 0.0
        labels = paragraph_labels(probabilities, self.labels, floor) if len(texts) else []
        explanations = None
        if explain and len(texts):
            chosen = [self.labels.index(label) for label in labels]
            ranked = np.argsort(-probabilities, axis=1, kind="stable")
            runner_up = [
                int(row[1] if row[0] == column else row[0])
                for row, column in zip(ranked, chosen, strict=True)
            ]
            explanations = self.explain_against_runner_up(texts, chosen, runner_up)
        rounded = _rounded_rows(self.labels, probabilities)
        rounded_own = _rounded_rows(self.labels, own) if own is not None else None
        predictions = []
        for i, text in enumerate(texts):
            span = spans[i] if spans is not None else None
            predictions.append(
                ParagraphPrediction(
                    index=span.index if span else i,
                    text=text,
                    label=labels[i],
                    probabilities=rounded[i],
                    needs_review=bool(flags[i]),
                    first_line=span.first_line if span else None,
                    last_line=span.last_line if span else None,
                    own_probabilities=rounded_own[i] if rounded_own is not None else None,
                    explanation=explanations[i]["terms"] if explanations is not None else None,
                    runner_up=explanations[i].get("runner_up") if explanations is not None else None,
                )
            )
        return predictions

    def explain(self, texts: Sequence[str], label_columns: Sequence[int], top: int = 6) -> list[list[dict]]:
        """The words and phrases that pushed each paragraph towards its label most, ranked by
        their total contribution (TF-IDF value x weight; a word's character n-grams count
        for the word): [{"term", "weight"}, ...] per paragraph."""
        return [
            explanation["terms"]
            for explanation in self.explain_against_runner_up(texts, label_columns, label_columns, top)
        ]

    def explain_against_runner_up(
        self,
        texts: Sequence[str],
        label_columns: Sequence[int],
        runner_up_columns: Sequence[int],
        top: int = 6,
    ) -> list[dict]:
        """Per paragraph: `terms` for its label (as `explain`) and `runner_up`: the label it
        nearly got and the terms whose weights favour the chosen label over it most
        (contribution to the chosen label minus contribution to the runner-up)."""
        # A semantic model's terms are those of its TF-IDF half (an embedding has no terms).
        terms = getattr(self.pipeline, "term_model_", self.pipeline)
        attribution = self._term_attribution  # worked out once per model (triage.model.explanations)
        if attribution is None or attribution.pipeline is not terms:
            self._term_attribution = TermAttribution(terms, self.labels)
        return self._term_attribution.explain(texts, label_columns, runner_up_columns, top)


def _rounded_rows(labels, rows) -> list[dict[str, float]]:
    """Each row as {label: probability rounded to 4 places} (Python's round, as the records
    have always been written)."""
    return [
        dict(zip(labels, [round(value, 4) for value in row], strict=True))
        for row in np.asarray(rows, dtype=float).tolist()
    ]


def _is_fitted(estimator) -> bool:
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return False
    return True


def load_model(path: Path | str | None = None) -> TriageModel:
    """Load the model whose card is at `path` (default: `paths.default_model_path`)."""
    path = Path(path) if path is not None else default_model_path()
    estimator, card = load_model_file(path)
    if not isinstance(estimator, ArticleContextModel) or not _is_fitted(estimator):
        from triage.errors import ModelRefused

        raise ModelRefused(
            f"{path}: the model file does not hold a fitted triage article model; retrain with `triage train`"
        )
    return TriageModel(estimator, card, path)
