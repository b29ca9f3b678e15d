"""Are 5 groups of articles as good as one fold per article for `triage train`'s choices?

    .venv/bin/python scripts/training_folds_check.py     # about 10 minutes on 2 cores

With the chosen settings, out-of-fold predictions of the decision articles (seed and
realistic training articles) are made twice: leave-one-article-out, and in
TRAINING_FOLDS groups of articles as `triage train` does. For each, the post-hoc state is
fitted on them and the decision score (in-context macro-F1) and the fitted thresholds are
printed, with the difference. Not a test: it prints figures.
"""

from __future__ import annotations

import json
from pathlib import Path

from triage.corpus.labeled import load_labeled, load_manifest
from triage.evaluation.training import CHOSEN_SETTINGS, TRAINING_FOLDS, out_of_fold_choices, training_rows

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    rows = training_rows(load_labeled(ROOT / "data/labeled"))
    manifest = load_manifest(ROOT / "data/articles.csv")
    results = {}
    for name, n_folds in (("leave-one-article-out", None), (f"{TRAINING_FOLDS} groups", TRAINING_FOLDS)):
        choices = out_of_fold_choices(rows, manifest, CHOSEN_SETTINGS, n_jobs=2, n_folds=n_folds)
        results[name] = {
            "decision_score": choices["scores"]["context"]["macro_f1"],
            "paragraph_macro_f1": choices["scores"]["paragraph"]["macro_f1"],
            "temperature": choices["context_temperature"],
            "thresholds": choices["thresholds"]["context"],
        }
        print(f"{name}: {json.dumps(results[name])}", flush=True)
    loao, grouped = results.values()
    print(
        f"decision score difference (groups - LOAO): {grouped['decision_score'] - loao['decision_score']:+.4f}"
    )
    out = ROOT / "benchmarks/results/training_folds_check.json"
    out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
