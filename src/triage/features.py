"""Text normalisation and the custom feature steps of the pipeline.

The model must learn topics, not names: "Amazon removed 6 million listings" and "Alibaba
removed 240,000 stores" should look alike. `TextNormalizer` masks platforms, brands and
other names with placeholder tokens and numbers, money, percentages and years with theirs;
`CueLexicon` counts the taxonomy's own cue phrases per label. Both follow scikit-learn's
estimator conventions so they live inside the one saved `Pipeline`.
"""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin

# --- names ----------------------------------------------------------------------------
# Hand-written from general knowledge of the field (never from the OOD set). Longest
# names first so "tmall global" wins over "tmall".
PLATFORM_NAMES = (
    "facebook marketplace",
    "tiktok shop",
    "mercado libre",
    "mercado livre",
    "tmall global",
    "tmall international",
    "amazon",
    "ebay",
    "alibaba",
    "ali baba",
    "taobao",
    "tmall",
    "aliexpress",
    "1688.com",
    "lazada",
    "pinduoduo",
    "temu",
    "shein",
    "jd.com",
    "jingdong",
    "shopee",
    "tokopedia",
    "bukalapak",
    "blibli",
    "flipkart",
    "meesho",
    "snapdeal",
    "myntra",
    "jumia",
    "allegro",
    "zalando",
    "cdiscount",
    "rakuten",
    "mercari",
    "coupang",
    "gmarket",
    "trendyol",
    "hepsiburada",
    "walmart",
    "etsy",
    "wish",
    "tiktok",
    "douyin",
    "kuaishou",
    "xiaohongshu",
    "vipshop",
    "xianyu",
    "ozon",
    "wildberries",
    "otto",
    "bol.com",
    "vinted",
    "depop",
    "stockx",
    "farfetch",
    "poshmark",
    "the realreal",
    "wechat",
    "instagram",
    "facebook",
    "jd",
    "pdd",
    "ali",
    "lazmall",
    "zozotown",
    "qoo10",
    "noon",
    "takealot",
)
BRAND_NAMES = (
    "louis vuitton",
    "michael kors",
    "yves saint laurent",
    "saint laurent",
    "stuart weitzman",
    "estee lauder",
    "estée lauder",
    "la mer",
    "hugo boss",
    "under armour",
    "new balance",
    "ralph lauren",
    "tommy hilfiger",
    "calvin klein",
    "procter & gamble",
    "p & g",
    "gucci",
    "chanel",
    "prada",
    "hermes",
    "hermès",
    "burberry",
    "cartier",
    "tiffany",
    "rolex",
    "omega",
    "swatch",
    "longchamp",
    "dior",
    "fendi",
    "balenciaga",
    "versace",
    "armani",
    "moncler",
    "coach",
    "tapestry",
    "kering",
    "lvmh",
    "richemont",
    "nike",
    "adidas",
    "puma",
    "reebok",
    "asics",
    "converse",
    "vans",
    "lululemon",
    "uniqlo",
    "zara",
    "h&m",
    "apple",
    "samsung",
    "xiaomi",
    "huawei",
    "sony",
    "microsoft",
    "hp",
    "canon",
    "nintendo",
    "lego",
    "mattel",
    "hasbro",
    "disney",
    "loreal",
    "l'oréal",
    "l'oreal",
    "shiseido",
    "lancome",
    "lancôme",
    "sk-ii",
    "swarovski",
    "pandora",
    "starbucks",
    "pfizer",
    "bosch",
    "toyota",
    "lv",
    "mk",
    "ysl",
    "muji",
    "anta",
    "li ning",
    "bosideng",
    "3m",
    "dyson",
    "philips",
)
_NAME_TOKENS = {"__platform__": PLATFORM_NAMES, "__brand__": BRAND_NAMES}
_MASK_PATTERNS = [
    (
        token,
        re.compile(
            r"(?<![\w&])(?:"
            + "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))
            + r")(?:'s|’s|'S)?(?![\w&])",
            re.I,
        ),
    )
    for token, names in _NAME_TOKENS.items()
]

