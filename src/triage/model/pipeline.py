"""The paragraph classifier as one scikit-learn `Pipeline`, and its card + model file.

A model is two files: a JSON card that people and programs can read (labels, settings,
thresholds, training data hashes, scores, versions) and a content-addressed skops file
beside it, named and hashed by the card. Loading never runs code from the file: the card
must name a `.skops` file whose sha256 matches, and every type the file would build must
be on ALLOWED_TYPES below, checked with skops before anything is built.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.utils.validation import check_array, check_is_fitted, check_non_negative, check_X_y

from triage.atomic import atomic_write_bytes, atomic_write_text
from triage.errors import ModelRefused
from triage.model.tags import NOT_A_TAG, choose_review_threshold, choose_tag_thresholds

CARD_FORMAT = "triage-model-card/1"
# Bumped whenever the card or the estimator changes shape: a card of another schema is
# refused (and retrained by `triage train --if-stale`, which `make run` uses).
CARD_SCHEMA = 5
DEFAULT_MODEL_PATH = Path("models/triage.json")
MODEL_FILE_PATTERN = re.compile(r"^triage\.[0-9a-f]{12}\.skops$")


@dataclass(frozen=True)
class Settings:
    """Every hyperparameter of the pipeline; the card records them all.

    The defaults are the settings chosen on the real-news dev part by the decision rule
    (README, "Choosing on real news"; scripts/choose_realnews.py, its table in
    benchmarks/results/realnews_choices.json). Name masking, number tokens and a cue lexicon
    were measured in earlier rounds and left the package (git history keeps them).
    """

    word_ngrams: tuple[int, int] = (1, 2)
    # Character n-grams (char_wb 2-5) scored +0.008 [-0.017, +0.034] on real-news dev at
    # twice the cost: the cheaper word model stays (README, "Choosing on real news").
    char_ngrams: tuple[int, int] | None = None
    sublinear_tf: bool = True
    stop_words: str | None = None
    min_df: int = 2
    max_df: float = 0.9
    C: float = 4.0
    class_weight: str | None = "balanced"
    # Article context (see ArticleContextModel): weight of the article mean, of the
    # neighbouring paragraphs' mean, and of the title's probabilities.
    context_lambda: float = 0.0
    context_window: float = 0.6
    context_title_weight: float = 0.0
    other_weight: float = 1.0
    # Chosen on real-news dev (README, "Choosing on real news"): one tag threshold for every
    # topic and the review threshold of the in-context output. None: fitted per label from
    # out-of-fold predictions of the training articles, as before real news was measured.
    tag_threshold: float | None = None
    review_threshold: float | None = 0.75
    # A paragraph none of whose topics reaches this probability is `other` (0: plain argmax).
    topic_floor: float = 0.4
    # The semantic model (`triage train --semantic`, the `semantic` extra): the weight of the
    # sentence-embedding model's probabilities beside the TF-IDF model's, and the inverse
    # regularisation of its logistic regression. None: the TF-IDF model alone.
    sentence_weight: float | None = None
    sentence_C: float = 16.0
    random_state: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        converted = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        return cls(**converted)

    def replace(self, **changes: Any) -> Settings:
        return Settings.from_dict({**self.to_dict(), **changes})


def build_pipeline(settings: Settings = Settings(), vectorizer=None) -> Pipeline:
    """Text in, label probabilities out: TF-IDF of words and characters -> classifier.

    `vectorizer` (default: features.FastTfidfVectorizer) is the TF-IDF class; tests pass
    scikit-learn's own to show that ours gives the same probabilities."""
    features = [
        ("words", _tfidf(settings, "word", settings.word_ngrams, vectorizer)),
    ]
    if settings.char_ngrams:
        features.append(("chars", _tfidf(settings, "char_wb", settings.char_ngrams, vectorizer)))
    return Pipeline([("features", FeatureUnion(features)), ("classify", classifier(settings, settings.C))])


