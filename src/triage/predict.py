"""Paragraphs -> labels, articles -> tags, and explanations: the model as people use it."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from triage.errors import UsageError
from triage.ingestion import Article, ingest
from triage.model import ArticleContextModel, align_probabilities, load_model_file
from triage.paths import default_model_path
from triage.tags import (
    DEFAULT_REVIEW_THRESHOLD,
    DEFAULT_TAG_THRESHOLD,
    article_tags,
    needs_review,
    paragraph_labels,
)


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

    @property
    def semantic(self) -> bool:
        """A semantic model (`triage train --semantic`): its card names an encoder."""
        return "encoder" in self.card

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
        predictions = []
        for i, text in enumerate(texts):
            span = article.paragraphs[i] if article is not None else None
            predictions.append(
                ParagraphPrediction(
                    index=i,
                    text=text,
                    label=labels[i],
                    probabilities=_rounded(self.labels, probabilities[i]),
                    needs_review=bool(flags[i]),
                    first_line=span.first_line if span else None,
                    last_line=span.last_line if span else None,
                    own_probabilities=_rounded(self.labels, own[i]) if own is not None else None,
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
        features, classifier = (terms.named_steps[name] for name in ("features", "classify"))
        matrix = features.transform([str(text) for text in texts]).tocsr()
        names = features.get_feature_names_out()
        transformers = dict(features.transformer_list)
        char_analyzer = transformers["chars"].build_analyzer() if "chars" in transformers else None
        unseen = np.zeros(classifier.coef_.shape[1])  # a label the classifier never saw weighs nothing
        weights_of = dict(zip(classifier.classes_, classifier.coef_, strict=True))
        explanations = []
        for row, (column, runner_up_column) in enumerate(zip(label_columns, runner_up_columns, strict=True)):
            label, runner_up = self.labels[column], self.labels[runner_up_column]
            start, end = matrix.indptr[row], matrix.indptr[row + 1]
            indices, values = matrix.indices[start:end], matrix.data[start:end]
            shares = _term_shares(str(texts[row]), [names[i] for i in indices], char_analyzer)
            weights = weights_of.get(label, unseen)[indices]
            explanation = {"terms": _ranked(shares, values * weights, top)}
            if runner_up != label:
                difference = values * (weights - weights_of.get(runner_up, unseen)[indices])
                explanation["runner_up"] = {"label": runner_up, "terms": _ranked(shares, difference, top)}
            explanations.append(explanation)
        return explanations


def _term_shares(text: str, feature_names: list[str], char_analyzer) -> dict[str, list[tuple[int, float]]]:
    """Which term each feature of a paragraph counts for, and with what share: a word n-gram
    is its own term; a `char_wb` n-gram belongs to the words it was cut from (it never
    crosses a word boundary), split by how often each word holds it."""
    shares: dict[str, list[tuple[int, float]]] = defaultdict(list)
    chars: dict[str, int] = {}
    for position, name in enumerate(feature_names):
        kind, _, term = name.partition("__")
        if kind == "chars":
            chars[term] = position
        else:
            shares[term].append((position, 1.0))
    if chars:
        per_word = [
            (_word(token), Counter(g for g in char_analyzer(token) if g in chars)) for token in text.split()
        ]
        totals = Counter()
        for _, grams in per_word:
            totals.update(grams)
        for word, grams in per_word:
            for gram, count in grams.items():
                shares[word].append((chars[gram], count / totals[gram]))
        for gram in set(chars) - set(totals):  # not expected: char_wb n-grams stay inside words
            shares[f"[{gram}]"].append((chars[gram], 1.0))
    return shares


def _ranked(shares: dict[str, list[tuple[int, float]]], contributions: np.ndarray, top: int) -> list[dict]:
    """The `top` terms with the largest positive total contribution, largest first."""
    totals = {
        term: sum(share * float(contributions[i]) for i, share in parts) for term, parts in shares.items()
    }
    ranked = sorted((item for item in totals.items() if item[1] > 0), key=lambda item: (-item[1], item[0]))
    return [{"term": term, "weight": round(total, 4)} for term, total in ranked[:top]]


def _word(token: str) -> str:
    """A whitespace token as a reader names the word: lowercased, edge punctuation dropped."""
    word = re.sub(r"^\W+|\W+$", "", token.lower())
    return word or token.lower()


def _rounded(labels, row) -> dict[str, float]:
    return dict(
        zip(labels, [round(value, 4) for value in np.asarray(row, dtype=float).tolist()], strict=True)
    )


def load_model(path: Path | str | None = None) -> TriageModel:
    """Load the model whose card is at `path` (default: `paths.default_model_path`)."""
    path = Path(path) if path is not None else default_model_path()
    estimator, card = load_model_file(path)
    if not isinstance(estimator, ArticleContextModel):
        from triage.errors import ModelRefused

        raise ModelRefused(
            f"{path}: the model file does not hold a triage article model; retrain with `triage train`"
        )
    return TriageModel(estimator, card, path)
