"""An article's paragraphs read together: ArticleContextModel mixes each paragraph's probabilities with its article's and its title's, then tempers them."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative, check_X_y

from triage.model.pipeline import Settings
from triage.model.tags import NOT_A_TAG, choose_review_threshold, choose_tag_thresholds


def temper(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities raised to 1/temperature and renormalised (T > 1 softens, T < 1 sharpens)."""
    if temperature == 1.0:
        return probabilities
    powered = np.power(np.clip(probabilities, 1e-12, 1.0), 1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


# The in-context output's own calibration: the temperature on this grid that minimises the
# log loss of the out-of-fold in-context probabilities (1.0 when it does not help).
# Kept as a grid rather than scipy.optimize.minimize_scalar, measured: on the 3,771 labelled
# paragraphs (the committed model's paragraph probabilities) the bounded optimum (T 0.363 against
# the grid's 0.354) lowers the log loss by 6e-5 (0.075 -> 0.075) in 12 evaluations instead of
# 42, but moves probabilities by up to 0.011; every model's outputs would change for no
# measurable gain, the logged real-news test figures (matched on the settings hash) would no
# longer describe the model that carries them, and "1.0 unless it helps" is a tie rule a
# continuous optimiser has no place for.
TEMPERATURE_GRID = tuple(round(float(t), 3) for t in np.exp(np.linspace(np.log(0.25), np.log(4.0), 41)))


def choose_temperature(gold, probabilities: np.ndarray, labels) -> float:
    """The temperature rule above, on out-of-fold probabilities (columns in `labels` order)."""
    columns = np.array([list(labels).index(label) for label in gold])

    def log_loss(temperature: float) -> float:
        tempered = temper(probabilities, temperature)
        return float(-np.mean(np.log(np.clip(tempered[np.arange(len(columns)), columns], 1e-12, 1.0))))

    return min((*TEMPERATURE_GRID, 1.0), key=lambda t: (round(log_loss(t), 6), abs(np.log(t))))


class ArticleContextModel(BaseEstimator):
    """Label paragraphs in the light of their article, around an unchanged paragraph model.

    p'(paragraph) is proportional to p + lambda * (mean p of the article) + window * (mean p of
    the neighbouring paragraphs) + title_weight * p(title), with p(`other_label`) scaled by
    `other_weight` (on real news a paragraph with a weak topic is still topical far more often
    than clean training text suggests), renormalised, then recalibrated by the fitted
    temperature (p'^(1/T), renormalised). A standalone paragraph is an article of one: its
    mean is itself.

    Like scikit-learn's `CalibratedClassifierCV(cv="prefit")`, the paragraph model comes
    fitted; `fit` learns only the post-hoc state from out-of-fold paragraph probabilities of
    whole articles (columns in `labels` order). Fitted attributes: `classes_` (the output's
    columns: `labels`, or the sorted labels of `y` when `labels` is None), `temperature_`,
    and the tag and review thresholds of the in-context output (`tag_thresholds_`,
    `review_threshold_`) and of the paragraph model alone (`paragraph_tag_thresholds_`,
    `paragraph_review_threshold_`). The defaults are the chosen settings (`Settings`).

    The mixing alone (`temper_output=False`) needs only the parameters; everything that
    uses fitted state raises scikit-learn's NotFittedError before `fit`.
    """

    def __init__(
        self,
        paragraph_model=None,
        context_lambda: float = Settings.context_lambda,
        context_window: float = Settings.context_window,
        context_title_weight: float = Settings.context_title_weight,
        other_weight: float = Settings.other_weight,
        labels: tuple[str, ...] | None = None,
        other_label: str = NOT_A_TAG,
    ):
        self.paragraph_model = paragraph_model
        self.context_lambda = context_lambda
        self.context_window = context_window
        self.context_title_weight = context_title_weight
        self.other_weight = other_weight
        self.labels = labels
        self.other_label = other_label

    def __setstate__(self, state):
        # Model files written before `other_label` and `classes_` existed (card schema 5 all
        # along: the same file format) were fitted with `other` and with `labels` given.
        state = {"other_label": NOT_A_TAG, **state}
        if "temperature_" in state and "classes_" not in state:
            state["classes_"] = np.asarray(state["labels"])
        super().__setstate__(state)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True  # its input is probabilities
        return tags

    def fit(self, probabilities, y, groups=None, title_probabilities=None, standalone=None):
        """Learn the post-hoc state from out-of-fold paragraph probabilities (rows in paragraph
        order within each article; `groups` names each row's article, None: every row is a
        paragraph of no article). Rows marked in `standalone` are paragraphs of no article:
        they count for the temperature and the review threshold, not for the tag thresholds."""
        probabilities, y = check_X_y(probabilities, y, dtype=float)
        check_non_negative(probabilities, "ArticleContextModel.fit")
        classes = np.unique(y) if self.labels is None else np.asarray(self.labels)
        if probabilities.shape[1] != len(classes):
            raise ValueError(
                f"probabilities have {probabilities.shape[1]} columns, the model's labels are {len(classes)}"
            )
        if not np.isin(y, classes).all():
            raise ValueError(f"y holds labels outside {list(classes)}")
        self.classes_ = classes
        self.n_features_in_ = probabilities.shape[1]
        if groups is None:
            groups, standalone = np.arange(len(y)), np.ones(len(y), dtype=bool)
        groups = np.asarray(groups)
        in_articles = (
            np.ones(len(y), dtype=bool) if standalone is None else ~np.asarray(standalone, dtype=bool)
        )
        untempered = self.contextualise_articles(
            probabilities, groups, title_probabilities, temper_output=False
        )
        self.temperature_ = choose_temperature(y, untempered, self.classes_)
        in_context = temper(untempered, self.temperature_)
        self.tag_thresholds_, self.review_threshold_ = self._thresholds(in_context, y, groups, in_articles)
        self.paragraph_tag_thresholds_, self.paragraph_review_threshold_ = self._thresholds(
            probabilities, y, groups, in_articles
        )
        return self

    def _thresholds(self, output, y, groups, in_articles) -> tuple[dict[str, float], float]:
        """(per-label tag thresholds, review threshold) of one output, from out-of-fold rows."""
        articles = [(list(y[groups == g]), output[groups == g]) for g in dict.fromkeys(groups[in_articles])]
        predicted = self.classes_[np.argmax(output, axis=1)]
        labels = self.classes_.tolist()  # str keys, not numpy.str_ (JSON card, allowlist)
        return (
            choose_tag_thresholds(articles, labels, not_a_tag=self.other_label),
            choose_review_threshold(predicted == y, output.max(axis=1)),
        )

    def predict_proba(self, probabilities, groups=None):
        """In-context probabilities (columns: `classes_`) of paragraph probabilities, each
        article in `groups` (None: every row a paragraph of no article)."""
        check_is_fitted(self)
        probabilities = check_array(probabilities, dtype=float)
        check_non_negative(probabilities, "ArticleContextModel.predict_proba")
        self._check_columns(probabilities)
        return self.contextualise_articles(
            probabilities, np.arange(len(probabilities)) if groups is None else groups
        )

    def predict(self, probabilities, groups=None):
        """The label of each row: the most probable of `predict_proba`."""
        in_context = self.predict_proba(probabilities, groups)
        return self.classes_[np.argmax(in_context, axis=1)]

    def _check_columns(self, probabilities: np.ndarray) -> None:
        if probabilities.shape[1] != len(self.classes_):
            raise ValueError(
                f"X has {probabilities.shape[1]} features, but ArticleContextModel is expecting "
                f"{len(self.classes_)} features as input"
            )

    def _output_labels(self) -> list[str]:
        """The columns of what is mixed: `classes_` once fitted, `labels` for the mixing alone."""
        if hasattr(self, "classes_"):
            return self.classes_.tolist()
        return list(self.labels or ())

    def contextualise_articles(self, probabilities, groups, title_probabilities=None, temper_output=True):
        """`contextualise` applied to each article of a stack of rows (`groups`: article ids)."""
        if temper_output:
            check_is_fitted(self)
        probabilities, groups = np.asarray(probabilities, dtype=float), np.asarray(groups)
        mixed = np.array(probabilities, copy=True)
        for group in dict.fromkeys(groups):
            rows = groups == group
            title = (title_probabilities or {}).get(group)
            mixed[rows] = self.contextualise(probabilities[rows], title, temper_output=temper_output)
        return mixed

    def contextualise(
        self,
        probabilities: np.ndarray,
        title_probabilities: np.ndarray | None = None,
        temper_output: bool = True,
    ) -> np.ndarray:
        """In-context probabilities for one article's paragraph probabilities (rows)."""
        if temper_output:
            check_is_fitted(self)
        mixed = self._mix(np.asarray(probabilities, dtype=float), title_probabilities)
        return temper(mixed, self.temperature_) if temper_output and len(mixed) else mixed

    def _mix(self, probabilities: np.ndarray, title_probabilities: np.ndarray | None) -> np.ndarray:
        """The renormalised mix of one article's rows, before the temperature."""
        if len(probabilities) == 0:
            return probabilities
        mixed = probabilities + self.context_lambda * probabilities.mean(axis=0, keepdims=True)
        if self.context_window:
            padded = np.vstack([probabilities[:1] * 0, probabilities, probabilities[:1] * 0])
            counts = np.array([(i > 0) + (i < len(probabilities) - 1) for i in range(len(probabilities))])
            neighbours = (padded[:-2] + padded[2:]) / np.maximum(counts, 1)[:, None]
            mixed = mixed + self.context_window * neighbours
        if self.context_title_weight and title_probabilities is not None:
            mixed = mixed + self.context_title_weight * np.asarray(title_probabilities, dtype=float).reshape(
                1, -1
            )
        if self.other_weight != 1.0:
            mixed[:, self._output_labels().index(self.other_label)] *= self.other_weight
        return mixed / mixed.sum(axis=1, keepdims=True)

    def contextualise_stacked(
        self,
        probabilities: np.ndarray,
        lengths,
        title_probabilities: list[np.ndarray | None] | None = None,
    ) -> np.ndarray:
        """`contextualise` for many articles at once: `probabilities` holds their paragraphs'
        rows one article after the other, `lengths` how many rows each has (0 for an article
        without paragraphs), `title_probabilities` one row or None per article. Each step
        is one array operation over all rows, and gives exactly the numbers `contextualise`
        gives article by article (the same operations, in the same order, on each row)."""
        check_is_fitted(self)
        probabilities = np.asarray(probabilities, dtype=float)
        lengths = np.asarray(lengths, dtype=np.int64)
        if len(probabilities) == 0:
            return probabilities
        article_of_row = np.repeat(np.arange(len(lengths)), lengths)
        starts = (np.cumsum(lengths) - lengths)[lengths > 0]
        ends = starts + lengths[lengths > 0] - 1
        mixed = probabilities.copy()
        if self.context_lambda:  # numpy's mean sums in its own order: taken per article, as there
            means = [
                probabilities[start : end + 1].mean(axis=0, keepdims=True)
                for start, end in zip(starts, ends, strict=True)
            ]
            mixed = probabilities + self.context_lambda * np.repeat(
                np.vstack(means), lengths[lengths > 0], axis=0
            )
        if self.context_window:
            before, after = np.zeros_like(probabilities), np.zeros_like(probabilities)
            before[1:], after[:-1] = probabilities[:-1], probabilities[1:]
            before[starts], after[ends] = 0.0, 0.0  # an article's first and last rows have one neighbour
            counts = np.full(len(probabilities), 2)
            counts[starts] -= 1
            counts[ends] -= 1
            neighbours = (before + after) / np.maximum(counts, 1)[:, None]
            mixed = mixed + self.context_window * neighbours
        if self.context_title_weight and title_probabilities is not None:
            titled = np.array([title is not None for title in title_probabilities], dtype=bool)
            if titled.any():
                rows = titled[article_of_row]
                titles = np.zeros((len(lengths), probabilities.shape[1]))
                titles[titled] = [
                    np.asarray(title, dtype=float).reshape(-1)
                    for title in title_probabilities
                    if title is not None
                ]
                mixed[rows] = mixed[rows] + self.context_title_weight * titles[article_of_row[rows]]
        if self.other_weight != 1.0:
            mixed[:, list(self.classes_).index(self.other_label)] *= self.other_weight
        mixed = mixed / mixed.sum(axis=1, keepdims=True)
        return temper(mixed, self.temperature_)