def classifier(settings: Settings, C: float) -> LogisticRegression:
    """The logistic regression of a paragraph model (TF-IDF's, or the sentence model's)."""
    return LogisticRegression(
        C=C, class_weight=settings.class_weight, max_iter=3000, random_state=settings.random_state
    )


def _tfidf(settings: Settings, analyzer: str, ngram_range, vectorizer=None):
    from triage.model.features import FastTfidfVectorizer

    return (vectorizer or FastTfidfVectorizer)(
        analyzer=analyzer,
        ngram_range=tuple(ngram_range),
        sublinear_tf=settings.sublinear_tf,
        stop_words=settings.stop_words if analyzer == "word" else None,
        min_df=settings.min_df,
        max_df=settings.max_df,
        lowercase=True,
        dtype=np.float32,
    )


def align_probabilities(classes, probabilities: np.ndarray, labels) -> np.ndarray:
    """Probability columns in `labels` order; a label the model never saw gets 0."""
    aligned = np.zeros((probabilities.shape[0], len(labels)))
    position = {label: i for i, label in enumerate(classes)}
    for column, label in enumerate(labels):
        if label in position:
            aligned[:, column] = probabilities[:, position[label]]
    return aligned


def fit_pipeline(settings: Settings, texts, labels):
    """The fitted paragraph model for `settings`: the TF-IDF pipeline, or with a
    `sentence_weight` the semantic model around it (triage.model.semantic)."""
    if settings.sentence_weight is not None:
        from triage.model.semantic import fit_semantic_model

        return fit_semantic_model(settings, list(texts), list(labels))
    return build_pipeline(settings).fit(list(texts), list(labels))