# --- numbers --------------------------------------------------------------------------
_CURRENCY = (
    r"(?:us\s?\$|\$|€|£|¥|₹|rmb|usd|eur|gbp|yuan|rupees?|won|yen|euros?|dollars?|pounds?|"
    r"reais|real|pesos?|lira|rupiah|ringgit|baht|dong)"
)
_SCALE = r"(?:hundred|thousand|million|billion|trillion|bn|mn|m|k|lakh|crore|wan|yi)"
_NUMBER = r"\d[\d,.]*(?:\s?[~-]\s?\d[\d,.]*)?"
_NUMBER_PATTERNS = [
    ("__money__", re.compile(rf"{_CURRENCY}\s?{_NUMBER}(?:\s?{_SCALE}\b)*", re.I)),
    ("__money__", re.compile(rf"\b{_NUMBER}(?:\s?{_SCALE}\b)*\s?{_CURRENCY}\b", re.I)),
    ("__pct__", re.compile(rf"\b{_NUMBER}\s?(?:%|per\s?cent|percent)", re.I)),
    ("__year__", re.compile(r"\b(?:19[5-9]\d|20[0-4]\d)s?\b")),
    ("__num__", re.compile(rf"\b{_NUMBER}(?:\s?{_SCALE}\b)*", re.I)),
]

# Words that start a sentence or a title are capitalised without being names.
_CAPITALISED = re.compile(r"\b[A-Z][\w'’&.-]*[a-z0-9][\w'’&.-]*\b|\b[A-Z]{2,}\b")


def mask_known_names(text: str) -> str:
    """Replace listed platform and brand names by __platform__ / __brand__."""
    for token, pattern in _MASK_PATTERNS:
        text = pattern.sub(f" {token} ", text)
    return text


def normalise_numbers(text: str) -> str:
    """Replace money amounts, percentages, years and other numbers by placeholder tokens."""
    for token, pattern in _NUMBER_PATTERNS:
        text = pattern.sub(f" {token} ", text)
    return text


class TextNormalizer(BaseEstimator, TransformerMixin):
    """Mask names and numbers so features carry across platforms, brands and figures.

    With `mask_unknown_names`, a capitalised word whose lowercase form never occurs in
    lowercase in the training texts (a person, a place, an unlisted company) becomes
    `__name__`; the lowercase vocabulary is the learned state `common_words_`.
    """

    def __init__(self, mask_names: bool = True, mask_numbers: bool = True, mask_unknown_names: bool = True):
        self.mask_names = mask_names
        self.mask_numbers = mask_numbers
        self.mask_unknown_names = mask_unknown_names

    def fit(self, texts, y=None):
        common: set[str] = set()
        for text in texts:
            common.update(word for word in re.findall(r"\b[a-z][\w'’-]*\b", str(text)))
        self.common_words_ = np.array(sorted(common), dtype=object)
        self._common = None
        return self

    def _common_set(self) -> set[str]:
        if getattr(self, "_common", None) is None:
            self._common = set(self.common_words_.tolist())
        return self._common

    def _mask_unknown(self, text: str) -> str:
        common = self._common_set()

        def replace(match: re.Match) -> str:
            word = match.group(0)
            return word if word.lower().strip("'’.") in common else " __name__ "

        return _CAPITALISED.sub(replace, text)

    def normalise(self, text: str) -> str:
        text = str(text)
        if self.mask_names:
            text = mask_known_names(text)
        if self.mask_numbers:
            text = normalise_numbers(text)
        if self.mask_unknown_names:
            text = self._mask_unknown(text)
        return re.sub(r"\s+", " ", text).strip()

    def transform(self, texts):
        return [self.normalise(text) for text in texts]

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_common", None)
        return state


