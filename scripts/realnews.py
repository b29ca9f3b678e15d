"""Keep the real-news cache: add a page from its stored excerpt, verify every hash.

    python scripts/realnews.py add --url URL --json EXCERPT.json   # the quarantine step, one page
    python scripts/realnews.py verify                                 # every manifest row against the cache
    python scripts/realnews.py blocks --out DIR [ID ...]              # numbered blocks, for a labelling pass
    python scripts/realnews.py overlap FILE_OR_FOLDER ...              # written text against every cached page

`add` decodes the excerpt (the JSON string literal the look-up showed, saved to a file) and
writes `<id>.txt` to the cache; when the manifest already lists the address it refuses a
text whose sha256 differs, so a rebuilt cache is the cache the labels were made on. Run
`../shared/heldout/check.py --url URL` before `add` and `check.py` on the cache after it
(data/realnews/README.md). `verify` names every page that is missing or changed (exit 1).
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from triage.corpus.realnews import (
    blocks,
    cache_dir,
    cache_page,
    decode_excerpt,
    page_id,
    read_cached,
    sha256_text,
    truncated_block,
    verify_cache,
)
from triage.errors import TriageError

MANIFEST = Path(__file__).resolve().parents[1] / "data/realnews/manifest.csv"


def read_manifest(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def add(url: str, excerpt_path: Path, manifest: Path) -> int:
    text = decode_excerpt(excerpt_path.read_text(encoding="utf-8"))
    known = {row["id"]: row for row in read_manifest(manifest)}
    identifier = page_id(url)
    if identifier in known and known[identifier]["sha256"] != sha256_text(text):
        print(f"error: {identifier} ({url}): the text's sha256 differs from the manifest's", file=sys.stderr)
        return 1
    identifier, path = cache_page(url, text)
    size = len(text.encode("utf-8"))
    print(f"{identifier}\t{size} bytes\t{sha256_text(text)}\t{path}")
    return 0


def verify(manifest: Path) -> int:
    rows = read_manifest(manifest)
    if not rows:
        print(f"error: {manifest} lists no pages", file=sys.stderr)
        return 2
    problems = verify_cache(rows)
    for kind, identifiers in problems.items():
        for identifier in identifiers:
            print(f"{kind}: {identifier}")
    bad = sum(len(ids) for ids in problems.values())
    print(f"checked {len(rows)} pages in {cache_dir()}: {bad} missing or changed")
    return 1 if bad else 0


def write_blocks(identifiers: list[str], out: Path) -> int:
    """One file a page: each block numbered, its kind pre-filled when the rule fixes it (a
    page cut at the excerpt's limit ends in a `truncated` block), for a labelling pass."""
    out.mkdir(parents=True, exist_ok=True)
    identifiers = identifiers or sorted(path.stem for path in cache_dir().glob("rn_*.txt"))
    for identifier in identifiers:
        text = read_cached(identifier)
        found = blocks(text)
        cut = truncated_block(text, found)
        lines = [f"# page {identifier}: {len(found)} blocks"]
        for block in found:
            mark = "  [truncated: not labelled]" if cut is not None and block.index == cut else ""
            lines.append(f"[{block.index}]{mark} {block.text}")
        (out / f"{identifier}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {len(identifiers)} pages to {out}")
    return 0


def overlap(paths: list[Path]) -> int:
    """Written texts against every cached real page (dev and test) by the corpus's own
    near-duplicate measure, paragraph by paragraph and whole: exit 1 on any pair."""
    from triage.corpus.labeled import near_duplicate_pairs

    files = sorted(
        f
        for p in paths
        for f in (p.rglob("*") if p.is_dir() else [p])
        if f.is_file() and f.suffix in {".txt", ".csv", ".md", ".py", ".json", ".ipynb", ".html"}
    )
    pages = sorted(cache_dir().glob("rn_*.txt"))
    if not files or not pages:
        print(
            f"error: nothing to compare ({len(files)} written files, {len(pages)} cached pages)",
            file=sys.stderr,
        )
        return 2
    page_texts = [path.read_text(encoding="utf-8") for path in pages]
    page_blocks = [block.text for text in page_texts for block in blocks(text)]
    written = [path.read_text(encoding="utf-8") for path in files]
    paragraphs = [
        (path, line)
        for path, text in zip(files, written, strict=True)
        for line in text.splitlines()
        if line.strip()
    ]
    found = 0
    for i, _, score in near_duplicate_pairs(written, page_texts):
        found += 1
        print(f"near-duplicate of a real page: {files[i]} (containment {score:.2f})")
    for i, _, score in near_duplicate_pairs([line for _, line in paragraphs], page_blocks):
        found += 1
        print(f"near-duplicate of a real paragraph: {paragraphs[i][0]} (containment {score:.2f})")
    print(
        f"checked {len(files)} files ({len(paragraphs)} paragraphs) against {len(pages)} cached pages: {found} near-duplicates"
    )
    return 1 if found else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=MANIFEST)
    commands = parser.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="cache one page from its excerpt's JSON string literal")
    adding.add_argument("--url", required=True)
    adding.add_argument(
        "--json", type=Path, required=True, help="a file holding the excerpt's JSON string literal"
    )
    commands.add_parser("verify", help="check every cached page's sha256 against the manifest")
    overlapping = commands.add_parser(
        "overlap", help="written texts against every cached page (near-duplicates)"
    )
    overlapping.add_argument("paths", nargs="+", type=Path)
    blocking = commands.add_parser("blocks", help="write each cached page's numbered blocks for labelling")
    blocking.add_argument("--out", type=Path, required=True)
    blocking.add_argument("ids", nargs="*", help="page ids (default: every cached page)")
    options = parser.parse_args(argv)
    try:
        if options.command == "add":
            return add(options.url, options.json, options.manifest)
        if options.command == "overlap":
            return overlap(options.paths)
        if options.command == "blocks":
            return write_blocks(options.ids, options.out)
        return verify(options.manifest)
    except TriageError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
