"""Paragraphs -> labels, articles -> tags, and explanations: the model as people use it."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triage.errors import UsageError
from triage.ingestion import Article, ingest
from triage.model import DEFAULT_MODEL_PATH, ArticleContextModel, align_probabilities, load_model_file
from triage.tags import DEFAULT_REVIEW_THRESHOLD, DEFAULT_TAG_THRESHOLD, article_tags, needs_review

MODEL_ENVIRONMENT_VARIABLE = "TRIAGE_MODEL"


def default_model_path() -> Path:
    return Path(os.environ.get(MODEL_ENVIRONMENT_VARIABLE) or DEFAULT_MODEL_PATH)


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

    def to_dict(self) -> dict:
        data = {"index": self.index, "text": self.text}
        if self.first_line is not None:
            data["lines"] = [self.first_line, self.last_line]
        data.update(label=self.label, probabilities=self.probabilities, needs_review=self.needs_review)
        if self.own_probabilities is not None:
            data["own_probabilities"] = self.own_probabilities
        if self.explanation is not None:
            data["explanation"] = self.explanation
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

    @property
    def short_sha(self) -> str:
        return self.card["model_file"]["sha256"][:12]

    def thresholds(self, context: bool) -> tuple[dict[str, float], float]:
        """(per-label tag thresholds, review threshold) of the in-context or the paragraph
        output: the article model's fitted state (defaults when it was never fitted)."""
        prefix = "" if context else "paragraph_"
        default_tags = {label: DEFAULT_TAG_THRESHOLD for label in self.labels}
        tags = getattr(self.context_model, f"{prefix}tag_thresholds_", default_tags)
        return dict(tags), float(
            getattr(self.context_model, f"{prefix}review_threshold_", DEFAULT_REVIEW_THRESHOLD)
        )

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
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError(f"threshold {threshold} is outside 0..1")
        texts = article.texts
        own = self.paragraph_probabilities(texts)
        title_probabilities = None
        if context and article.title and self.context_model.context_title_weight and len(texts):
            title_probabilities = self.paragraph_probabilities([article.title])[0]
        final = self.context_model.contextualise(own, title_probabilities) if context and len(texts) else own
        tag_thresholds, review_threshold = self.thresholds(context)
        paragraphs = self._paragraphs(
            texts, final, review_threshold, explain=explain, own=own if context else None, article=article
        )
        tags = article_tags(final, self.labels, threshold if threshold is not None else tag_thresholds)
        if article.mostly_foreign:
            tags = []  # the paragraphs that remain are a fragment of an article the model cannot read
        dropped = [{"line": line.line, "rule": line.rule, "text": line.text} for line in article.dropped]
        return ArticlePrediction(article.title, tags, paragraphs, context, dropped, article.mostly_foreign)

    def _paragraphs(self, texts, probabilities, review_threshold, *, explain, own=None, article=None):
        flags = needs_review(probabilities, review_threshold) if len(texts) else []
        explanations = (
            self.explain(texts, [int(i) for i in np.argmax(probabilities, axis=1)]) if explain else None
        )
        predictions = []
        for i, text in enumerate(texts):
            span = article.paragraphs[i] if article is not None else None
            predictions.append(
                ParagraphPrediction(
                    index=i,
                    text=text,
                    label=self.labels[int(np.argmax(probabilities[i]))],
                    probabilities=_rounded(self.labels, probabilities[i]),
                    needs_review=bool(flags[i]),
                    first_line=span.first_line if span else None,
                    last_line=span.last_line if span else None,
                    own_probabilities=_rounded(self.labels, own[i]) if own is not None else None,
                    explanation=explanations[i] if explanations is not None else None,
                )
            )
        return predictions

    def explain(self, texts: Sequence[str], label_columns: Sequence[int], top: int = 6) -> list[list[dict]]:
        """The terms that pushed each paragraph towards its label most: TF-IDF value x weight."""
        features, classifier = (self.pipeline.named_steps[name] for name in ("features", "classify"))
        matrix = features.transform([str(text) for text in texts]).tocsr()
        names = features.get_feature_names_out()
        classes = list(classifier.classes_)
        explanations = []
        for row, column in enumerate(label_columns):
            if self.labels[column] not in classes:
                explanations.append([])
                continue
            weights = classifier.coef_[classes.index(self.labels[column])]
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            indices, values = matrix.indices[start:end], matrix.data[start:end]
            contributions = values * weights[indices]
            order = np.argsort(-contributions)[:top]
            explanations.append(
                [
                    {"term": _term(names[indices[i]]), "weight": round(float(contributions[i]), 4)}
                    for i in order
                    if contributions[i] > 0
                ]
            )
        return explanations


def _term(feature_name: str) -> str:
    kind, _, term = feature_name.partition("__")
    return f"[{term}]" if kind == "chars" else term


def _rounded(labels, row) -> dict[str, float]:
    return dict(
        zip(labels, [round(value, 4) for value in np.asarray(row, dtype=float).tolist()], strict=True)
    )


def load_model(path: Path | str | None = None) -> TriageModel:
    """Load the model whose card is at `path` (default: $TRIAGE_MODEL or models/triage.json)."""
    path = Path(path) if path is not None else default_model_path()
    estimator, card = load_model_file(path)
    if not isinstance(estimator, ArticleContextModel):
        from triage.errors import ModelRefused

        raise ModelRefused(
            f"{path}: the model file does not hold a triage article model; retrain with `triage train`"
        )
    return TriageModel(estimator, card, path)
