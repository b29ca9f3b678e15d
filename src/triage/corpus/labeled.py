"""The labelled files and the article manifest: schema, loading, validation, near-duplicates.

Everything that trains or measures the model reads its rows through `load_labeled()`, so
a file that breaks the schema is refused here, with the file, the row and the problem in
one line, before it can skew a score.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from triage.atomic import atomic_write_text
from triage.errors import BadInput
from triage.paths import resolve_data, resolve_manifest

TAXONOMY_VERSION = "2026-11-30"
# The taxonomy's labels in its table order. Ties between two topics go to the first in
# TIE_BREAK_ORDER (a labelling rule, recorded here so the guide and the code agree).
LABELS = (
    "brand_criticism",
    "platform_metrics",
    "legal_action",
    "regulatory_listing",
    "market_expansion",
    "other",
)
TIE_BREAK_ORDER = (
    "legal_action",
    "regulatory_listing",
    "brand_criticism",
    "platform_metrics",
    "market_expansion",
    "other",
)
COLUMNS = ("article_id", "paragraph", "text", "text_sha1", "label", "split", "source")
# Sources: the seeds (real scraped text); clean authored text (one topic a paragraph);
# realistic authored articles written the way news sites write (the seeds and these are
# the folds every choice is made on); independent standalone paragraphs; and two
# out-of-domain sets that only report: the realistic one (the headline) and the clean one.
ALLOWED_SPLITS = {
    "seed": ("train", "test"),
    "authored": ("train",),
    "realistic": ("train",),
    "independent": ("train",),
    "ood": ("ood",),
    "ood_realistic": ("ood",),
    # An analyst's own labels (`triage label`, or a simple id,text,label CSV): train or test.
    "analyst": ("train", "test"),
}
# Optional columns a labelled file may carry after the schema's: who labelled a row, when,
# with which model's suggestion on screen, and where the text came from (`triage label`),
# and a reviewer's decision on it (`triage review --apply`). Loading accepts and ignores
# them, so files without them stay valid and files with them train like any other.
PROVENANCE_COLUMNS = (
    "annotator",
    "labeled_at",
    "model_sha",
    "suggestion",
    "strategy",
    "source_file",
    "first_line",
    "last_line",
)
REVIEW_COLUMNS = ("review_decision", "reviewed_by", "reviewed_at", "previous_label")
# The simple form an analyst's spreadsheet may take instead of the schema: `text` and
# `label`, optionally `id`, `article_id`, `title`, `split` (simple_form_rows fills the rest).
# Without a `split` column its rows are `test` rows (what `evaluate --data FILE` scores),
# and `train` rows in a file given to `triage train --add` (what the analyst labelled to train on).
SIMPLE_FORM_REQUIRED = ("text", "label")
SIMPLE_FORM_DEFAULT_SPLIT = "test"
ADDED_DEFAULT_SPLIT = "train"
# A loaded frame's one column beyond the schema: True for a standalone paragraph, a
# simple-form row with no `article_id`. It is its own fold group and carries no article tags.
STANDALONE = "standalone"
# The labelled folder's files and the one source each may hold.
LABELED_FILES = {
    "paragraphs.csv": "seed",
    "authored.csv": "authored",
    "realistic.csv": "realistic",
    "independent.csv": "independent",
    "ood.csv": "ood",
    "ood_realistic.csv": "ood_realistic",
}
# The sources whose LOAO folds decide every setting (issue: choose on real-like folds);
# an analyst's own rows (source ANALYST_SOURCE) decide too when added to training.
DECISION_SOURCES = ("seed", "realistic")
ANALYST_SOURCE = "analyst"
# `evaluate --split` names: the realistic out-of-domain set is the headline figure.
OOD_SOURCES = {"ood": "ood_realistic", "ood-clean": "ood"}

MANIFEST_COLUMNS = ("article_id", "source", "source_file", "title", "register", "about_alibaba")
REGISTERS = ("native", "machine-translated")

# Near-duplicate measure: the share of the shorter paragraph's word 3-grams that also occur
# in the other one (containment), counted only when at least NEAR_DUPLICATE_MIN_SHARED
# 3-grams are shared (so one stock phrase cannot make a short paragraph a duplicate).
# Two seed articles that retell the same lawsuit score 0.35; the next closest
# cross-article pair of seed paragraphs shares one stock phrase (0.22). At 0.3 a retold
# paragraph counts as a duplicate and a shared phrase does not.
SHINGLE_SIZE = 3
NEAR_DUPLICATE_THRESHOLD = 0.3
NEAR_DUPLICATE_MIN_SHARED = 5


def text_sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def shingles(text: str) -> frozenset[tuple[str, ...]]:
    """Word 3-grams of the lowercased text (one n-gram of all words if it is shorter)."""
    words = re.findall(r"\w+", text.lower())
    if len(words) < SHINGLE_SIZE:
        return frozenset([tuple(words)]) if words else frozenset()
    return frozenset(zip(*(words[i:] for i in range(SHINGLE_SIZE)), strict=False))


def containment(a: frozenset, b: frozenset) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def near_duplicate_pairs(
    left: Iterable[str], right: Iterable[str], threshold: float = NEAR_DUPLICATE_THRESHOLD
) -> list[tuple[int, int, float]]:
    """(i, j, score) for every pair of a `left` and a `right` text at or above `threshold`."""
    right_shingles = [shingles(text) for text in right]
    index: dict[tuple[str, ...], list[int]] = {}
    for j, grams in enumerate(right_shingles):
        for gram in grams:
            index.setdefault(gram, []).append(j)
    pairs = []
    for i, text in enumerate(left):
        grams = shingles(text)
        candidates = {j for gram in grams for j in index.get(gram, ())}
        for j in sorted(candidates):
            score = containment(grams, right_shingles[j])
            if score >= threshold and len(grams & right_shingles[j]) >= NEAR_DUPLICATE_MIN_SHARED:
                pairs.append((i, j, score))
    return pairs


# --- labelled files -------------------------------------------------------------------
def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise BadInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise BadInput(f"{path}: is a folder, not a CSV file") from None
    except PermissionError:
        raise BadInput(f"{path}: permission denied") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise BadInput(f"{path}: not a readable CSV ({str(exc).splitlines()[0]})") from None


def read_csv_table(path: Path | str) -> pd.DataFrame:
    """A CSV's cells as strings (nothing read as NaN); BadInput naming the file if unreadable."""
    return _read_csv(Path(path))


