"""The CI quality gate: the model trained on the bundled data must stay above its floors.

Floors are the scores measured when the settings were chosen (README, "Figures"; the model
`make run` builds) minus a margin the support justifies:
- held-out `test` (the seeds): measured 0.679 on 43 paragraphs, 2 to 14 per label; one
  paragraph flipped in a small label moves macro-F1 by about 0.05, so the floor allows
  about two: 0.60.
- out-of-fold on the seed and realistic articles (5 groups, in context; the decision
  score's training-time twin): measured 0.851 on 1,739 paragraphs, 176 (`other`) to 336 per
  label; one paragraph moves macro-F1 by under 0.005; floor 0.82.
- realistic OOD (the headline): measured 0.873, 95% interval over articles 0.838-0.905
  (387 paragraphs, 36-76 per label); the floor sits under the interval's lower end: 0.83.
- clean OOD: measured 0.845, interval 0.796-0.892 (134 paragraphs); floor 0.79.
- article-tag micro-F1 on the realistic OOD set: measured 0.997; floor 0.90 (the issue's target).
"""

from __future__ import annotations

import pytest

TEST_FLOOR = 0.60
CV_FLOOR = 0.82
OOD_FLOOR = 0.83
OOD_CLEAN_FLOOR = 0.79
TAG_FLOOR = 0.90


def _per_label(scores: dict) -> str:
    return ", ".join(f"{label} {s['f1']:.2f} (n={s['support']})" for label, s in scores["per_label"].items())


@pytest.mark.slow
def test_held_out_cross_validated_and_ood_scores_stay_above_their_floors(trained):
    scores = trained.card["scores"]
    test, cv = scores["test"]["model"], scores["cv"]["context"]
    ood, ood_clean = scores["ood"]["model"], scores["ood-clean"]["model"]
    print(f"\nheld-out macro-F1 {test['macro_f1']:.3f}: {_per_label(test)}")
    print(f"out-of-fold (seed + realistic) macro-F1 {cv['macro_f1']:.3f}: {_per_label(cv)}")
    print(f"realistic OOD macro-F1 {ood['macro_f1']:.3f} {ood.get('macro_f1_interval')}: {_per_label(ood)}")
    print(f"clean OOD macro-F1 {ood_clean['macro_f1']:.3f}: {_per_label(ood_clean)}")
    assert test["macro_f1"] >= TEST_FLOOR
    assert cv["macro_f1"] >= CV_FLOOR
    assert ood["macro_f1"] >= OOD_FLOOR
    assert ood_clean["macro_f1"] >= OOD_CLEAN_FLOOR
    assert scores["ood"]["article_tags"]["micro_f1"] >= TAG_FLOOR


@pytest.mark.slow
def test_the_model_beats_both_baselines_on_every_split(trained):
    for split in ("test", "ood", "ood-clean"):
        report = trained.card["scores"][split]
        assert report["model"]["macro_f1"] > max(report["baselines"].values()) + 0.02, split


DETERMINISM_SCRIPT = """
import hashlib, json, sys
from pathlib import Path
from triage.corpus.labeled import load_labeled
from triage.model.pipeline import Settings
from triage.model.fit import fit_pipeline

rows = load_labeled(Path(sys.argv[1]) / "data/labeled")
rows = rows[(rows["split"] == "train") & rows["article_id"].str.match(r"seed|authored-b1")]
pipeline = fit_pipeline(Settings(), rows["text"], rows["label"])
texts = ["The court granted an injunction against the marketplace seller.", "Sales grew 30% in the quarter."]
words = pipeline.named_steps["features"].transformer_list[0][1]
print(hashlib.sha256(pipeline.predict_proba(texts).tobytes()).hexdigest())
print(hashlib.sha256(json.dumps(sorted(words.vocabulary_.items())).encode()).hexdigest())
"""


def test_training_is_deterministic_across_processes_with_different_hash_seeds():
    """Same data and settings, same model in two fresh processes whose string hashing differs
    (PYTHONHASHSEED): no unseeded randomness, no dependence on set or dict order of strings."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    outputs = [
        subprocess.run(
            [sys.executable, "-c", DETERMINISM_SCRIPT, str(root)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        ).stdout
        for seed in ("1", "2")
    ]
    assert len(outputs[0].split()) == 2
    assert outputs[0] == outputs[1]
