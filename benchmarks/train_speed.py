"""How long `triage train` takes, as a ratio to one fit of the pipeline on the same rows.

    .venv/bin/python benchmarks/train_speed.py

Both run in this process, one after the other, on the bundled data with the chosen
settings: first one `fit_pipeline` on every training row (the floor: no training can be
cheaper), then the whole `triage.train` (out-of-fold predictions in TRAINING_FOLDS groups
of articles, the final fit, the post-hoc fit, scoring the report-only splits, saving).
The out-of-fold cache is switched off so nothing is reused. Not a test: it prints figures.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from triage.corpus.labeled import load_labeled
from triage.evaluation.training import CHOSEN_SETTINGS, TRAINING_FOLDS, train, training_rows
from triage.model.fit import fit_pipeline

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    os.environ.pop("TRIAGE_OOF_CACHE", None)  # nothing reused: every fold is fitted
    rows = training_rows(load_labeled(ROOT / "data/labeled"))
    started = time.perf_counter()
    fit_pipeline(CHOSEN_SETTINGS, rows["text"], rows["label"])
    one_fit = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        train(ROOT / "data/labeled", Path(folder) / "triage.json", manifest_path=ROOT / "data/articles.csv")
        whole = time.perf_counter() - started
    print(f"one pipeline fit on {len(rows)} rows   {one_fit:6.1f} s  = 1.0")
    print(
        f"triage train ({TRAINING_FOLDS} groups, n_jobs 2)  {whole:6.1f} s  = {whole / one_fit:.1f} x one fit"
    )


if __name__ == "__main__":
    main()
