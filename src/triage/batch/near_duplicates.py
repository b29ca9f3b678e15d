"""Near-duplicate articles within a run: a bounded index of sampled word 3-grams, first holder wins."""

from __future__ import annotations

import re
import zlib
from collections import Counter

# --- near-duplicate articles within a run ------------------------------------------------------
SAMPLE_EVERY = 4  # a 3-gram is indexed when its hash is divisible by this (a stable sample)
INDEX_LIMIT = 1_000_000  # sampled 3-grams remembered; past it new articles are checked, not added


class NearDuplicates:
    """The split's near-duplicate measure (corpus.py: word 3-gram containment >= 0.3) between
    each article and those before it in the run, on a stable 1-in-4 sample of 3-grams so the
    index stays small. Order decides: the first copy is the original.

    The index maps each sampled 3-gram to the first article that held it. Most of it is two
    sorted NumPy arrays (4 bytes a 3-gram, 4 for its article: 8 MB at INDEX_LIMIT, where a
    dict of Python ints took over 100 MB); what came since the last merge is a small dict."""

    MERGE_EVERY = 50_000  # 3-grams held in the dict before they join the arrays

    def __init__(self):
        import numpy as np

        from triage.corpus.labeled import NEAR_DUPLICATE_MIN_SHARED, NEAR_DUPLICATE_THRESHOLD

        self.threshold = NEAR_DUPLICATE_THRESHOLD
        self.min_shared = max(2, NEAR_DUPLICATE_MIN_SHARED // SAMPLE_EVERY)
        self.grams = np.zeros(0, dtype=np.uint32)  # sorted
        self.holders = np.zeros(0, dtype=np.int32)  # the article that first held each
        self.recent: dict[int, int] = {}
        self.sizes: list[int] = []
        self.ids: list[str] = []

    def __len__(self) -> int:
        """How many sampled 3-grams the index holds."""
        return len(self.grams) + len(self.recent)

    @staticmethod
    def sampled_grams(text: str) -> list[int]:
        """The crc32 of each word 3-gram (words: `\\w+` of the lowercased text, UTF-8, joined
        by a space) that falls in the sample, each once, in order of first appearance. The
        order matters: `original_of` builds its set in it, and the set's order breaks ties."""
        words = _utf8_words(text.lower())
        hashes = map(zlib.crc32, map(b" ".join, zip(words, words[1:], words[2:], strict=False)))
        return list(dict.fromkeys(h for h in hashes if h % SAMPLE_EVERY == 0))

    def original_of(self, record_id: str, sampled_grams: list[int]) -> str | None:
        """The id of an earlier article this one nearly duplicates, or None; remembers it.
        `sampled_grams`: the article's `sampled_grams` (worked out where it was scored)."""
        signature = set(sampled_grams)
        ordered = list(signature)  # the set's own order: it decides ties between originals
        holders = self._holders(ordered)
        shared = Counter(holders)
        shared.pop(None, None)  # 3-grams no earlier article has
        original = None
        for article, count in shared.most_common():
            if (
                count >= self.min_shared
                and count / max(min(len(signature), self.sizes[article]), 1) >= self.threshold
            ):
                original = self.ids[article]
                break
        if original is None and len(self) < INDEX_LIMIT:
            number = len(self.ids)
            self.ids.append(record_id)
            self.sizes.append(len(signature))
            # a 3-gram keeps its first holder
            self.recent.update(
                dict.fromkeys((h for h, held in zip(ordered, holders, strict=True) if held is None), number)
            )
            if len(self.recent) >= self.MERGE_EVERY:
                self._merge()
        return original

    def _holders(self, grams: list[int]) -> list[int | None]:
        """The article holding each 3-gram, or None."""
        import numpy as np

        holders = list(map(self.recent.get, grams))
        if len(self.grams) and grams:
            wanted = np.fromiter(grams, dtype=np.uint32, count=len(grams))
            slots = np.minimum(np.searchsorted(self.grams, wanted), len(self.grams) - 1)
            found = np.flatnonzero(self.grams[slots] == wanted)
            for position, holder in zip(found.tolist(), self.holders[slots[found]].tolist(), strict=True):
                holders[position] = holder
        return holders

    def _merge(self) -> None:
        import numpy as np

        grams = np.fromiter(self.recent, dtype=np.uint32, count=len(self.recent))
        holders = np.fromiter(self.recent.values(), dtype=np.int32, count=len(self.recent))
        grams, holders = np.concatenate([self.grams, grams]), np.concatenate([self.holders, holders])
        order = np.argsort(grams, kind="stable")
        self.grams, self.holders, self.recent = grams[order], holders[order], {}


def article_text(record: dict) -> str:
    return "\n".join(paragraph["text"] for paragraph in record.get("paragraphs", []))


# ASCII bytes that `\w` does not match become spaces; bytes of other characters stay.
_ASCII_NON_WORD = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else ord(" ") for byte in range(256)
)
_WORD_RUN = re.compile(r"\w+")


def _utf8_words(text: str) -> list[bytes]:
    """`re.findall(r"\\w+", text)`, each encoded as UTF-8, found with bytes.translate and
    split: a run between ASCII non-word characters is one word when it is ASCII; a run
    holding other characters is split by the regular expression, as before."""
    runs = text.encode().translate(_ASCII_NON_WORD).split()
    if text.isascii():
        return runs
    words: list[bytes] = []
    for run in runs:
        if run.isascii():
            words.append(run)
        else:
            words.extend(word.encode() for word in _WORD_RUN.findall(run.decode()))
    return words