def validate_labeled(
    frame: pd.DataFrame, path: Path | str, row_numbers: Sequence[int] | None = None
) -> pd.DataFrame:
    """Check one labelled file against the schema; return it with `paragraph` as int.

    `row_numbers` names the rows in messages when `frame` is a selection of a file's rows.
    """
    missing = [column for column in COLUMNS if column not in frame.columns]
    if missing:
        raise BadInput(f"{path}: missing column(s) {', '.join(missing)}")
    numbers = row_numbers if row_numbers is not None else range(1, len(frame) + 1)
    seen: dict[tuple[str, str], int] = {}
    for row_number, row in zip(numbers, frame.itertuples(index=False), strict=True):
        where = f"{path}: row {row_number}"
        if not row.article_id.strip():
            raise BadInput(f"{where}: empty article_id")
        if not row.paragraph.isdigit():
            raise BadInput(f"{where}: paragraph {row.paragraph!r} is not a whole number >= 0")
        if not row.text.strip():
            raise BadInput(f"{where}: empty text")
        if row.text_sha1 != text_sha1(row.text):
            raise BadInput(f"{where}: text_sha1 does not match the text (was the text edited?)")
        if row.label not in LABELS:
            shown = repr(row.label) if row.label else "empty"
            raise BadInput(f"{where}: label {shown} is not one of {', '.join(LABELS)}")
        if row.source not in ALLOWED_SPLITS:
            raise BadInput(f"{where}: source {row.source!r} is not one of {', '.join(ALLOWED_SPLITS)}")
        if row.split not in ALLOWED_SPLITS[row.source]:
            allowed = " or ".join(ALLOWED_SPLITS[row.source])
            raise BadInput(f"{where}: split {row.split!r} is not allowed for source {row.source} ({allowed})")
        key = (row.article_id, row.paragraph)
        if key in seen:
            raise BadInput(
                f"{where}: duplicate (article_id, paragraph) {key[0]} {key[1]}, first at row {seen[key]}"
            )
        seen[key] = row_number
    frame = frame[list(COLUMNS)].copy()
    frame["paragraph"] = frame["paragraph"].astype(int)
    return frame


