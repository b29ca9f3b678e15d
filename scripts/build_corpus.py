"""Rebuild the labelled CSVs and the manifest from raw texts and the settled labels.

Run by hand after a labelling change: `python scripts/build_corpus.py`. It reads
- data/raw/*.txt (seeds), data/authored/raw/*.txt, data/ood/raw/*.txt (articles),
- data/labeled/passes/<set>.final.csv: the settled label of every paragraph
  (article_id, paragraph, label; standalone authored paragraphs also carry their text),
- data/labeled/passes/<set>.articles.csv: title, register and about_alibaba per article,
and writes data/labeled/{paragraphs,authored,ood}.csv and data/articles.csv. Paragraph
texts of articles always come from ingesting the raw file, so the CSVs are what the
project's own ingestion makes of the raw data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from triage.corpus.labeled import MANIFEST_COLUMNS, load_labeled, near_duplicate_pairs, write_labeled
from triage.ingestion.article import ingest

ROOT = Path(__file__).resolve().parents[1]


PASSES = ROOT / "data/labeled/passes"
# The fixed held-out split: whole seed articles, so no test paragraph shares an article
# (and its retold quotes) with training. 001 and 003 together hold 43 of 151 paragraphs
# and every label; test_split.py checks coverage and near-duplicates.
TEST_ARTICLES = ("seed-001", "seed-003")

# A settled label of "-" removes a row that ingestion makes (a near-duplicate; see below).
DROPPED = "-"

# "by_text": the settled labels carry each paragraph's text and are matched to ingested
# paragraphs by it, so an ingestion change that drops a furniture line or moves an index
# cannot move a label; articles with no raw file (the shared realistic articles) are
# taken as their labelled rows.
SETS = {
    "seed": {"raw": ROOT / "data/raw", "out": "paragraphs.csv"},
    "authored": {"raw": ROOT / "data/authored/raw", "out": "authored.csv", "by_text": True},
    "realistic": {"raw": ROOT / "data/realistic/raw", "out": "realistic.csv", "by_text": True},
    "independent": {"raw": None, "out": "independent.csv", "by_text": True},
    "ood": {"raw": ROOT / "data/ood/raw", "out": "ood.csv"},
    "ood_realistic": {"raw": ROOT / "data/ood_realistic/raw", "out": "ood_realistic.csv", "by_text": True},
}
SHARED_SOURCE_FILE = {
    "realistic": "data/shared/realistic_articles.csv",
    "independent": "data/shared/independent_paragraphs.csv",
}
SPLIT = {"seed": "train", "authored": "train", "realistic": "train", "independent": "train"}


def seed_article_id(path: Path) -> str:
    return f"seed-{path.name[:3]}"


def article_id_for(source: str, path: Path) -> str:
    return seed_article_id(path) if source == "seed" else path.stem


def build(source: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    final_path = PASSES / f"{source}.final.csv"
    if not final_path.exists():
        return None
    if SETS[source].get("by_text"):
        return build_by_text(source, final_path)
    settled = pd.read_csv(final_path, dtype=str, keep_default_na=False)
    settled["paragraph"] = settled["paragraph"].astype(int)
    labels = {(row.article_id, row.paragraph): row.label for row in settled.itertuples()}
    meta_path = PASSES / f"{source}.articles.csv"
    meta = pd.read_csv(meta_path, dtype=str, keep_default_na=False).set_index("article_id")

    rows, manifest = [], []
    for path in sorted(SETS[source]["raw"].glob("*.txt")):
        article_id = article_id_for(source, path)
        article = ingest(path.read_text(encoding="utf-8"))
        for paragraph in article.paragraphs:
            key = (article_id, paragraph.index)
            if key not in labels:
                raise SystemExit(f"{final_path}: no label for {article_id} paragraph {paragraph.index}")
            if labels[key] == DROPPED:
                labels.pop(key)
                continue
            rows.append(
                {
                    "article_id": article_id,
                    "paragraph": paragraph.index,
                    "text": paragraph.text,
                    "label": labels.pop(key),
                }
            )
        info = meta.loc[article_id]
        manifest.append(
            {
                "article_id": article_id,
                "source": source,
                "source_file": str(path.relative_to(ROOT)),
                "title": article.title or "",
                "register": info["register"],
                "about_alibaba": info["about_alibaba"],
            }
        )
    # What is left are standalone authored paragraphs (no raw file): text from the final file.
    for (article_id, paragraph), label in labels.items():
        if label == DROPPED:
            continue
        if source != "authored" or paragraph != 0:
            raise SystemExit(
                f"{final_path}: {article_id} paragraph {paragraph} matches no ingested paragraph"
            )
        text = settled.loc[(settled.article_id == article_id) & (settled.paragraph == 0), "text"].iloc[0]
        rows.append({"article_id": article_id, "paragraph": 0, "text": text, "label": label})
    frame = pd.DataFrame(rows)
    if source == "seed":
        frame["split"] = ["test" if a in TEST_ARTICLES else "train" for a in frame["article_id"]]
    else:
        frame["split"] = SPLIT.get(source, "ood")
    frame["source"] = source
    return frame, pd.DataFrame(manifest, columns=list(MANIFEST_COLUMNS))


def build_by_text(source: str, final_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of a set whose settled labels carry their text (see SETS)."""
    settled = pd.read_csv(final_path, dtype=str, keep_default_na=False)
    settled["paragraph"] = settled["paragraph"].astype(int)
    meta_path = PASSES / f"{source}.articles.csv"
    meta = (
        pd.read_csv(meta_path, dtype=str, keep_default_na=False).set_index("article_id")
        if meta_path.exists()
        else None
    )
    raw_dir = SETS[source]["raw"]
    raw_files = {path.stem: path for path in sorted(raw_dir.glob("*.txt"))} if raw_dir else {}
    rows, manifest = [], []
    for article_id, labelled in settled.groupby("article_id", sort=True):
        labelled = labelled.sort_values("paragraph")
        if article_id in raw_files:
            path = raw_files[article_id]
            article = ingest(path.read_text(encoding="utf-8"))
            by_text = dict(zip(labelled["text"], labelled["label"], strict=False))
            for paragraph in article.paragraphs:
                if paragraph.text not in by_text:
                    raise SystemExit(
                        f"{final_path}: no label for {article_id} paragraph {paragraph.index}: "
                        f"{paragraph.text[:80]!r}"
                    )
                rows.append((article_id, paragraph.index, paragraph.text, by_text[paragraph.text]))
            kept = set(article.texts)
            for row in labelled.itertuples():
                if row.text not in kept and row.label not in ("other", DROPPED):
                    print(f"  note: {article_id} paragraph {row.paragraph} ({row.label}) no longer ingested")
            source_file, title = str(path.relative_to(ROOT)), article.title or ""
        else:
            for row in labelled.itertuples():
                if row.label != DROPPED:
                    rows.append((article_id, row.paragraph, row.text, row.label))
            source_file = SHARED_SOURCE_FILE.get(source, "")
            title = meta.loc[article_id, "title"] if meta is not None and "title" in meta else ""
        if meta is not None and article_id in meta.index:  # standalone paragraphs are no article
            info = meta.loc[article_id]
            manifest.append(
                {
                    "article_id": article_id,
                    "source": source,
                    "source_file": source_file,
                    "title": title,
                    "register": info["register"],
                    "about_alibaba": info["about_alibaba"],
                }
            )
    frame = pd.DataFrame(rows, columns=["article_id", "paragraph", "text", "label"])
    frame["split"] = SPLIT.get(source, "ood")
    frame["source"] = source
    return frame, pd.DataFrame(manifest, columns=list(MANIFEST_COLUMNS))


