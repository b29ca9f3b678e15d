"""Leave-one-article-out, metrics and baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from triage.evaluation.scores import (
    article_tag_scores,
    classification_scores,
    keyword_baseline,
    loao_folds,
    majority_baseline,
)


def _rows():
    rows = [
        (
            "seed-a",
            0,
            "The court granted an injunction against the seller of fake bags.",
            "legal_action",
            "train",
            "seed",
        ),
        (
            "seed-a",
            1,
            "The platform removed a million listings last year with new tools.",
            "platform_metrics",
            "train",
            "seed",
        ),
        (
            "seed-b",
            0,
            "Brands accused the platform of paying lip service to the problem.",
            "brand_criticism",
            "train",
            "seed",
        ),
        (
            "seed-b",
            1,
            "The platform removed a million listings last year with new tools and staff.",
            "platform_metrics",
            "train",
            "seed",
        ),
        (
            "seed-t",
            0,
            "The trade office kept the market on its list of notorious markets.",
            "regulatory_listing",
            "test",
            "seed",
        ),
        (
            "auth-1",
            0,
            "A standalone paragraph about a flagship store opening in Shanghai.",
            "market_expansion",
            "train",
            "authored",
        ),
        (
            "ood-1",
            0,
            "An out-of-domain paragraph about a customs seizure of fake toys.",
            "legal_action",
            "ood",
            "ood",
        ),
    ]
    return pd.DataFrame(rows, columns=["article_id", "paragraph", "text", "label", "split", "source"])


def test_each_fold_holds_out_one_article_and_scores_only_it():
    rows = _rows()
    folds = loao_folds(rows, article_ids={"seed-a", "seed-b", "seed-t", "ood-1"})
    assert [fold.article_id for fold in folds] == ["seed-a", "seed-b"]  # test and ood articles never fold
    for fold in folds:
        assert set(rows.iloc[fold.test_index]["article_id"]) == {fold.article_id}


def test_standalone_paragraphs_always_train_and_test_and_ood_rows_never_take_part():
    rows = _rows()
    for fold in loao_folds(rows, article_ids={"seed-a", "seed-b"}):
        training = rows.iloc[fold.train_index]
        assert "auth-1" in set(training["article_id"])
        assert set(training["split"]) == {"train"}


def test_training_rows_that_nearly_duplicate_the_held_out_article_are_dropped_from_its_fold():
    rows = _rows()
    fold_a = next(
        fold for fold in loao_folds(rows, article_ids={"seed-a", "seed-b"}) if fold.article_id == "seed-a"
    )
    training_texts = set(rows.iloc[fold_a.train_index]["text"])
    assert rows.loc[3, "text"] not in training_texts  # seed-b ¶1 retells seed-a ¶1
    assert rows.loc[2, "text"] in training_texts


def test_scores_report_support_and_macro_f1_over_present_labels():
    scores = classification_scores(
        ["legal_action", "other", "other"], ["legal_action", "other", "legal_action"]
    )
    assert scores["per_label"]["other"]["support"] == 2
    assert scores["per_label"]["legal_action"]["f1"] == round(2 / 3, 4)
    assert scores["macro_f1"] == round((2 / 3 + 2 / 3) / 2, 4)


def test_baselines_majority_and_keywords():
    assert majority_baseline(["other", "other", "legal_action"], 2) == ["other", "other"]
    assert keyword_baseline(["They filed a lawsuit in federal court.", "Nice weather today."]) == [
        "legal_action",
        "other",
    ]


def test_article_tag_micro_f1_counts_article_label_pairs():
    labels = ["legal_action", "platform_metrics", "other"]
    articles = [
        (["legal_action", "other"], np.array([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]])),
        (["platform_metrics"], np.array([[0.6, 0.3, 0.1]])),
    ]
    scores = article_tag_scores(articles, labels, 0.5)
    assert (scores["precision"], scores["recall"]) == (0.5, 0.5)


def test_cached_out_of_fold_predictions_equal_fresh_ones(tmp_path, monkeypatch):
    from pathlib import Path

    import triage.evaluation.training as train_module
    from triage.corpus.labeled import load_labeled, load_manifest
    from triage.model.pipeline import Settings

    root = Path(__file__).resolve().parents[1]
    rows = load_labeled(root / "data/labeled")
    rows = rows[
        (rows["split"] == "train") & rows["article_id"].str.match(r"seed|authored-b1-00")
    ].reset_index(drop=True)
    manifest = load_manifest(root / "data/articles.csv")
    settings = Settings(char_ngrams=None)
    monkeypatch.setenv("TRIAGE_OOF_CACHE", str(tmp_path))
    fresh = train_module.cached_out_of_fold(rows, manifest, settings, n_jobs=1)
    stored = train_module.cached_out_of_fold(rows, manifest, settings, n_jobs=1)
    assert list(fresh[0]["text"]) == list(stored[0]["text"])
    assert np.array_equal(fresh[1], stored[1])
    assert len(list(tmp_path.glob("oof-*.npz"))) == 1


def test_the_bootstrap_interval_brackets_the_macro_f1_and_is_exact_for_perfect_predictions():
    from triage.corpus.labeled import LABELS
    from triage.evaluation.scores import bootstrap_interval, macro_f1

    generator = np.random.default_rng(1)
    rows = pd.DataFrame(
        {"article_id": generator.integers(0, 30, 400).astype(str), "label": generator.choice(LABELS, 400)}
    )
    predicted = [
        label if generator.random() < 0.7 else str(generator.choice(LABELS)) for label in rows["label"]
    ]
    low, high = bootstrap_interval(rows, predicted, n_resamples=300)
    assert low < macro_f1(rows["label"], predicted) < high
    assert bootstrap_interval(rows, list(rows["label"]), n_resamples=50) == (1.0, 1.0)
