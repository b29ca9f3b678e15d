"""Does a new authored batch pay? LOAO with and without it, scored on the same folds.

    .venv/bin/python scripts/data_gain.py b7 b8

Both runs use the chosen settings. Scores are computed only on the folds both runs share
(the seed training articles and the other authored articles), so the new batch's own,
possibly easier, folds cannot flatter it. The OOD set is not used.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from triage.corpus import load_labeled, load_manifest  # noqa: E402
from triage.evaluation import classification_scores, out_of_fold_probabilities, predicted_labels  # noqa: E402
from triage.training import CHOSEN_SETTINGS  # noqa: E402


def main() -> None:
    batches = sys.argv[1:]
    if not batches:
        raise SystemExit("usage: data_gain.py BATCH [BATCH ...]   (e.g. b7 b8)")
    rows = load_labeled(ROOT / "data/labeled")
    manifest = load_manifest(ROOT / "data/articles.csv")
    train = rows[rows["split"] == "train"].reset_index(drop=True)
    new = train["article_id"].str.split("-").str[1].isin(batches) & (train["source"] == "authored")
    results = {}
    for name, subset in (("without", train[~new]), ("with", train)):
        scored, probabilities, _ = out_of_fold_probabilities(
            subset, CHOSEN_SETTINGS, set(manifest["article_id"])
        )
        shared = ~(
            scored["article_id"].str.split("-").str[1].isin(batches) & (scored["source"] == "authored")
        )
        predicted = np.array(predicted_labels(probabilities))
        seed = (scored["source"] == "seed").to_numpy()
        results[name] = {
            "shared folds": classification_scores(scored["label"][shared], predicted[shared.to_numpy()])[
                "macro_f1"
            ],
            "seed folds": classification_scores(scored["label"][seed], predicted[seed])["macro_f1"],
            "authored folds (shared)": classification_scores(
                scored["label"][shared & ~seed], predicted[(shared & ~seed).to_numpy()]
            )["macro_f1"],
        }
        print(
            f"{name} {', '.join(batches)} ({int(new.sum()) if name == 'with' else 0} rows): {results[name]}",
            flush=True,
        )
    decision = {name: (r["seed folds"] + r["authored folds (shared)"]) / 2 for name, r in results.items()}
    print(
        f"decision score (mean of seed and authored folds): without {decision['without']:.3f}, with {decision['with']:.3f}"
    )


if __name__ == "__main__":
    main()
