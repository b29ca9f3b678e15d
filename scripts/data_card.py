"""Print the data card's tables (counts per label, source, split, article) as Markdown.

.venv/bin/python scripts/data_card.py
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from triage.corpus.labeled import LABELS, load_labeled, load_manifest

ROOT = Path(__file__).resolve().parents[1]


def table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join([frame.index.name or "", *map(str, frame.columns)]) + " |"
    lines = [header, "|" + "---|" * (len(frame.columns) + 1)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *map(str, row.tolist())]) + " |")
    return "\n".join(lines)


def main() -> None:
    rows = load_labeled(ROOT / "data/labeled")
    manifest = load_manifest(ROOT / "data/articles.csv")
    rows["set"] = rows["source"] + "/" + rows["split"]
    by_label = pd.crosstab(rows["label"], rows["set"], margins=True, margins_name="total").reindex(
        [*LABELS, "total"]
    )
    by_label.index.name = "label"
    print("### Paragraphs per label, source and split\n")
    print(table(by_label))
    seeds = rows[rows["source"] == "seed"]
    per_article = pd.crosstab(seeds["article_id"], seeds["label"]).reindex(columns=list(LABELS), fill_value=0)
    per_article["split"] = seeds.groupby("article_id")["split"].first()
    per_article.index.name = "seed article"
    print("\n### Seed paragraphs per article\n")
    print(table(per_article))
    info = manifest.set_index("article_id")
    articles = rows[rows["article_id"].isin(info.index) & (rows["source"] != "seed")]
    grouped = articles.groupby("article_id").agg(rows=("text", "size"))
    grouped["source"] = grouped.index.map(info["source"])
    grouped["register"] = grouped.index.map(info["register"])
    grouped["about_alibaba"] = grouped.index.map(info["about_alibaba"])
    summary = grouped.groupby(["source", "register", "about_alibaba"]).agg(
        articles=("rows", "size"), paragraphs=("rows", "sum")
    )
    summary.index = [" / ".join(index) for index in summary.index]
    summary.index.name = "source / register / about Alibaba"
    print("\n### Whole articles beyond the seeds\n")
    print(table(summary))
    standalone = rows[(rows["source"] == "authored") & ~rows["article_id"].isin(info.index)]
    print(
        f"\nStandalone authored paragraphs: {len(standalone)}; authored paragraphs in articles: "
        f"{len(rows[(rows['source'] == 'authored') & rows['article_id'].isin(info.index)])}."
    )
    batches = rows[rows["source"] == "authored"].assign(batch=lambda f: f["article_id"].str.split("-").str[1])
    per_batch = pd.crosstab(batches["batch"], batches["label"]).reindex(columns=list(LABELS))
    per_batch.index.name = "batch"
    print("\n### Authored paragraphs per batch\n")
    print(table(per_batch))
    realistic = rows[rows["source"].isin(["realistic", "ood_realistic"])]
    realistic = realistic.assign(
        batch=realistic["article_id"].str.extract(r"^(?:realistic-|shared-|oodreal-)?([a-z0-9]+)-")[0]
    )
    per_batch = pd.crosstab(realistic["batch"], realistic["label"]).reindex(
        columns=list(LABELS), fill_value=0
    )
    per_batch["articles"] = realistic.groupby("batch")["article_id"].nunique()
    per_batch.index.name = "batch"
    print("\n### Realistic paragraphs per batch (training: r1-r5, ra, rb; out-of-domain: a, b)\n")
    print(table(per_batch))


if __name__ == "__main__":
    main()
