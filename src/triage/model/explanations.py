"""The terms behind a label (`--explain`), for a whole chunk of paragraphs at once.

A paragraph's score for a label is the sum over its features of TF-IDF value x the
label's weight. A word n-gram feature is its own term; a `char_wb` n-gram belongs to the
words it was cut from (it never crosses a word boundary), shared among them by how often
each word holds it. A term's contribution is the sum of its features' shares; the terms
shown are those with the largest positive contributions.

What does not depend on the paragraphs (the weights in label order, the term of every
word feature, each token's character features) is worked out once per model and kept on
it (`TermAttribution`); the per-paragraph work is array arithmetic over the chunk's sparse
matrix, with one Python step per paragraph to pick its top terms (and, with character
n-grams, one per token to find its features).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

# Distinct tokens whose character features are remembered; past this the memo is cleared.
TOKEN_CACHE_LIMIT = 200_000


class TermAttribution:
    """A fitted pipeline's weights (rows in `labels` order; a label the classifier never saw
    weighs nothing) and the term each of its features counts for."""

    def __init__(self, pipeline, labels: Sequence[str]):
        self.pipeline, self.labels = pipeline, list(labels)
        self.features = pipeline.named_steps["features"]
        classifier = pipeline.named_steps["classify"]
        # in the classifier's own dtype, so each contribution is the number it computes
        self.weights = np.zeros((len(labels), classifier.coef_.shape[1]), dtype=classifier.coef_.dtype)
        row_of_class = {label: row for row, label in enumerate(classifier.classes_)}
        for row, label in enumerate(labels):
            if label in row_of_class:
                self.weights[row] = classifier.coef_[row_of_class[label]]
        names = self.features.get_feature_names_out()  # sorts the vocabulary: done once here
        kinds = np.array([name.partition("__")[0] for name in names])
        self.terms: list[str] = []  # term id -> term
        self.term_ids: dict[str, int] = {}
        self.term_of_feature = np.full(len(names), -1, dtype=np.int64)  # -1: a character n-gram
        for feature in np.flatnonzero(kinds != "chars"):
            self.term_of_feature[feature] = self._term_id(names[feature].partition("__")[2])
        self.is_word_feature = self.term_of_feature >= 0
        self.char_names = {int(i): names[i].partition("__")[2] for i in np.flatnonzero(kinds == "chars")}
        transformers = dict(self.features.transformer_list)
        self.chars = transformers.get("chars") if self.char_names else None
        if self.chars is not None:
            self.char_offset = min(self.char_names)
            self.char_analyzer = self.chars.build_analyzer()
            self._token_features: dict[str, np.ndarray] = {}

    def _term_id(self, term: str) -> int:
        if term not in self.term_ids:
            self.term_ids[term] = len(self.terms)
            self.terms.append(term)
        return self.term_ids[term]

    def explain(
        self,
        texts: Sequence[str],
        label_rows: Sequence[int],
        runner_up_rows: Sequence[int],
        top: int = 6,
    ) -> list[dict]:
        """Per paragraph: `terms`, the `top` terms that pushed it towards its label most, and,
        when the runner-up differs, `runner_up`: that label and the terms whose weights
        favour the chosen label over it most."""
        texts = [str(text) for text in texts]
        matrix = self.features.transform(texts).tocsr()
        matrix.sort_indices()
        rows = np.repeat(np.arange(len(texts)), np.diff(matrix.indptr))
        columns, values = matrix.indices, matrix.data
        label_rows, runner_up_rows = np.asarray(label_rows, dtype=int), np.asarray(runner_up_rows, dtype=int)
        chosen = self.weights[label_rows[rows], columns]
        contributions = values * chosen
        differences = values * (chosen - self.weights[runner_up_rows[rows], columns])
        entries = self._term_entries(texts, rows, columns)
        terms = _top_terms(entries, contributions, len(texts), top)
        against = _top_terms(entries, differences, len(texts), top)
        explanations = []
        for row, (label_row, runner_up_row) in enumerate(zip(label_rows, runner_up_rows, strict=True)):
            explanation = {"terms": terms[row]}
            if runner_up_row != label_row:
                explanation["runner_up"] = {"label": self.labels[runner_up_row], "terms": against[row]}
            explanations.append(explanation)
        return explanations

    def _term_entries(self, texts, rows, columns) -> _TermEntries:
        """Which (paragraph, term) each nonzero of the chunk's matrix counts for, and with
        what share of its contribution."""
        word = np.flatnonzero(self.is_word_feature[columns])
        entries = _TermEntries(
            terms=self.terms,
            positions=word,
            rows=rows[word],
            term_ids=self.term_of_feature[columns[word]],
            shares=np.ones(len(word)),
            shared=False,
        )
        if self.chars is not None:
            entries = entries.plus(self._char_entries(texts, rows, columns))
        return entries

    def _char_entries(self, texts, rows, columns) -> _TermEntries:
        """Each character n-gram of a paragraph, shared among the words that hold it: every
        occurrence of it in a word takes 1 / (its occurrences in the paragraph)."""
        extra_terms: dict[str, int] = {}
        entry_rows, entry_features, entry_terms = [], [], []
        for row, text in enumerate(texts):
            for token in text.split():
                features = self._features_of_token(token)
                if len(features):
                    word = _word(token)
                    term = self.term_ids.get(word)
                    if term is None:
                        term = extra_terms.setdefault(word, len(self.terms) + len(extra_terms))
                    entry_rows.append(np.full(len(features), row))
                    entry_features.append(features)
                    entry_terms.append(np.full(len(features), term))
        terms = self.terms + list(extra_terms)
        width = len(self.term_of_feature)
        nonzero_keys = rows.astype(np.int64) * width + columns
        if entry_rows:
            keys = np.concatenate(entry_rows).astype(np.int64) * width + np.concatenate(entry_features)
            distinct, which, occurrences = np.unique(keys, return_inverse=True, return_counts=True)
            positions = np.minimum(np.searchsorted(nonzero_keys, keys), len(nonzero_keys) - 1)
            found = nonzero_keys[positions] == keys
            held = _TermEntries(
                terms=terms,
                positions=positions[found],
                rows=np.concatenate(entry_rows)[found],
                term_ids=np.concatenate(entry_terms)[found],
                shares=1.0 / occurrences[which][found],
            )
        else:
            distinct = np.zeros(0, dtype=np.int64)
            held = _TermEntries(terms, *(np.zeros(0, dtype=dtype) for dtype in (int, int, int, float)))
        # not expected: an n-gram of the matrix that no word holds is named as itself
        loose = np.flatnonzero(~self.is_word_feature[columns] & ~np.isin(nonzero_keys, distinct))
        loose_ids = []
        for position in loose:
            name = f"[{self.char_names[int(columns[position])]}]"
            loose_ids.append(extra_terms.setdefault(name, len(self.terms) + len(extra_terms)))
        terms = self.terms + list(extra_terms)
        held.terms = terms
        return held.plus(
            _TermEntries(terms, loose, rows[loose], np.array(loose_ids, dtype=np.int64), np.ones(len(loose)))
        )

    def _features_of_token(self, token: str) -> np.ndarray:
        """The columns of the character n-grams of one whitespace token (with repeats)."""
        features = self._token_features.get(token)
        if features is None:
            vocabulary = self.chars.vocabulary_
            grams = (vocabulary.get(gram) for gram in self.char_analyzer(token))
            features = np.array([self.char_offset + i for i in grams if i is not None], dtype=np.int64)
            if len(self._token_features) >= TOKEN_CACHE_LIMIT:
                self._token_features.clear()
            self._token_features[token] = features
        return features


class _TermEntries:
    """Parallel arrays: the position of a nonzero in the chunk's matrix, its paragraph, the
    term it counts for, and the share of its contribution that term takes. `shared`: a
    (paragraph, term) may have several entries (never with word n-grams alone: each is its
    own term)."""

    def __init__(self, terms, positions, rows, term_ids, shares, shared=True):
        self.terms, self.positions, self.rows, self.term_ids, self.shares = (
            terms,
            positions,
            rows,
            term_ids,
            shares,
        )
        self.shared = shared

    def plus(self, other: _TermEntries) -> _TermEntries:
        return _TermEntries(
            other.terms,
            *(
                np.concatenate([getattr(self, name), getattr(other, name)])
                for name in ("positions", "rows", "term_ids", "shares")
            ),
        )


def _top_terms(
    entries: _TermEntries, contributions: np.ndarray, paragraphs: int, top: int
) -> list[list[dict]]:
    """Per paragraph, the `top` terms with the largest positive total contribution, largest
    first (ties: alphabetical), each weight rounded to 4 places."""
    values = entries.shares * contributions[entries.positions]
    keys = entries.rows * np.int64(len(entries.terms)) + entries.term_ids
    if entries.shared:  # a word and its character n-grams count for one term: add them up
        keys, which = np.unique(keys, return_inverse=True)
        values = np.bincount(which, weights=values, minlength=len(keys))
    positive = values > 0
    keys, values = keys[positive], values[positive]
    rows, term_ids = keys // len(entries.terms), keys % len(entries.terms)
    order = np.lexsort((-values, rows))
    rows, term_ids, values = rows[order], term_ids[order], values[order]
    bounds = np.searchsorted(rows, np.arange(paragraphs + 1))
    ranked = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        stop = min(start + top, end)
        while stop < end and values[stop] == values[stop - 1]:  # a tie at the cut: sort it by name
            stop += 1
        candidates = sorted(
            ((float(values[i]), entries.terms[term_ids[i]]) for i in range(start, stop)),
            key=lambda item: (-item[0], item[1]),
        )
        ranked.append([{"term": term, "weight": round(total, 4)} for total, term in candidates[:top]])
    return ranked


def _word(token: str) -> str:
    """A whitespace token as a reader names the word: lowercased, edge punctuation dropped."""
    word = re.sub(r"^\W+|\W+$", "", token.lower())
    return word or token.lower()
