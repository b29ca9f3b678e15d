"""The CI quality gate: the model trained on the bundled data must stay above its floors.

Floors are the scores measured when the settings were chosen (README, "Figures") minus a
margin the per-label support justifies:
- held-out `test`: measured 0.647 on 43 paragraphs, two of them `regulatory_listing` and four
  `other`; one paragraph flipped in such a label moves macro-F1 by about 0.05, so the floor
  allows two: 0.55.
- LOAO (in context): measured 0.913 on 560 out-of-fold paragraphs, 69 to 138 per label; one
  paragraph moves macro-F1 by under 0.005; the floor is kept at 0.83, where it was set when
  LOAO measured 0.886 on fewer articles (0.05 under that).
- OOD: measured 0.937, 95% interval over articles 0.892-0.979 (138 paragraphs, 18-30 per
  label); the floor sits under the interval's lower end: 0.85.
"""

from __future__ import annotations

import pytest

TEST_FLOOR = 0.55
LOAO_FLOOR = 0.83
OOD_FLOOR = 0.85
TAG_FLOOR = 0.85


def _per_label(scores: dict) -> str:
    return ", ".join(f"{label} {s['f1']:.2f} (n={s['support']})" for label, s in scores["per_label"].items())


@pytest.mark.slow
def test_held_out_loao_and_ood_scores_stay_above_their_floors(trained):
    scores = trained.card["scores"]
    test, loao, ood = scores["test"]["model"], scores["loao"]["context"], scores["ood"]["model"]
    print(f"\nheld-out macro-F1 {test['macro_f1']:.3f}: {_per_label(test)}")
    print(f"LOAO macro-F1 {loao['macro_f1']:.3f}: {_per_label(loao)}")
    print(f"OOD macro-F1 {ood['macro_f1']:.3f} {ood.get('macro_f1_interval')}: {_per_label(ood)}")
    print(
        f"article-tag micro-F1: LOAO {loao['article_tags']['micro_f1']:.3f}, OOD {scores['ood']['article_tags']['micro_f1']:.3f}"
    )
    assert test["macro_f1"] >= TEST_FLOOR
    assert loao["macro_f1"] >= LOAO_FLOOR
    assert ood["macro_f1"] >= OOD_FLOOR
    assert scores["ood"]["article_tags"]["micro_f1"] >= TAG_FLOOR


@pytest.mark.slow
def test_the_model_beats_both_baselines_on_every_split(trained):
    for split in ("test", "ood"):
        report = trained.card["scores"][split]
        assert report["model"]["macro_f1"] > max(report["baselines"].values()) + 0.02, split


def test_training_is_deterministic():
    """Same data and settings, same predictions (no unseeded randomness anywhere)."""
    from pathlib import Path

    import numpy as np

    from triage.corpus import load_labeled
    from triage.model import Settings, fit_pipeline

    rows = load_labeled(Path(__file__).resolve().parents[1] / "data/labeled")
    rows = rows[(rows["split"] == "train") & rows["article_id"].str.match(r"seed|authored-b1")]
    fits = [fit_pipeline(Settings(), rows["text"], rows["label"], rows["article_id"]) for _ in range(2)]
    texts = [
        "The court granted an injunction against the marketplace seller.",
        "Sales grew 30% in the quarter.",
    ]
    assert np.array_equal(fits[0].predict_proba(texts), fits[1].predict_proba(texts))