def temper(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities raised to 1/temperature and renormalised (T > 1 softens, T < 1 sharpens)."""
    if temperature == 1.0:
        return probabilities
    powered = np.power(np.clip(probabilities, 1e-12, 1.0), 1.0 / temperature)
    return powered / powered.sum(axis=1, keepdims=True)


# The in-context output's own calibration: the temperature on this grid that minimises the
# log loss of the out-of-fold in-context probabilities (1.0 when it does not help).
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


# --- the allowlist ----------------------------------------------------------------------
# Every type a triage model file contains, no more (tests/test_model.py compares this list
# with the schema of a trained file, both ways). Loading refuses a file that would build
# any other type, before skops builds anything: the types skops trusts by its own defaults
# (every scikit-learn estimator, OrderedDict, ...) too, not only those it distrusts.
ALLOWED_TYPES = frozenset(
    {
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.tuple",
        "numpy.float32",
        "numpy.ndarray",
        "sklearn.feature_extraction.text.TfidfTransformer",
        "sklearn.linear_model._logistic.LogisticRegression",
        "sklearn.pipeline.FeatureUnion",
        "sklearn.pipeline.Pipeline",
        "triage.model.features.FastTfidfVectorizer",
        "triage.model.pipeline.ArticleContextModel",
    }
)


def sha256_file(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def dumps_model(model) -> bytes:
    import skops.io as sio

    return sio.dumps(model_file_content(model))


def model_file_content(model):
    """What the model file holds: the model itself, except that a paragraph model which
    brings code of another package (the semantic model's encoder) is replaced by its
    `model_file_parts()`, types the allowlist already has; loading rebuilds it."""
    parts = getattr(getattr(model, "paragraph_model", None), "model_file_parts", None)
    if parts is None:
        return model
    stored = copy.copy(model)
    stored.paragraph_model = parts()
    return stored


# --- saving: new model file, then the card (the commit point), then the old file goes ---
def _write_model_file(directory: Path, data: bytes) -> Path:
    digest = hashlib.sha256(data).hexdigest()
    path = directory / f"triage.{digest[:12]}.skops"
    if not (path.exists() and sha256_file(path) == digest):
        atomic_write_bytes(path, data)
    return path


def _commit_card(card_path: Path, card: dict) -> None:
    atomic_write_text(card_path, json.dumps(card, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def _remove_stale_model_file(directory: Path, stale_name: str | None, kept_names: set[str]) -> None:
    if stale_name and stale_name not in kept_names and MODEL_FILE_PATTERN.match(stale_name):
        (directory / stale_name).unlink(missing_ok=True)


def save_model(model, card: dict, card_path: Path | str = DEFAULT_MODEL_PATH) -> dict:
    """Save `model` and its card; a kill at any moment leaves the old or the new model loadable.

    The model file the card named until now stays until the next save (the card records it
    as `previous_model_file`): a `predict` that read the old card a moment before this save
    still finds the file it names. The one before it goes."""
    card_path = Path(card_path)
    directory = card_path.parent
    directory.mkdir(parents=True, exist_ok=True)
    current_name, previous_name = _model_file_names(card_path)
    data = dumps_model(model)
    model_path = _write_model_file(directory, data)
    kept = current_name if current_name != model_path.name else previous_name
    card = {
        **card,
        "format": CARD_FORMAT,
        "schema": CARD_SCHEMA,
        "model_file": {"name": model_path.name, "sha256": hashlib.sha256(data).hexdigest()},
        "previous_model_file": kept,
    }
    _commit_card(card_path, card)
    for stale_name in (current_name, previous_name):
        _remove_stale_model_file(directory, stale_name, {model_path.name, kept})
    return card


def _model_file_names(card_path: Path) -> tuple[str | None, str | None]:
    """(the model file the card at `card_path` names, the one it kept from the save before)."""
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        return card["model_file"]["name"], card.get("previous_model_file")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None, None


# --- loading ------------------------------------------------------------------------------
RETRAIN = "retrain with `triage train`"


def read_card(card_path: Path | str) -> dict:
    """The card at `card_path`, or ModelRefused saying why it is not one."""
    card_path = Path(card_path)
    if not card_path.exists():
        raise ModelRefused(f"no model at {card_path}: {RETRAIN} (or pass --model / set TRIAGE_MODEL)")
    if card_path.is_dir():
        raise ModelRefused(
            f"{card_path} is a directory, not a model card (the JSON file `triage train` writes)"
        )
    try:
        with open(card_path, encoding="utf-8") as stream:
            card = json.loads(stream.read(1 << 22))
    except (UnicodeDecodeError, ValueError):
        raise ModelRefused(
            f"{card_path} is not a triage model card (expected the JSON card `triage train` writes)"
        ) from None
    except OSError as exc:
        raise ModelRefused(f"cannot read model card {card_path}: {exc.strerror}") from None
    if not isinstance(card, dict) or card.get("format") != CARD_FORMAT:
        raise ModelRefused(f"{card_path} is not a triage model card (no format {CARD_FORMAT!r})")
    return card


def load_model_file(card_path: Path | str) -> tuple[Any, dict]:
    """The estimator a card names, after checking its name, hash, versions and types."""
    card_path = Path(card_path)
    card = read_card(card_path)
    model_file = card.get("model_file") or {}
    name = str(model_file.get("name", ""))
    if not MODEL_FILE_PATTERN.match(name):
        raise ModelRefused(f"{card_path}: model file {name!r} is not a triage .skops file; {RETRAIN}")
    path = card_path.parent / name
    if not path.is_file():
        raise ModelRefused(f"{card_path}: its model file {name} is missing; {RETRAIN}")
    try:
        data = path.read_bytes()  # read once: these bytes are hashed, audited and loaded
    except OSError as exc:
        raise ModelRefused(f"cannot read model file {path}: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != model_file.get("sha256"):
        raise ModelRefused(
            f"{path}: bytes differ from the sha256 its card records (changed or truncated); {RETRAIN}"
        )
    _check_versions(card, card_path)
    if "encoder" in card:  # the semantic model: the encoder comes from the installed package
        from triage.model.semantic import check_encoder, restore

        check_encoder(card["encoder"], card_path)
        return restore(_load_skops(data, path), card, card_path), card
    estimator = _load_skops(data, path)
    if isinstance(getattr(estimator, "paragraph_model", None), dict):
        raise ModelRefused(
            f"{card_path}: its model file holds a semantic model but the card names no encoder"
        )
    return estimator, card


def stale_reason(card_path: Path | str) -> str | None:
    """Why the model at `card_path` must be retrained (missing, unreadable, another card
    schema or scikit-learn minor, another encoder than the installed one), or None when it is
    current. Cheap: reads only the card (and hashes a semantic model's encoder file)."""
    try:
        card = read_card(card_path)
        _check_versions(card, Path(card_path))
        if "encoder" in card:
            from triage.model.semantic import check_encoder

            check_encoder(card["encoder"], card_path)
    except ModelRefused as exc:
        return str(exc)
    return None


def _check_versions(card: dict, card_path: Path) -> None:
    import sklearn

    if card.get("schema") != CARD_SCHEMA:
        raise ModelRefused(
            f"{card_path}: card schema {card.get('schema', 1)}, this triage reads schema {CARD_SCHEMA} "
            f"(the model was written by another version); {RETRAIN}"
        )
    trained = str(card.get("versions", {}).get("scikit-learn", ""))
    if trained.split(".")[:2] != sklearn.__version__.split(".")[:2]:
        raise ModelRefused(
            f"{card_path}: saved with scikit-learn {trained or 'unknown'}, this is {sklearn.__version__}; {RETRAIN}"
        )


def skops_types(data: bytes) -> set[str]:
    """Every type the skops file `data` would build ("module.Class"), read from its schema.

    skops' own audit (get_untrusted_types) names only the types it does not trust by default;
    this lists all of them, so the allowlist is the whole rule."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
    found: set[str] = set()
    nodes = [schema]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__', '?')}.{node['__class__']}")
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return found


# Model files written before the folders (triage 0.1: triage.model, triage.features) name the
# classes by their old modules; loading reads those names as today's, so such a file needs no
# retraining. Only these two names are read differently: every other type is refused as before.
OLD_TYPE_NAMES = {
    "triage.model.ArticleContextModel": "triage.model.pipeline.ArticleContextModel",
    "triage.features.FastTfidfVectorizer": "triage.model.features.FastTfidfVectorizer",
}


def with_current_type_names(data: bytes) -> bytes:
    """`data` (a skops file) with OLD_TYPE_NAMES read as today's names: the schema's modules
    rewritten, every other member of the archive copied as it is."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        schema = json.loads(archive.read("schema.json"))
        renamed, nodes = 0, [schema]
        while nodes:
            node = nodes.pop()
            if isinstance(node, dict):
                old = f"{node.get('__module__')}.{node.get('__class__')}"
                if old in OLD_TYPE_NAMES:
                    node["__module__"] = OLD_TYPE_NAMES[old].rsplit(".", 1)[0]
                    renamed += 1
                nodes.extend(node.values())
            elif isinstance(node, list):
                nodes.extend(node)
        if not renamed:
            return data
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as copy:
            for member in archive.infolist():
                content = json.dumps(schema) if member.filename == "schema.json" else archive.read(member)
                copy.writestr(member, content)
    return buffer.getvalue()


def _load_skops(data: bytes, path: Path):
    import skops.io as sio

    try:
        data = with_current_type_names(data)
        types = skops_types(data)
        untrusted = set(sio.get_untrusted_types(data=data))
    except Exception as exc:  # not a zip, no schema, corrupt: all mean "not a skops file"
        raise ModelRefused(f"{path} is not a readable skops file ({type(exc).__name__}); {RETRAIN}") from None
    refused = sorted((types | untrusted) - ALLOWED_TYPES)
    if refused:
        raise ModelRefused(
            f"{path} contains types outside the allowlist: {', '.join(refused[:5])}; refusing to load it"
        )
    try:
        return sio.loads(data, trusted=sorted(untrusted))
    except Exception as exc:
        raise ModelRefused(f"{path} could not be loaded ({type(exc).__name__}); {RETRAIN}") from None
