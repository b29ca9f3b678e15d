"""Does labelling by uncertainty pay? A simulation of `triage label` on existing labels.

    .venv/bin/python scripts/active_learning_curve.py      # about 5 minutes on 2 cores

The realistic training articles (data/labeled/realistic.csv) are split by article, per
seed: a pool of POOL_SHARE of the articles and a scoring set of the rest (less any scoring
row that nearly duplicates a pool or seed row). A model starts from the seed training rows
and, each round, "labels" the next BATCH pool paragraphs, revealing their existing labels
in ranked order: `margin` (smallest gap between the current model's top two probabilities,
what `triage label` does by default) or `random`. It is refitted (the paragraph pipeline
with the chosen settings, model.Settings) and scored on the scoring set (macro-F1). Each
seed draws its own split and random order. Paragraph-level, without article context: the
context model's post-hoc state would need out-of-fold fits every round, and the ranking
question is the same. No label is made here; the pool's labels were made by people.

Writes benchmarks/results/active_learning_curve.{json,md} and docs/active_learning_curve.png.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from triage.annotation.queue import uncertainty_scores
from triage.corpus.labeled import LABELS, load_labeled, near_duplicate_pairs
from triage.evaluation.scores import macro_f1, predicted_labels
from triage.evaluation.training import CHOSEN_SETTINGS
from triage.model.fit import fit_pipeline
from triage.model.pipeline import align_probabilities

ROOT = Path(__file__).resolve().parents[1]


POOL_SHARE = 0.6
BATCH = 50
ROUNDS = 12
SEEDS = (0, 1, 2)
STRATEGIES = ("margin", "random")
RESULTS = ROOT / "benchmarks/results"
FIGURE = ROOT / "docs/active_learning_curve.png"


def split_by_article(realistic: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    articles = np.array(sorted(realistic["article_id"].unique()))
    order = np.random.default_rng(seed).permutation(len(articles))
    pool_ids = set(articles[order[: int(round(POOL_SHARE * len(articles)))]])
    in_pool = realistic["article_id"].isin(pool_ids)
    return realistic[in_pool].reset_index(drop=True), realistic[~in_pool].reset_index(drop=True)


def without_near_duplicates(scoring: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
    duplicated = {i for i, _, _ in near_duplicate_pairs(list(scoring["text"]), list(others["text"]))}
    return scoring.drop(index=sorted(duplicated)).reset_index(drop=True)


def fit(rows: pd.DataFrame):
    return fit_pipeline(CHOSEN_SETTINGS, rows["text"], rows["label"])


def probabilities(pipeline, texts) -> np.ndarray:
    return align_probabilities(pipeline.classes_, pipeline.predict_proba(list(texts)), LABELS)


def run_curve(seeds_rows, pool, scoring, strategy: str, seed: int) -> list[dict]:
    """Macro-F1 on `scoring` after 0, BATCH, 2*BATCH, ... pool labels revealed by `strategy`."""
    revealed = np.zeros(len(pool), dtype=bool)
    random_order = np.random.default_rng(1000 + seed).permutation(len(pool))
    points = []
    for round_number in range(ROUNDS + 1):
        train = pd.concat([seeds_rows, pool[revealed]], ignore_index=True)
        pipeline = fit(train)
        predicted = predicted_labels(probabilities(pipeline, scoring["text"]))
        points.append({"labels": int(revealed.sum()), "macro_f1": macro_f1(scoring["label"], predicted)})
        if round_number == ROUNDS:
            break
        hidden = np.flatnonzero(~revealed)
        if strategy == "random":
            chosen = [i for i in random_order if not revealed[i]][:BATCH]
        else:
            scores = uncertainty_scores(probabilities(pipeline, pool.loc[hidden, "text"]), strategy)
            chosen = hidden[np.argsort(-scores, kind="stable")[:BATCH]]
        revealed[chosen] = True
    return points


def labels_needed(curve: list[tuple[int, float]], target: float) -> float | None:
    """The number of labels at which a mean curve first reaches `target` (linear between points)."""
    for (n0, f0), (n1, f1) in zip(curve, curve[1:], strict=False):
        if f0 >= target:
            return float(n0)
        if f1 >= target:
            return n0 + (target - f0) / (f1 - f0) * (n1 - n0)
    return curve[-1][0] if curve[-1][1] >= target else None


def main() -> None:
    started = time.perf_counter()
    rows = load_labeled(ROOT / "data/labeled")
    seeds_rows = rows[(rows["source"] == "seed") & (rows["split"] == "train")].reset_index(drop=True)
    realistic = rows[rows["source"] == "realistic"].reset_index(drop=True)
    runs = []
    for seed in SEEDS:
        pool, scoring = split_by_article(realistic, seed)
        scoring = without_near_duplicates(scoring, pd.concat([pool, seeds_rows]))
        full = fit(pd.concat([seeds_rows, pool]))
        full_score = macro_f1(scoring["label"], predicted_labels(probabilities(full, scoring["text"])))
        for strategy in STRATEGIES:
            points = run_curve(seeds_rows, pool, scoring, strategy, seed)
            runs.append({"seed": seed, "strategy": strategy, "points": points, "whole_pool": full_score})
            print(
                f"seed {seed} {strategy:<6} pool {len(pool)} scoring {len(scoring)}: "
                + " ".join(f"{p['macro_f1']:.3f}" for p in points),
                flush=True,
            )
    label_counts = [p["labels"] for p in runs[0]["points"]]
    mean = {
        strategy: [
            float(np.mean([r["points"][k]["macro_f1"] for r in runs if r["strategy"] == strategy]))
            for k in range(len(label_counts))
        ]
        for strategy in STRATEGIES
    }
    spread = {
        strategy: [
            float(np.std([r["points"][k]["macro_f1"] for r in runs if r["strategy"] == strategy]))
            for k in range(len(label_counts))
        ]
        for strategy in STRATEGIES
    }
    whole_pool = float(np.mean([r["whole_pool"] for r in runs if r["strategy"] == "margin"]))
    savings = []
    for n, random_score in zip(label_counts[1:], mean["random"][1:], strict=True):
        needed = labels_needed(list(zip(label_counts, mean["margin"], strict=True)), random_score)
        savings.append(
            {"random_labels": n, "random_macro_f1": round(random_score, 4), "margin_labels": needed}
        )
    seconds = time.perf_counter() - started
    result = {
        "pool_share": POOL_SHARE,
        "batch": BATCH,
        "rounds": ROUNDS,
        "seeds": list(SEEDS),
        "labels": label_counts,
        "mean_macro_f1": {k: [round(v, 4) for v in values] for k, values in mean.items()},
        "std_macro_f1": {k: [round(v, 4) for v in values] for k, values in spread.items()},
        "whole_pool_macro_f1": round(whole_pool, 4),
        "margin_labels_for_random_score": savings,
        "runs": runs,
        "seconds": round(seconds, 1),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "active_learning_curve.json").write_text(json.dumps(result, indent=2) + "\n")
    table = render_table(result)
    (RESULTS / "active_learning_curve.md").write_text(table)
    print(table)
    plot(result)
    print(f"{seconds:.0f} s; wrote {FIGURE.relative_to(ROOT)} and benchmarks/results/active_learning_curve.*")


def render_table(result: dict) -> str:
    lines = [
        "| labels | margin macro-F1 | random macro-F1 | margin - random | labels margin needs for random's score |",
        "|---|---|---|---|---|",
    ]
    needed = {s["random_labels"]: s["margin_labels"] for s in result["margin_labels_for_random_score"]}
    for k, n in enumerate(result["labels"]):
        margin, random = result["mean_macro_f1"]["margin"][k], result["mean_macro_f1"]["random"][k]
        need = needed.get(n)
        shown = "" if n == 0 else ("not reached" if need is None else f"{need:.0f}")
        lines.append(f"| {n} | {margin:.3f} | {random:.3f} | {margin - random:+.3f} | {shown} |")
    lines.append(
        f"\nMean over seeds {result['seeds']}; batches of {result['batch']}; "
        f"every pool label (whole pool): {result['whole_pool_macro_f1']:.3f}.\n"
    )
    return "\n".join(lines)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6.5, 4))
    for strategy, colour in (("margin", "tab:blue"), ("random", "tab:grey")):
        mean = np.array(result["mean_macro_f1"][strategy])
        spread = np.array(result["std_macro_f1"][strategy])
        axes.plot(
            result["labels"],
            mean,
            marker="o",
            color=colour,
            label=f"{strategy} (mean of {len(result['seeds'])} seeds)",
        )
        axes.fill_between(result["labels"], mean - spread, mean + spread, color=colour, alpha=0.15)
    axes.axhline(result["whole_pool_macro_f1"], color="black", linestyle=":", label="whole pool labelled")
    axes.set_xlabel("pool paragraphs labelled (on top of the seed training rows)")
    axes.set_ylabel("macro-F1 on held-out realistic articles")
    axes.set_title("Labelling by uncertainty (margin) against random order")
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(FIGURE, dpi=120)


if __name__ == "__main__":
    main()
