"""TF-IDF vectorizers that compute exactly what scikit-learn's compute, only faster.

`TfidfVectorizer.transform` runs a Python loop over every n-gram of every document: for
character n-grams that is about four dictionary look-ups per character, most of predict
time. `FastTfidfVectorizer` is a `TfidfVectorizer` (same parameters, same `fit`, same
fitted state) whose `transform` counts features another way:

- `char_wb`: the n-grams of a word never depend on its neighbours, so each distinct word's
  feature indices are computed once per `transform` call and reused within it (a bounded
  memo local to the call);
- `word`: tokens become integer ids, and n-grams are looked up as integer keys with NumPy
  for the whole batch instead of joining strings (where a key fits in 64 bits: with more
  distinct tokens than an n-gram's key can hold, scikit-learn's own loop does the work).
  The lookup tables are derived from the vocabulary when it is fitted and when a saved
  vectorizer is loaded, never in `transform`.

`transform` changes nothing on the vectorizer, as scikit-learn's does not: threads may share
one, and what was fitted is what is saved. Measured against the caches `transform` used to
fill (one process, 3,771 bundled paragraphs, best of 3): word (1,2)-grams, the chosen
setting, the same speed (1.01x one call of all, 1.04x calls of 8 paragraphs; loading takes
~50 ms more and the first prediction ~40 ms less); char_wb 2-5, not chosen, the same for one
large call (0.95x) and 3.2x slower in calls of 8 paragraphs, whose memo starts empty. scikit-learn's `check_estimator` does not apply
(its input is raw text; scikit-learn does not run it on its own text vectorizers):
tests/test_features.py runs the checks of parameters and state that do.

The counts are then the same integers in the same sorted order, so the TF-IDF matrix and
everything downstream are the same (tests/test_features.py compares probabilities with
scikit-learn's own vectorizers). Settings this does not cover (custom analyzers,
preprocessors, tokenizers, accents, stop words, binary counts) fall back to scikit-learn.

The fitted vocabulary is stored as one array of terms (index order) instead of a dict of
tens of thousands of entries, which skops would rebuild node by node on every load.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

# Distinct words remembered within one `transform` call; past this the memo is cleared and
# refilled, so memory stays bounded however large the call.
WORD_CACHE_LIMIT = 200_000
_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# An n-gram's key is its token ids as digits in base (distinct tokens + 1): it fits in
# int64 only while base**n does (4-grams: up to 55,108 tokens; 2-grams: about 3 billion).
_LARGEST_KEY = int(np.iinfo(np.int64).max)


class _WordNgramIndex(dict):
    """word -> int32 array of the feature indices of its char_wb n-grams (with repeats)."""

    def __init__(self, vocabulary: dict[str, int], ngram_range: tuple[int, int]):
        super().__init__()
        self.vocabulary = vocabulary
        self.min_n, self.max_n = ngram_range

    def __missing__(self, word: str) -> np.ndarray:
        # scikit-learn's _char_wb_ngrams, for one word
        padded = f" {word} "
        length = len(padded)
        found = []
        for n in range(self.min_n, self.max_n + 1):
            offset = 0
            index = self.vocabulary.get(padded[offset : offset + n])
            if index is not None:
                found.append(index)
            while offset + n < length:
                offset += 1
                index = self.vocabulary.get(padded[offset : offset + n])
                if index is not None:
                    found.append(index)
            if offset == 0:  # a word shorter than n: counted once
                break
        value = np.array(found, dtype=np.int32)
        if len(self) >= WORD_CACHE_LIMIT:
            self.clear()
        self[word] = value
        return value


class _TokenIds(dict):
    """token -> id among the tokens the vocabulary's n-grams use; -1 for any other token."""

    def __missing__(self, token: str) -> int:
        return -1


