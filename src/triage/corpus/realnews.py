"""The real-news set: real articles we measure and choose on, kept as addresses, hashes and labels.

Third-party text never enters the repository. `data/realnews/manifest.csv` names each page
(address, sha256 of its cached text, platforms, register, story, part) and
`data/realnews/labels.csv` labels each of its blocks; the texts live in a local cache
outside the work tree (`$TRIAGE_REALNEWS_CACHE`, default `~/.cache/triage/realnews/`), one
UTF-8 `<id>.txt` a page, rebuilt by the quarantine step that `data/realnews/README.md`
describes. Blocks are fixed by one rule before anyone labels (every non-empty line is a
block), so labels never depend on ingestion and ingestion can be scored against them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from triage.atomic import atomic_write_bytes
from triage.corpus.labeled import LABELS
from triage.errors import BadInput, UsageError

CACHE_ENV = "TRIAGE_REALNEWS_CACHE"
DEFAULT_SET_DIR = Path("data/realnews")
DEFAULT_CACHE = Path("~/.cache/triage/realnews")
PARTS = ("dev", "test")
BLOCK_KINDS = ("content", "furniture", "truncated")
MANIFEST_COLUMNS = (
    "id",
    "url",
    "retrieved",
    "published",
    "sha256",
    "bytes",
    "platforms",
    "about_alibaba",
    "register",
    "outlet_region",
    "outlet_kind",
    "story",
    "part",
    "dev_check",
)
LABEL_COLUMNS = (
    "id",
    "block",
    "first_line",
    "last_line",
    "block_sha1",
    "kind",
    "label",
    "kind_pass1",
    "label_pass1",
    "kind_pass2",
    "label_pass2",
    "borderline",
)
REGISTERS = ("native", "machine-translated")
OUTLET_REGIONS = ("us", "non-us")
REBUILD_HINT = (
    "rebuild it as data/realnews/README.md says (scripts/realnews.py add, row by row), "
    f"or point ${CACHE_ENV} at it"
)


def cache_dir() -> Path:
    """Where cached page texts live: `$TRIAGE_REALNEWS_CACHE`, else `~/.cache/triage/realnews`."""
    return Path(os.environ.get(CACHE_ENV) or DEFAULT_CACHE).expanduser()


def url_key(url: str) -> str:
    """An address without scheme, `www.`, query, fragment or trailing slash, lower-cased."""
    key = re.sub(r"^https?://", "", url.strip().lower())
    key = re.sub(r"^(www\.|m\.|amp\.)", "", key)
    return re.sub(r"[?#].*$", "", key).rstrip("/")


def page_id(url: str) -> str:
    """A page's id: stable for its address, so two people caching one page agree on it."""
    return "rn_" + hashlib.sha1(url_key(url).encode("utf-8")).hexdigest()[:10]


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha1_text(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def decode_excerpt(literal: str) -> str:
    """The page text from the excerpt as the JSON string literal the look-up showed.

    Decoding the literal (not a retyped copy) keeps escapes and invisible characters such
    as non-breaking spaces, so the cached text hashes as the stored page does.
    """
    try:
        text = json.loads(literal.strip())
    except json.JSONDecodeError as error:
        raise BadInput(f"the excerpt is not one JSON string literal: {error}") from None
    if not isinstance(text, str):
        raise BadInput("the excerpt is not one JSON string literal")
    return text


def cache_page(url: str, text: str, directory: Path | None = None) -> tuple[str, Path]:
    """Write one page's text to the cache, atomically; returns its id and path."""
    directory = directory or cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    identifier = page_id(url)
    path = directory / f"{identifier}.txt"
    atomic_write_bytes(path, text.encode("utf-8"))
    return identifier, path


@dataclass(frozen=True)
class Block:
    """One non-empty line of a cached page: the unit both labelling passes label."""

    index: int
    first_line: int
    last_line: int
    text: str

    @property
    def sha1(self) -> str:
        return sha1_text(self.text)


def page_lines(text: str) -> list[str]:
    """A page's lines as ingestion splits them (CR LF and CR are line ends; `\\n` only)."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def blocks(text: str) -> list[Block]:
    """The labelling rule, fixed before anyone labels: every non-empty line is a block.

    Lines are numbered from 1, as ingestion numbers a paragraph's source lines, so a
    prediction's line span can be matched to the blocks it came from."""
    found = []
    for number, line in enumerate(page_lines(text), start=1):
        if line.strip():
            found.append(Block(len(found), number, number, line))
    return found


# A stored page is the first EXCERPT_LIMIT bytes of its text (fewer when it opens with a
# ` date YYYY-MM-DD ` line); a page that long was cut, so its last block is `truncated`.
EXCERPT_LIMIT = 2000
DATED_EXCERPT_LIMIT = 1914
CUT_SLACK = 3  # a cut never splits a UTF-8 character, so it may stop up to 3 bytes short


def truncated_block(text: str, page_blocks: list[Block]) -> int | None:
    """The index of the block the excerpt's limit cut (the last one), or None for a whole page."""
    if not page_blocks:
        return None
    limit = DATED_EXCERPT_LIMIT if re.match(r" ?date \d{4}-\d{2}-\d{2}", text) else EXCERPT_LIMIT
    return page_blocks[-1].index if len(text.encode("utf-8")) >= limit - CUT_SLACK else None


def read_cached(identifier: str, directory: Path | None = None) -> str:
    """One cached page's text; a missing cache is a one-line error that says how to rebuild it."""
    directory = directory or cache_dir()
    path = directory / f"{identifier}.txt"
    if not path.is_file():
        raise BadInput(f"real-news cache has no {path.name} in {directory}: {REBUILD_HINT}")
    return path.read_bytes().decode("utf-8")


def verify_cache(manifest_rows: list[dict], directory: Path | None = None) -> dict[str, list[str]]:
    """Check every manifest row's cached text against its sha256: ids missing and changed."""
    directory = directory or cache_dir()
    problems: dict[str, list[str]] = {"missing": [], "changed": []}
    for row in manifest_rows:
        path = directory / f"{row['id']}.txt"
        if not path.is_file():
            problems["missing"].append(row["id"])
        elif hashlib.sha256(path.read_bytes()).hexdigest() != row["sha256"]:
            problems["changed"].append(row["id"])
    return problems


# --- the committed files -----------------------------------------------------------------
_HEX = {"sha256": 64, "block_sha1": 40}
_YES_NO = ("yes", "no")


def _read_csv(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise BadInput(f"{path}: no such file (the real-news set lives in data/realnews/)")
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def _require(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise BadInput(f"{path}: missing column(s) {', '.join(missing)}")
    extra = [column for column in frame.columns if column not in columns]
    if extra:
        raise BadInput(f"{path}: unexpected column(s) {', '.join(extra)} (no page text is committed)")


def _refuse(path: Path, frame: pd.DataFrame, bad: pd.Series, problem: str) -> None:
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2  # 1-based, after the header
        raise BadInput(f"{path}: row {row}: {problem}")


def load_manifest(directory: Path = DEFAULT_SET_DIR) -> pd.DataFrame:
    """manifest.csv, checked: one row a page, every value in its vocabulary, stories in one part."""
    path = Path(directory) / "manifest.csv"
    manifest = _read_csv(path)
    _require(manifest, path, MANIFEST_COLUMNS)
    _refuse(path, manifest, manifest["id"].duplicated(), "duplicate id")
    _refuse(
        path, manifest, ~manifest["id"].str.fullmatch(r"rn_[0-9a-f]{10}"), "id is not rn_ and 10 hex digits"
    )
    _refuse(path, manifest, manifest["id"] != manifest["url"].map(page_id), "id is not the url's page_id")
    _refuse(path, manifest, ~manifest["url"].str.match(r"https?://"), "url is not http(s)")
    _refuse(path, manifest, ~manifest["sha256"].str.fullmatch(r"[0-9a-f]{64}"), "sha256 is not 64 hex digits")
    _refuse(path, manifest, ~manifest["part"].isin(PARTS), f"part is not one of {', '.join(PARTS)}")
    _refuse(path, manifest, ~manifest["about_alibaba"].isin(_YES_NO), "about_alibaba is not yes/no")
    _refuse(path, manifest, ~manifest["dev_check"].isin(_YES_NO), "dev_check is not yes/no")
    _refuse(
        path,
        manifest,
        (manifest["dev_check"] == "yes") & (manifest["part"] != "dev"),
        "dev_check outside dev",
    )
    _refuse(
        path,
        manifest,
        ~manifest["register"].isin(REGISTERS),
        f"register is not one of {', '.join(REGISTERS)}",
    )
    _refuse(path, manifest, ~manifest["outlet_region"].isin(OUTLET_REGIONS), "outlet_region is not us/non-us")
    _refuse(path, manifest, manifest["story"] == "", "empty story")
    parts_per_story = manifest.groupby("story")["part"].nunique()
    split_stories = set(parts_per_story[parts_per_story > 1].index)
    _refuse(path, manifest, manifest["story"].isin(split_stories), "a story is split across parts")
    check_per_story = manifest.groupby("story")["dev_check"].nunique()
    split_check = set(check_per_story[check_per_story > 1].index)
    _refuse(path, manifest, manifest["story"].isin(split_check), "a story is split across dev_check")
    return manifest


def load_labels(directory: Path = DEFAULT_SET_DIR, manifest: pd.DataFrame | None = None) -> pd.DataFrame:
    """labels.csv, checked: every block of a listed page, a kind, a label for every content block."""
    path = Path(directory) / "labels.csv"
    manifest = load_manifest(directory) if manifest is None else manifest
    labels = _read_csv(path)
    _require(labels, path, LABEL_COLUMNS)
    _refuse(path, labels, ~labels["id"].isin(set(manifest["id"])), "id not in manifest.csv")
    _refuse(path, labels, labels.duplicated(["id", "block"]), "duplicate (id, block)")
    _refuse(
        path, labels, ~labels["block_sha1"].str.fullmatch(r"[0-9a-f]{40}"), "block_sha1 is not 40 hex digits"
    )
    for column in ("kind", "kind_pass1", "kind_pass2"):
        _refuse(
            path,
            labels,
            ~labels[column].isin(BLOCK_KINDS),
            f"{column} is not one of {', '.join(BLOCK_KINDS)}",
        )
    content = labels["kind"] == "content"
    _refuse(path, labels, content & ~labels["label"].isin(LABELS), "a content block without a valid label")
    _refuse(path, labels, ~content & (labels["label"] != ""), "a label on a block that is not content")
    for column in ("label_pass1", "label_pass2"):
        _refuse(path, labels, ~labels[column].isin((*LABELS, "")), f"{column} is not a label")
    _refuse(path, labels, ~labels["borderline"].isin(_YES_NO), "borderline is not yes/no")
    for column in ("block", "first_line", "last_line"):
        _refuse(path, labels, ~labels[column].str.fullmatch(r"[0-9]+"), f"{column} is not a whole number")
    labels = labels.astype({"block": int, "first_line": int, "last_line": int})
    return labels


SELECTIONS = {
    # The part every choice is made on: dev without its check slice.
    "dev": lambda m: (m["part"] == "dev") & (m["dev_check"] == "no"),
    # A fifth of the dev stories that no choice reads: it only measures written data and final choices.
    "dev-check": lambda m: m["dev_check"] == "yes",
    "test": lambda m: m["part"] == "test",
}


def select(manifest: pd.DataFrame, part: str, *, final: bool = False) -> pd.DataFrame:
    """The manifest rows of a part. The test part only with `final` (a logged look)."""
    if part not in SELECTIONS:
        raise UsageError(f"unknown real-news part {part!r} (one of {', '.join(SELECTIONS)})")
    if part == "test" and not final:
        raise UsageError("the real-news test part is scored only with --final (each run is logged)")
    return manifest[SELECTIONS[part](manifest)].reset_index(drop=True)


def load_pages(
    part: str,
    *,
    final: bool = False,
    directory: Path = DEFAULT_SET_DIR,
    cache: Path | None = None,
) -> list[tuple[pd.Series, str, pd.DataFrame]]:
    """(manifest row, cached text, its label rows) for every page of a part, hashes checked."""
    manifest = load_manifest(directory)
    labels = load_labels(directory, manifest)
    rows = select(manifest, part, final=final)
    pages = []
    for _, row in rows.iterrows():
        text = read_cached(row["id"], cache)
        if sha256_text(text) != row["sha256"]:
            raise BadInput(
                f"real-news cache: {row['id']}.txt differs from the manifest's sha256: {REBUILD_HINT}"
            )
        pages.append((row, text, labels[labels["id"] == row["id"]].sort_values("block")))
    return pages
