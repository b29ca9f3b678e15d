"""Learning curve: what authored paragraphs buy (run by hand, not a test; ~15 minutes on 2 cores).

    .venv/bin/python scripts/learning_curve.py

For each size n, several random subsets of n authored paragraphs (whole authored articles
are drawn as units, so their LOAO folds stay whole) are added to the seed training rows,
with the chosen settings. LOAO macro-F1 decides whether more data still pays; it is given
over all folds (whose mix changes with n) and over the three seed training articles only
(the same folds at every size: real scraped text). OOD macro-F1 (fit on all of them) only
reports. Writes benchmarks/results/learning_curve.{json,png} and prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from triage.corpus import LABELS, load_labeled, load_manifest  # noqa: E402
from triage.evaluation import classification_scores, out_of_fold_probabilities, predicted_labels  # noqa: E402
from triage.model import align_probabilities, fit_pipeline  # noqa: E402
from triage.training import CHOSEN_SETTINGS  # noqa: E402

SIZES = (0, 100, 200, 400, None)  # None: every authored paragraph (787)
REPEATS = 2
OUT = ROOT / "benchmarks/results"


def subset(authored: pd.DataFrame, size: int | None, seed: int) -> pd.DataFrame:
    """About `size` authored rows, drawing whole articles and standalone paragraphs as units."""
    if size is None:
        return authored
    units = [group for _, group in authored.groupby("article_id")]
    order = np.random.default_rng(seed).permutation(len(units))
    chosen, total = [], 0
    for index in order:
        if total >= size:
            break
        chosen.append(units[index])
        total += len(units[index])
    return pd.concat(chosen) if chosen else authored.iloc[:0]


def main() -> None:
    rows = load_labeled(ROOT / "data/labeled")
    manifest = load_manifest(ROOT / "data/articles.csv")
    seeds = rows[(rows["source"] == "seed") & (rows["split"] == "train")]
    authored = rows[rows["source"] == "authored"]
    ood = rows[rows["split"] == "ood"].reset_index(drop=True)
    results = []
    for size in SIZES:
        for repeat in range(REPEATS if size not in (0, None) else 1):
            train = pd.concat([seeds, subset(authored, size, repeat)]).reset_index(drop=True)
            scored, probabilities, _ = out_of_fold_probabilities(
                train, CHOSEN_SETTINGS, set(manifest["article_id"])
            )
            predicted = np.array(predicted_labels(probabilities))
            seed_rows = (scored["source"] == "seed").to_numpy()
            pipeline = fit_pipeline(CHOSEN_SETTINGS, train["text"], train["label"], train["article_id"])
            ood_predicted = predicted_labels(
                align_probabilities(pipeline.classes_, pipeline.predict_proba(list(ood["text"])), LABELS)
            )
            result = {
                "authored": int(len(train) - len(seeds)),
                "repeat": repeat,
                "loao_macro_f1": classification_scores(scored["label"], predicted)["macro_f1"],
                "loao_seed_macro_f1": classification_scores(scored["label"][seed_rows], predicted[seed_rows])[
                    "macro_f1"
                ],
                "ood_macro_f1": classification_scores(ood["label"], ood_predicted)["macro_f1"],
            }
            results.append(result)
            print(result, file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "learning_curve.json").write_text(json.dumps(results, indent=1))
    frame = pd.DataFrame(results)
    frame["size"] = frame["authored"].round(-2).where(frame["authored"] < 700, frame["authored"])
    summary = (
        frame.groupby("size")
        .agg(
            runs=("repeat", "size"),
            authored=("authored", "mean"),
            loao=("loao_macro_f1", "mean"),
            loao_sd=("loao_macro_f1", "std"),
            loao_seed=("loao_seed_macro_f1", "mean"),
            loao_seed_sd=("loao_seed_macro_f1", "std"),
            ood=("ood_macro_f1", "mean"),
            ood_sd=("ood_macro_f1", "std"),
        )
        .fillna(0.0)
    )
    plot(summary)
    print(
        "| authored paragraphs | runs | LOAO macro-F1 (all folds) | LOAO macro-F1 (seed folds) | OOD macro-F1 (reports only) |"
    )
    print("|---|---|---|---|---|")
    for _, row in summary.iterrows():
        print(
            f"| {row.authored:.0f} | {row.runs:.0f} | {row.loao:.3f} ± {row.loao_sd:.3f} | {row.loao_seed:.3f} ± {row.loao_seed_sd:.3f} "
            f"| {row.ood:.3f} ± {row.ood_sd:.3f} |"
        )


def plot(summary: pd.DataFrame) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    for column, label in (
        ("loao", "LOAO, all folds (decides)"),
        ("loao_seed", "LOAO, seed folds (decides)"),
        ("ood", "OOD (reports only)"),
    ):
        axis.errorbar(
            summary["authored"],
            summary[column],
            yerr=summary[f"{column}_sd"],
            marker="o",
            capsize=3,
            label=label,
        )
    axis.set_xlabel("authored training paragraphs")
    axis.set_ylabel("macro-F1")
    axis.set_ylim(0, 1)
    axis.grid(alpha=0.3)
    axis.legend(loc="lower right")
    axis.set_title("What authored paragraphs buy")
    figure.tight_layout()
    figure.savefig(OUT / "learning_curve.png", dpi=120)


if __name__ == "__main__":
    main()