def load_labeled_file(path: Path | str, *, added: bool = False) -> pd.DataFrame:
    """One labelled file, in the schema or in the simple form (`simple_form_rows`), with the
    STANDALONE column. `added`: the file was given to `triage train --add` (its simple-form
    rows train unless a `split` column says otherwise; its made-up ids name the file)."""
    path = Path(path)
    frame = _read_csv(path)
    standalone = np.zeros(len(frame), dtype=bool)
    if is_simple_form(frame):
        standalone = standalone_rows(frame)
        frame = simple_form_rows(
            frame,
            path,
            default_split=ADDED_DEFAULT_SPLIT if added else SIMPLE_FORM_DEFAULT_SPLIT,
            made_up_id_prefix=f"{path.name}:" if added else "",
        )
    frame = validate_labeled(frame, path)
    frame[STANDALONE] = standalone
    return frame


def read_labeled_table(path: Path | str) -> pd.DataFrame:
    """A labelled file's rows as strings with every column it has (provenance included), a
    simple-form file already filled in to the schema; not yet validated."""
    path = Path(path)
    frame = _read_csv(path)
    if is_simple_form(frame):
        frame = simple_form_rows(frame, path)
    return frame


def standalone_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows of a simple-form file are standalone paragraphs: those without an article_id."""
    if "article_id" not in frame.columns:
        return np.ones(len(frame), dtype=bool)
    return (frame["article_id"].str.strip() == "").to_numpy()


def standalone_mask(rows: pd.DataFrame) -> np.ndarray:
    """The STANDALONE column of loaded rows (all False for rows built without it)."""
    if STANDALONE not in rows.columns:
        return np.zeros(len(rows), dtype=bool)
    return rows[STANDALONE].to_numpy(dtype=bool)


def is_simple_form(frame: pd.DataFrame) -> bool:
    """A file with `text` and `label` but not the schema's other columns."""
    columns = set(frame.columns)
    return set(SIMPLE_FORM_REQUIRED) <= columns and not {"text_sha1", "source"} <= columns


def simple_form_rows(
    frame: pd.DataFrame,
    path: Path | str,
    *,
    default_split: str = SIMPLE_FORM_DEFAULT_SPLIT,
    made_up_id_prefix: str = "",
) -> pd.DataFrame:
    """The schema's columns filled in for an analyst's `id,text,label` file.

    Defaults: `article_id` is the `article_id` column; a row without one is a standalone
    paragraph (`standalone_rows`) whose `article_id` is its `id`, else `row-N` (after
    `made_up_id_prefix`); `paragraph` counts the rows of one article in file order from 0;
    `split` is `default_split` (`test`, so `triage evaluate --data FILE` scores every row;
    `train` under `triage train --add`) unless a `split` column says otherwise; `source` is
    `analyst`; `text_sha1` is computed. Other columns (`title`, provenance) stay.
    """
    frame = frame.copy()
    blank = pd.Series([""] * len(frame), index=frame.index)
    given = frame["article_id"].str.strip() if "article_id" in frame.columns else blank
    ids = frame["id"].str.strip() if "id" in frame.columns else blank
    frame["article_id"] = [
        article_id or row_id or f"{made_up_id_prefix}row-{number}"
        for number, (article_id, row_id) in enumerate(zip(given, ids, strict=True), start=1)
    ]
    if "paragraph" not in frame.columns:
        frame["paragraph"] = frame.groupby("article_id", sort=False).cumcount().astype(str)
    if "split" not in frame.columns:
        frame["split"] = default_split
    frame["source"] = ANALYST_SOURCE
    frame["label"] = frame["label"].str.strip()
    frame["text_sha1"] = frame["text"].map(text_sha1)
    return frame


