"""Learning curve by kind of data, always scored on one fixed set of realistic articles.

    .venv/bin/python scripts/learning_curve.py      # about 3 minutes on 2 cores

A fixed, seeded draw of EVAL_ARTICLES realistic articles is the score set: the curve never
trains on them (nor on a training row that nearly duplicates one of their rows), so every
point is scored as their leave-one-article-out folds would be. Each point trains the
paragraph pipeline (the chosen settings) on the seed training rows plus a share of ONE
kind of data: clean authored text, the other realistic articles, or independent
paragraphs (whole articles drawn as units; REPEATS draws for partial shares). A last row
trains on every kind. Writes benchmarks/results/learning_curve.{json,png,md}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from triage.corpus.labeled import LABELS, load_labeled, near_duplicate_pairs
from triage.evaluation.scores import classification_scores, predicted_labels
from triage.evaluation.training import CHOSEN_SETTINGS
from triage.model.fit import fit_pipeline
from triage.model.pipeline import align_probabilities

ROOT = Path(__file__).resolve().parents[1]


EVAL_ARTICLES = 30
SHARES = (0.25, 0.5, 1.0)
REPEATS = 2
KINDS = {"clean authored": "authored", "realistic": "realistic", "independent": "independent"}
OUT = ROOT / "benchmarks/results"


def units_share(rows: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """About `share` of `rows`, drawing whole articles (and standalone paragraphs) as units."""
    units = [group for _, group in rows.groupby("article_id")]
    order = np.random.default_rng(seed).permutation(len(units))
    chosen, total, target = [], 0, share * len(rows)
    for index in order:
        if total >= target:
            break
        chosen.append(units[index])
        total += len(units[index])
    return pd.concat(chosen)


def score(train: pd.DataFrame, held_out: pd.DataFrame) -> dict:
    pipeline = fit_pipeline(CHOSEN_SETTINGS, train["text"], train["label"])
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(list(held_out["text"])), LABELS)
    scores = classification_scores(held_out["label"], predicted_labels(own))
    return {"macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"]}


def main() -> None:
    rows = load_labeled(ROOT / "data/labeled")
    train_rows = rows[rows["split"] == "train"].reset_index(drop=True)
    realistic_ids = sorted(train_rows.loc[train_rows["source"] == "realistic", "article_id"].unique())
    eval_ids = set(np.random.default_rng(2026).choice(realistic_ids, EVAL_ARTICLES, replace=False))
    held_out = train_rows[train_rows["article_id"].isin(eval_ids)].reset_index(drop=True)
    pool = train_rows[~train_rows["article_id"].isin(eval_ids)].reset_index(drop=True)
    near = {i for i, _, _ in near_duplicate_pairs(list(pool["text"]), list(held_out["text"]))}
    pool = pool.drop(index=sorted(near)).reset_index(drop=True)
    seeds = pool[pool["source"] == "seed"]
    results = [{"kind": "seeds only", "share": 0.0, "rows": len(seeds), **score(seeds, held_out)}]
    print(f"seeds only: {results[0]}", file=sys.stderr)
    for kind, source in KINDS.items():
        rows_of_kind = pool[pool["source"] == source]
        for share in SHARES:
            for repeat in range(REPEATS if share < 1 else 1):
                added = units_share(rows_of_kind, share, repeat)
                result = score(pd.concat([seeds, added]), held_out)
                results.append({"kind": kind, "share": share, "rows": len(added), "repeat": repeat, **result})
                print(f"{kind} {share} #{repeat}: {results[-1]}", file=sys.stderr, flush=True)
    results.append(
        {"kind": "every kind", "share": 1.0, "rows": len(pool) - len(seeds), **score(pool, held_out)}
    )
    summary = {
        "eval_articles": sorted(eval_ids),
        "eval_rows": len(held_out),
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "learning_curve.json").write_text(json.dumps(summary, indent=1))
    table = markdown(results, len(held_out))
    (OUT / "learning_curve.md").write_text(table + "\n")
    plot(results)
    print(table)


def aggregate(results: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(results)
    return (
        frame.groupby(["kind", "share"], sort=False)
        .agg(
            rows=("rows", "mean"),
            runs=("macro_f1", "size"),
            mean=("macro_f1", "mean"),
            sd=("macro_f1", "std"),
        )
        .reset_index()
        .fillna({"sd": 0.0})
    )


def markdown(results: list[dict], eval_rows: int) -> str:
    lines = [
        f"| kind of data added to the seeds | share | paragraphs added | runs | macro-F1 on the fixed realistic folds ({eval_rows} paragraphs) |",
        "|---|---|---|---|---|",
    ]
    for row in aggregate(results).itertuples():
        lines.append(
            f"| {row.kind} | {row.share:.2f} | {row.rows:.0f} | {row.runs} | {row.mean:.3f} ± {row.sd:.3f} |"
        )
    return "\n".join(lines)


def plot(results: list[dict]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = aggregate(results)
    base = table[table["kind"] == "seeds only"].iloc[0]
    figure, axis = plt.subplots(figsize=(6, 4))
    for kind in KINDS:
        line = table[table["kind"] == kind]
        xs = [0] + list(line["rows"])
        ys = [base["mean"]] + list(line["mean"])
        axis.errorbar(xs, ys, yerr=[0] + list(line["sd"]), marker="o", label=kind, capsize=3)
    every = table[table["kind"] == "every kind"].iloc[0]
    axis.scatter([every["rows"]], [every["mean"]], marker="*", s=120, color="black", label="every kind")
    axis.set_xlabel("paragraphs added to the seed training rows")
    axis.set_ylabel("macro-F1, fixed realistic folds")
    axis.set_title("What each kind of data buys on text that reads like news")
    axis.legend()
    figure.tight_layout()
    figure.savefig(OUT / "learning_curve.png", dpi=120)


if __name__ == "__main__":
    main()