def drop_near_duplicates(rows: pd.DataFrame, training: pd.DataFrame, within: bool) -> pd.DataFrame:
    """Remove rows that nearly duplicate a training row (and, `within`, an earlier row).

    Of two near-duplicates inside one set the later row goes, standalone paragraphs before
    article paragraphs, so that whole articles stay whole where possible.
    """
    order = rows.assign(standalone=rows["paragraph"].eq(0) & ~rows["article_id"].isin(ARTICLE_IDS))
    order = order.sort_values(["standalone", "article_id", "paragraph"], ascending=[True, True, True])
    texts = list(order["text"])
    doomed = (
        {i for i, _, _ in near_duplicate_pairs(texts, list(training["text"]))} if len(training) else set()
    )
    if within:
        doomed |= {max(i, j) for i, j, _ in near_duplicate_pairs(texts, texts) if i != j}
    kept = order.drop(order.index[sorted(doomed)]).drop(columns="standalone")
    for row in order.iloc[sorted(doomed)].itertuples():
        print(f"  near-duplicate dropped: {row.article_id} paragraph {row.paragraph}")
    return kept.sort_values(["article_id", "paragraph"]).reset_index(drop=True)


ARTICLE_IDS: set[str] = set()


def main() -> None:
    manifests, built_rows = [], {}
    for source, spec in SETS.items():
        built = build(source)
        if built is None:
            continue
        frame, manifest = built
        ARTICLE_IDS.update(manifest["article_id"])
        if SPLIT.get(source) == "train" and source != "seed":
            earlier = pd.concat([built_rows[name] for name in built_rows])
            frame = drop_near_duplicates(frame, earlier, within=True)
        elif source != "seed":
            training = pd.concat([rows for name, rows in built_rows.items() if SPLIT.get(name) == "train"])
            frame = drop_near_duplicates(frame, training, within=False)
        built_rows[source] = frame
        write_labeled(frame, ROOT / "data/labeled" / spec["out"])
        manifests.append(manifest)
        print(f"{spec['out']}: {len(frame)} rows, {len(manifest)} articles")
    pd.concat(manifests).to_csv(ROOT / "data/articles.csv", index=False, lineterminator="\n")
    load_labeled(ROOT / "data/labeled")  # refuse to leave an invalid corpus behind


if __name__ == "__main__":
    main()