def load_labeled(
    data: Path | str | None = None, *, include_ood: bool = True, add: Sequence[Path | str] = ()
) -> pd.DataFrame:
    """All labelled rows of a folder (its known files that exist) or of one CSV file (default:
    the bundled folder, `paths.resolve_data`), and those of each file in `add` (`triage
    train --add`: `load_labeled_file(added=True)`)."""
    data = resolve_data(data)
    if data.is_dir():
        paths = [
            data / name
            for name, source in LABELED_FILES.items()
            if (data / name).exists() and (include_ood or ALLOWED_SPLITS[source] != ("ood",))
        ]
        if not paths:
            raise BadInput(f"{data}: no labelled files ({', '.join(LABELED_FILES)})")
    elif data.exists():
        paths = [data]
    else:
        raise BadInput(f"{data}: no such file or folder")
    frames = [load_labeled_file(path) for path in paths] + [
        load_labeled_file(_added_file(path), added=True) for path in add
    ]
    rows = pd.concat(frames, ignore_index=True)
    duplicated = rows.duplicated(["article_id", "paragraph"], keep=False)
    if duplicated.any():
        first = rows[duplicated].iloc[0]
        files = ", ".join(map(str, [data, *add])) if add else str(data)
        raise BadInput(
            f"{files}: (article_id, paragraph) {first.article_id} {first.paragraph} is in more than one file"
        )
    if not include_ood:
        rows = rows[rows["split"] != "ood"].reset_index(drop=True)
    return rows


def _added_file(path: Path | str) -> Path:
    path = Path(path)
    if path.is_dir():
        raise BadInput(f"--add {path}: is a folder; --add takes one labelled CSV file (repeat it for more)")
    if not path.exists():
        raise BadInput(f"--add {path}: no such file")
    return path


def write_labeled_table(rows: pd.DataFrame, path: Path | str) -> None:
    """Replace a labelled file atomically (readers see the old file or the new one): the
    schema's columns first, then any provenance columns, UTF-8."""

    extra = [column for column in rows.columns if column not in COLUMNS]
    text = rows[[*COLUMNS, *extra]].to_csv(index=False, lineterminator="\n")
    atomic_write_text(path, text)


def write_labeled(rows: pd.DataFrame, path: Path | str) -> None:
    """Write labelled rows in the schema's column order, sha1 filled in, UTF-8."""
    rows = rows.copy()
    rows["text_sha1"] = rows["text"].map(text_sha1)
    rows[list(COLUMNS)].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


# --- manifest -------------------------------------------------------------------------
def article_titles(manifest: pd.DataFrame | None) -> dict[str, str]:
    """article_id -> title, from the manifest (empty without one)."""
    if manifest is None:
        return {}
    return dict(zip(manifest["article_id"], manifest["title"], strict=True))


def empty_manifest() -> pd.DataFrame:
    """The manifest of data that has none (an analyst's own files): no article listed."""
    return pd.DataFrame(columns=list(MANIFEST_COLUMNS), dtype=str)


def load_manifest(path: Path | str | None = None) -> pd.DataFrame:
    """The article manifest, checked: known sources and registers, yes/no, unique ids.
    Default: the bundled one (`paths.resolve_manifest`)."""
    path = resolve_manifest(path)
    if path is None:
        raise BadInput("no data/articles.csv beside the bundled data; pass --manifest")
    frame = _read_csv(path)
    missing = [column for column in MANIFEST_COLUMNS if column not in frame.columns]
    if missing:
        raise BadInput(f"{path}: missing column(s) {', '.join(missing)}")
    seen: set[str] = set()
    for row_number, row in enumerate(frame.itertuples(index=False), start=1):
        where = f"{path}: row {row_number}"
        if not row.article_id or row.article_id in seen:
            raise BadInput(f"{where}: empty or duplicate article_id {row.article_id!r}")
        seen.add(row.article_id)
        if row.source not in ALLOWED_SPLITS:
            raise BadInput(f"{where}: source {row.source!r} is not one of {', '.join(ALLOWED_SPLITS)}")
        if row.register not in REGISTERS:
            raise BadInput(f"{where}: register {row.register!r} is not one of {', '.join(REGISTERS)}")
        if row.about_alibaba not in ("yes", "no"):
            raise BadInput(f"{where}: about_alibaba {row.about_alibaba!r} is not yes or no")
        if not row.source_file:
            raise BadInput(f"{where}: empty source_file")
    return frame
