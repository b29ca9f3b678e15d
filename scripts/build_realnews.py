"""Build data/realnews/manifest.csv and labels.csv from the quarantine's records and the passes.

    python scripts/build_realnews.py --found Q/found_*.csv --pass1 P1.csv --pass2 P2.csv \
        --settled SETTLED.csv --stories STORIES.csv

Inputs live outside the repository (they are made while reading pages): the quarantine's
page records (address, platforms, register, outlet), two independent labelling passes
(`id,block,kind,label,borderline`), the settled labels of the blocks where they differ, and
a story key per page. The output holds no text: ids, hashes, labels. Parts are fixed here,
once, by story: `test` takes about a third of the stories, stratified by platform group,
register and about_alibaba, in an order fixed by a hash of the story key; a fifth of the
dev stories become the dev-check slice. Prints kappa, disagreements and counts per part.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import pandas as pd
from sklearn.metrics import cohen_kappa_score

from triage.corpus.realnews import (
    LABEL_COLUMNS,
    MANIFEST_COLUMNS,
    blocks,
    load_labels,
    load_manifest,
    read_cached,
    sha256_text,
    truncated_block,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data/realnews"
TEST_SHARE = 3  # one story in TEST_SHARE goes to test
CHECK_SHARE = 5  # one dev story in CHECK_SHARE goes to the dev-check slice
# Stories a chooser has read (a page seen while building the tooling): kept in the choosing part.
READ_BY_CHOOSER = {"rn_0005d84714"}
PLATFORM_GROUPS = (
    ("alibaba", "alibaba"),
    ("jd", "china"),
    ("pinduoduo", "china"),
    ("temu", "temu-shein-tiktok"),
    ("shein", "temu-shein-tiktok"),
    ("tiktok", "temu-shein-tiktok"),
    ("amazon", "amazon-ebay-us"),
    ("ebay", "amazon-ebay-us"),
    ("walmart", "amazon-ebay-us"),
    ("etsy", "amazon-ebay-us"),
)


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def platform_group(platforms: str) -> str:
    names = platforms.split(";")
    for name, group in PLATFORM_GROUPS:
        if name in names:
            return group
    return "other"


def read_found(paths: list[Path]) -> pd.DataFrame:
    found = pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)
    found = found.drop_duplicates("id").reset_index(drop=True)
    found["platforms"] = found["platforms"].str.replace(" ", "-")  # a tag, never words
    cached = [(row.id, read_cached(row.id)) for row in found.itertuples()]
    found["sha256"] = [sha256_text(text) for _, text in cached]
    found["bytes"] = [str(len(text.encode("utf-8"))) for _, text in cached]
    return found


def assign_parts(manifest: pd.DataFrame) -> pd.DataFrame:
    """Test by story, stratified; dev-check a fifth of the dev stories; both orders fixed by hash."""
    stories = manifest.groupby("story").first()
    stratum = (
        stories["platforms"].map(platform_group) + "|" + stories["register"] + "|" + stories["about_alibaba"]
    )
    part, check = {}, {}
    forced = set(manifest.loc[manifest["id"].isin(READ_BY_CHOOSER), "story"])
    for _, members in stratum.groupby(stratum):
        ordered = sorted(members.index, key=_hash)
        for position, story in enumerate(ordered):
            part[story] = "test" if position % TEST_SHARE == TEST_SHARE - 1 and story not in forced else "dev"
    dev_stories = sorted(
        (s for s, p in part.items() if p == "dev" and s not in forced), key=lambda s: _hash("check" + s)
    )
    for position, story in enumerate(dev_stories):
        check[story] = "yes" if position % CHECK_SHARE == 0 else "no"
    manifest["part"] = manifest["story"].map(part)
    manifest["dev_check"] = manifest["story"].map(lambda s: check.get(s, "no"))
    return manifest


def label_rows(manifest: pd.DataFrame, passes: list[pd.DataFrame], settled: pd.DataFrame) -> pd.DataFrame:
    # A page two quarantine helpers both found is labelled twice by a pass: its first rows count.
    keyed = [
        {(r["id"], r["block"]): r for r in p.drop_duplicates(["id", "block"]).to_dict("records")}
        for p in passes
    ]
    settled = {(r["id"], r["block"]): r for r in settled.to_dict("records")} if len(settled) else {}
    rows = []
    for identifier in manifest["id"]:
        text = read_cached(identifier)
        found = blocks(text)
        cut = truncated_block(text, found)
        for block in found:
            key = (identifier, str(block.index))
            kinds = [p[key]["kind"] if key in p else "" for p in keyed]
            labels = [p[key]["label"] if key in p else "" for p in keyed]
            borderline = any(p[key]["borderline"] == "yes" for p in keyed if key in p)
            if block.index == cut:
                kinds, labels = ["truncated", "truncated"], ["", ""]
            if kinds[0] == kinds[1] and labels[0] == labels[1]:
                kind, label = kinds[0], labels[0]
            elif key in settled:
                kind, label = settled[key]["kind"], settled[key]["label"]
            else:
                raise SystemExit(
                    f"{identifier} block {block.index}: the passes differ and nothing settles it"
                )
            rows.append(
                {
                    "id": identifier,
                    "block": block.index,
                    "first_line": block.first_line,
                    "last_line": block.last_line,
                    "block_sha1": block.sha1,
                    "kind": kind,
                    "label": label if kind == "content" else "",
                    "kind_pass1": kinds[0],
                    "label_pass1": labels[0] if kinds[0] == "content" else "",
                    "kind_pass2": kinds[1],
                    "label_pass2": labels[1] if kinds[1] == "content" else "",
                    "borderline": "yes" if borderline else "no",
                }
            )
    return pd.DataFrame(rows, columns=LABEL_COLUMNS)


def agreement(labels: pd.DataFrame) -> str:
    both_content = labels[(labels["kind_pass1"] == "content") & (labels["kind_pass2"] == "content")]
    kappa = cohen_kappa_score(both_content["label_pass1"], both_content["label_pass2"])
    kind_kappa = cohen_kappa_score(labels["kind_pass1"], labels["kind_pass2"])
    differ = both_content[both_content["label_pass1"] != both_content["label_pass2"]]
    return (
        f"labels: kappa {kappa:.3f} on {len(both_content)} blocks both passes call content "
        f"({len(differ)} disagreements); kinds: kappa {kind_kappa:.3f} on {len(labels)} blocks"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--found", type=Path, nargs="+", required=True)
    parser.add_argument("--pass1", type=Path, nargs="+", required=True)
    parser.add_argument("--pass2", type=Path, nargs="+", required=True)
    parser.add_argument("--settled", type=Path, nargs="*", default=[])
    parser.add_argument("--stories", type=Path, required=True)
    parser.add_argument("--drop", nargs="*", default=[], help="page ids a labeller found unusable")
    options = parser.parse_args()

    def read(paths):
        return pd.concat([pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths], ignore_index=True)

    found = read_found(options.found)
    found = found[~found["id"].isin(options.drop)]
    stories = pd.read_csv(options.stories, dtype=str, keep_default_na=False).set_index("id")["story"]
    found["story"] = found["id"].map(stories).fillna(found["id"])
    found = assign_parts(found)
    manifest = found[list(MANIFEST_COLUMNS)].sort_values("id").reset_index(drop=True)
    settled = read(options.settled) if options.settled else pd.DataFrame()
    labels = label_rows(manifest, [read(options.pass1), read(options.pass2)], settled)
    OUT.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(OUT / "manifest.csv", index=False)
    labels.to_csv(OUT / "labels.csv", index=False)
    load_labels(OUT, load_manifest(OUT))  # the schema holds
    print(agreement(labels))
    content = labels[labels["kind"] == "content"].merge(manifest[["id", "part", "dev_check"]], on="id")
    print(pd.crosstab(content["label"], content["part"]))
    print(manifest.groupby(["part", "dev_check"]).size())


if __name__ == "__main__":
    main()