# --- cue lexicon ------------------------------------------------------------------------
# Whole phrases and stems taken from the taxonomy's own definitions, cues and notes (and
# nothing else: not the OOD set, not the training texts). Matched on lowercased text; a
# phrase ending in "*" matches any word that starts with it.
CUE_LEXICON = {
    "brand_criticism": (
        "critici*",
        "criticiz*",
        "distrust*",
        "protest*",
        "accus*",
        "open letter",
        "lip service",
        "most dangerous",
        "adversary",
        "withdrew",
        "withdraw*",
        "quit*",
        "mock*",
        "in protest",
        "rights holder*",
        "industry group*",
        "voic* support",
    ),
    "platform_metrics": (
        "listings removed",
        "removed",
        "blocked",
        "listings",
        "sellers",
        "closed",
        "per second",
        "scan*",
        "complaints",
        "handled",
        "staff",
        "spending",
        "invest*",
        "leads",
        "passed to police",
        "program*",
        "alliance*",
        "partnership*",
        "detection",
        "technology",
        "big data",
        "joined",
        "proactive*",
        "takedown*",
        "memorand* of understanding",
        "pledge*",
        "task force*",
        "award*",
        "praise*",
    ),
    "legal_action": (
        "lawsuit*",
        "court*",
        "ruling*",
        "ruled",
        "damages",
        "claim*",
        "injunction*",
        "mediation",
        "settlement*",
        "raid*",
        "arrest*",
        "prosecut*",
        "law",
        "laws",
        "trademark*",
        "copycat",
        "shanzhai",
        "filed a lawsuit",
        "federal court",
        "trademark infringement",
        "customs",
        "seiz*",
        "case",
        "police",
    ),
    "regulatory_listing": (
        "list",
        "listed",
        "listing",
        "blacklist*",
        "designat*",
        "scrutin*",
        "notorious market*",
        "special 301",
        "trade representative",
        "official report*",
        "government*",
        "memorand*",
        "executive memorandum",
        "executive order*",
        "bill",
        "bills",
        "hearing*",
        "lawmaker*",
        "congressional hearing",
        "official bod*",
        "proposed law*",
    ),
    "market_expansion": (
        "flagship store*",
        "luxury pavilion",
        "cross-border",
        "international",
        "expansion",
        "expand*",
        "growth",
        "growth rate",
        "sales",
        "users",
        "sales channel*",
        "channel*",
        "app",
        "apps",
        "consumer*",
        "competitor*",
        "entered the",
        "market",
        "strategy",
        "opening",
        "opened",
    ),
}


def _cue_pattern(phrase: str) -> str:
    words = [re.escape(word) for word in phrase.split()]
    if words[-1].endswith(r"\*"):
        words[-1] = words[-1][:-2] + r"\w*"
    return r"\b" + r"\s+".join(words) + r"\b"


_CUE_PATTERNS = {
    label: re.compile("|".join(_cue_pattern(phrase) for phrase in phrases), re.I)
    for label, phrases in CUE_LEXICON.items()
}
CUE_LABELS = tuple(CUE_LEXICON)


def cue_counts(text: str) -> list[int]:
    """How many cue phrases of each label (in CUE_LABELS order) occur in `text`."""
    return [len(pattern.findall(str(text))) for pattern in _CUE_PATTERNS.values()]


class CueLexicon(BaseEstimator, TransformerMixin):
    """Per-label cue-phrase counts, log-scaled, as extra features (one column per label)."""

    def __init__(self, weight: float = 1.0):
        self.weight = weight

    def fit(self, texts, y=None):
        self.n_features_out_ = len(CUE_LABELS)
        return self

    def transform(self, texts):
        counts = np.array([cue_counts(text) for text in texts], dtype=float).reshape(-1, len(CUE_LABELS))
        return sparse.csr_matrix(self.weight * np.log1p(counts))

    def get_feature_names_out(self, input_features=None):
        return np.array([f"cue:{label}" for label in CUE_LABELS], dtype=object)