class FastTfidfVectorizer(TfidfVectorizer):
    """scikit-learn's TfidfVectorizer with a faster `transform` and compact saved state."""

    def fit(self, raw_documents, y=None):
        super().fit(raw_documents, y)
        self._derive_word_tables()
        return self

    def fit_transform(self, raw_documents, y=None):
        matrix = super().fit_transform(raw_documents, y)
        self._derive_word_tables()
        return matrix

    def _derive_word_tables(self) -> None:
        """The word n-gram lookup tables of the fitted vocabulary (see `_word_tables`), kept
        beside it; derived, so never saved (`__getstate__`) and rebuilt on load."""
        self.__dict__.pop("_word_table_cache", None)
        if self.analyzer == "word" and self._fast_path_applies() and hasattr(self, "vocabulary_"):
            self._word_table_cache = (self.vocabulary_, self._build_word_tables())

    def transform(self, raw_documents):
        if isinstance(raw_documents, str):
            raise ValueError("Iterable over raw text documents expected, string object received.")
        if not self._fast_path_applies():
            return super().transform(raw_documents)
        self._check_vocabulary()
        word_tables = None
        if self.analyzer == "word":
            word_tables = self._word_tables()
            if word_tables is None:  # keys would not fit in int64
                return super().transform(raw_documents)
        documents = [self._text(document) for document in raw_documents]
        if self.analyzer == "char_wb":
            counts = self._char_wb_counts(documents)
        else:
            counts = self._word_counts(documents, *word_tables)
        return self._tfidf.transform(counts, copy=False)

    def _fast_path_applies(self) -> bool:
        simple = (
            self.input == "content"
            and self.preprocessor is None
            and self.tokenizer is None
            and self.strip_accents is None
            and not self.binary
            and self.lowercase
        )
        if self.analyzer == "char_wb":
            return simple
        return (
            simple
            and self.analyzer == "word"
            and self.stop_words is None
            and self.token_pattern == _DEFAULT_TOKEN_PATTERN
        )

    def _text(self, document) -> str:
        if isinstance(document, bytes):
            document = document.decode(self.encoding, self.decode_error)
        if document is np.nan:
            raise ValueError("np.nan is an invalid document, expected byte or unicode string.")
        return document.lower()

    def _counts_matrix(self, rows: np.ndarray, columns: np.ndarray, n_documents: int):
        """Counts as scikit-learn's _count_vocab leaves them: CSR, duplicates summed, indices
        sorted. One sort of (row, column) keys does all three (faster than scipy's per-row
        sort of the unsummed matrix)."""
        n_features = len(self.vocabulary_)
        # keys fit in 32 bits for any chunk of up to ~50,000 documents: half the memory
        key_type = np.int32 if n_documents * n_features < np.iinfo(np.int32).max else np.int64
        keys = rows.astype(key_type) * key_type(n_features) + columns.astype(key_type)
        keys.sort()
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        counts = np.diff(np.append(starts, len(keys))).astype(self.dtype)
        distinct = keys[starts]
        indptr = np.zeros(n_documents + 1, dtype=np.int64)
        np.cumsum(np.bincount(distinct // n_features, minlength=n_documents), out=indptr[1:])
        index_type = np.int32 if len(distinct) < np.iinfo(np.int32).max else np.int64
        counts_matrix = sp.csr_array(
            (counts, (distinct % n_features).astype(index_type), indptr.astype(index_type)),
            shape=(n_documents, n_features),
        )
        counts_matrix.has_sorted_indices = True
        return counts_matrix

    # --- character n-grams within word boundaries ----------------------------------------
    def _char_wb_counts(self, documents: list[str]):
        index = _WordNgramIndex(self.vocabulary_, self.ngram_range)  # this call's memo
        word_arrays: list[np.ndarray] = []
        words_per_document = np.zeros(len(documents), dtype=np.int64)
        for row, document in enumerate(documents):
            words = document.split()
            words_per_document[row] = len(words)
            word_arrays.extend(map(index.__getitem__, words))
        sizes = np.fromiter(map(len, word_arrays), dtype=np.int64, count=len(word_arrays))
        columns = np.concatenate(word_arrays) if word_arrays else np.zeros(0, dtype=np.int32)
        sizes_so_far = np.concatenate([[0], np.cumsum(sizes)])
        words_so_far = np.cumsum(words_per_document)
        features_per_document = sizes_so_far[words_so_far] - sizes_so_far[words_so_far - words_per_document]
        rows = np.repeat(np.arange(len(documents), dtype=np.int32), features_per_document)
        return self._counts_matrix(rows, columns, len(documents))

    # --- word n-grams ---------------------------------------------------------------------
    def _word_tables(self):
        """The tables `fit` (or loading) derived from this vocabulary; built here without being
        kept when the vocabulary was replaced since (transform changes nothing)."""
        tables = self.__dict__.get("_word_table_cache")
        if tables is not None and tables[0] is self.vocabulary_:
            return tables[1]
        return self._build_word_tables()

    def _build_word_tables(self):
        """Integer ids of the vocabulary's tokens and, per n, its n-grams as sorted int keys;
        None when the longest n-gram's key would not fit in int64."""
        token_ids = _TokenIds()
        grams = [term.split(" ") for term in self.vocabulary_]
        for tokens in grams:
            for token in tokens:
                if token not in token_ids:
                    token_ids[token] = len(token_ids)
        base = len(token_ids) + 1
        if base ** self.ngram_range[1] > _LARGEST_KEY:
            return None
        by_n: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for n in range(self.ngram_range[0], self.ngram_range[1] + 1):
            keys, features = [], []
            for term, tokens in zip(self.vocabulary_, grams, strict=True):
                if len(tokens) == n:
                    key = 0
                    for token in tokens:
                        key = key * base + token_ids[token]
                    keys.append(key)
                    features.append(self.vocabulary_[term])
            keys_array = np.array(keys, dtype=np.int64)
            order = np.argsort(keys_array, kind="stable")
            by_n[n] = (keys_array[order], np.array(features, dtype=np.int64)[order])
        return token_ids, base, by_n

    def _word_counts(self, documents: list[str], token_ids, base: int, by_n):
        pattern = re.compile(self.token_pattern)  # re keeps compiled patterns cached
        ids: list[int] = []
        tokens_per_document = np.zeros(len(documents), dtype=np.int64)
        for row, document in enumerate(documents):
            tokens = pattern.findall(document)
            tokens_per_document[row] = len(tokens)
            ids.extend(map(token_ids.__getitem__, tokens))
        token_array = np.array(ids, dtype=np.int64)
        document_of_token = np.repeat(np.arange(len(documents)), tokens_per_document)
        token_index = np.arange(len(token_array))
        document_end = np.repeat(np.cumsum(tokens_per_document), tokens_per_document)
        all_rows, all_columns = [], []
        for n, (keys, features) in by_n.items():
            if not len(keys):
                continue
            # an n-gram starts at every token with n - 1 tokens after it in the same document
            starts = np.flatnonzero(token_index + n <= document_end)
            key = np.zeros(len(starts), dtype=np.int64)
            known = np.ones(len(starts), dtype=bool)
            for k in range(n):
                part = token_array[starts + k]
                known &= part >= 0
                key = key * base + part
            starts, key = starts[known], key[known]
            slot = np.searchsorted(keys, key)
            slot[slot == len(keys)] = 0
            found = keys[slot] == key
            all_rows.append(document_of_token[starts[found]])
            all_columns.append(features[slot[found]])
        rows = np.concatenate(all_rows) if all_rows else np.zeros(0, dtype=np.int64)
        columns = np.concatenate(all_columns) if all_columns else np.zeros(0, dtype=np.int64)
        return self._counts_matrix(rows, columns, len(documents))

    # --- compact saved state ------------------------------------------------------------
    def __getstate__(self):
        state = {key: value for key, value in super().__getstate__().items() if key != "_word_table_cache"}
        vocabulary = state.get("vocabulary_")
        if isinstance(vocabulary, dict):
            terms = [""] * len(vocabulary)
            for term, column in vocabulary.items():
                terms[column] = term
            state["vocabulary_"] = np.array(terms, dtype=str)
        return state

    def __setstate__(self, state):
        terms = state.get("vocabulary_")
        if isinstance(terms, np.ndarray):
            state = {**state, "vocabulary_": dict(zip(terms.tolist(), range(len(terms)), strict=True))}
        super().__setstate__(state)
        self._derive_word_tables()
