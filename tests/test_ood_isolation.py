"""The OOD set only measures: it never reaches training, threshold choice or the lexicon."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

import triage.evaluation.scores as evaluate_module
import triage.evaluation.training as train_module
from triage.corpus.labeled import LABELED_FILES, load_labeled, write_labeled
from triage.evaluation.baselines import cue_lexicon
from triage.evaluation.scores import loao_folds

ROOT = Path(__file__).resolve().parents[1]


def test_loao_folds_never_use_test_or_ood_rows():
    rows = load_labeled(ROOT / "data/labeled")
    used = set()
    for fold in loao_folds(rows):
        used |= set(fold.train_index) | set(fold.test_index)
    assert set(rows.iloc[sorted(used)]["split"]) == {"train"}


def test_training_sees_no_ood_text_in_fitting_or_threshold_choice(tmp_path, monkeypatch):
    rows = load_labeled(ROOT / "data/labeled")
    small = pd.concat(
        [
            rows[rows["source"] == "seed"],
            rows[rows["article_id"].str.startswith("authored-b1-00")],  # a few authored articles
            rows[rows["article_id"].str.startswith("realistic-r1-00")],  # a few realistic ones
            rows[rows["split"] == "ood"],
        ]
    )
    data = tmp_path / "labeled"
    data.mkdir()
    for name, source in LABELED_FILES.items():
        if (small["source"] == source).any():
            write_labeled(small[small["source"] == source], data / name)
    shutil.copy(ROOT / "data/articles.csv", tmp_path / "articles.csv")
    seen_in_fit: list[str] = []
    seen_in_choice: list[str] = []  # rows whose out-of-fold predictions choose the thresholds
    real_fit = train_module.fit_pipeline

    def recording_fit(settings, texts, labels):
        seen_in_fit.extend(texts)
        return real_fit(settings.replace(char_ngrams=None), texts, labels)

    monkeypatch.setattr(train_module, "fit_pipeline", recording_fit)
    monkeypatch.setattr("triage.model.fit.fit_pipeline", recording_fit)
    monkeypatch.setattr(
        train_module,
        "out_of_fold_probabilities",
        _spy_out_of_fold(evaluate_module.out_of_fold_probabilities, seen_in_choice),
    )
    result = train_module.train(data, tmp_path / "m.json", manifest_path=tmp_path / "articles.csv", n_jobs=1)

    ood_texts = set(small.loc[small["split"] == "ood", "text"])
    assert seen_in_fit and not ood_texts & set(seen_in_fit)
    assert seen_in_choice and not ood_texts & set(seen_in_choice)
    assert {"ood", "ood-clean"} <= set(result.card["scores"])  # they were measured, only measured


def _spy_out_of_fold(real, seen):
    def spy(rows, *args, **kwargs):
        seen.extend(rows["text"])
        assert set(rows["split"]) == {"train"}
        return real(rows, *args, **kwargs)

    return spy


def test_the_keyword_baselines_cue_lexicon_shares_no_phrase_with_ood_texts_only():
    rows = load_labeled(ROOT / "data/labeled")
    training_text = " ".join(rows.loc[rows["split"] != "ood", "text"]).lower()
    ood_text = " ".join(rows.loc[rows["split"] == "ood", "text"]).lower()
    taxonomy_text = (ROOT / "docs/taxonomy.md").read_text(encoding="utf-8").lower()
    only_in_ood = [
        phrase
        for phrases in cue_lexicon().values()
        for phrase in phrases
        if phrase.rstrip("*") in ood_text
        and phrase.rstrip("*") not in training_text
        and phrase.rstrip("*") not in taxonomy_text
    ]
    assert only_in_ood == []
