"""The decision rule: paired bootstraps over articles, cross-fitting for grids, dev only."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

import triage.corpus.realnews as realnews
from test_realnews import _write_set
from triage.evaluation.choosing import DevPredictions, cross_fit, dev_pages, paired_difference, story_halves
from triage.evaluation.realnews_scoring import ArticleCounts, figures, score_pages

ROOT = Path(__file__).resolve().parents[1]
CHOOSING_CODE = [
    ROOT / "src/triage/evaluation/choosing.py",
    ROOT / "scripts/choose_realnews.py",
    ROOT / "scripts/semantic_realnews.py",
]


def _article(identifier: str, gold: list[str], predicted: list[str]) -> ArticleCounts:
    return ArticleCounts(
        id=identifier,
        gold=gold,
        context=predicted,
        alone=predicted,
        gold_tags=set(gold) - {"other"},
        predicted_tags=set(predicted) - {"other"},
        flagged=[False] * len(gold),
    )


GOLD = ["legal_action", "brand_criticism", "other", "platform_metrics"]


def _articles(right_share: float, n: int = 40) -> list[ArticleCounts]:
    """n articles; the first `right_share` of them labelled right, the rest all `other`."""
    right = int(n * right_share)
    return [_article(f"a{i}", GOLD, GOLD if i < right else ["other"] * 4) for i in range(n)]


def test_a_setting_that_is_better_on_most_articles_is_adopted():
    result = paired_difference(_articles(0.3), _articles(0.8))
    assert result["difference"] > 0 and result["interval"][0] > 0 and result["adopt"]


def test_the_same_setting_twice_is_never_adopted():
    result = paired_difference(_articles(0.5), _articles(0.5))
    assert result["difference"] == 0 and not result["adopt"]


def test_a_paired_comparison_refuses_different_articles():
    with pytest.raises(ValueError, match="same articles"):
        paired_difference(_articles(0.5, 4), _articles(0.5, 5)[1:])


def test_halves_keep_each_story_whole():
    manifest = pd.DataFrame(
        {"id": [f"p{i}" for i in range(8)], "story": ["s1", "s1", "s2", "s3", "s3", "s4", "s5", "s6"]}
    )
    halves = story_halves(manifest)
    assert halves["p0"] == halves["p1"] and halves["p3"] == halves["p4"]
    assert set(halves.values()) == {0, 1}


def test_a_grid_of_equal_values_keeps_the_current_value():
    halves = {f"a{i}": i % 2 for i in range(40)}
    fitted = cross_fit({1.0: _articles(0.5), 2.0: _articles(0.5), 4.0: _articles(0.5)}, 2.0, halves)
    assert fitted.adopted == 2.0 and not fitted.comparison["adopt"]


def test_a_grid_value_better_on_both_halves_is_adopted_by_cross_fitting():
    halves = {f"a{i}": i % 2 for i in range(40)}
    fitted = cross_fit({1.0: _articles(0.2), 2.0: _articles(0.9)}, 1.0, halves)
    assert fitted.chosen_per_half == [2.0, 2.0] and fitted.adopted == 2.0


def test_dev_predictions_score_pages_as_triage_predict_does(tmp_path, trained):
    """The choosing path (own probabilities once, post-hoc settings applied after) gives the
    counts that scoring whole pages through the model gives."""
    folder, cache = tmp_path / "set", tmp_path / "cache"
    _write_set(folder, cache, parts=("dev", "dev"))
    pages = realnews.load_pages("dev", directory=folder, cache=cache)
    estimator = trained.model.context_model
    tags, review = trained.model.thresholds(context=True)
    paragraph_tags, _ = trained.model.thresholds(context=False)
    chosen = DevPredictions.of(trained.model.pipeline, pages).counts(
        estimator, tags, review, paragraph_tags, topic_floor=trained.model.topic_floor
    )
    through_model = score_pages(trained.model, pages)
    for ours, theirs in zip(chosen, through_model, strict=True):
        assert (ours.gold, ours.context, ours.predicted_tags) == (
            theirs.gold,
            theirs.context,
            theirs.predicted_tags,
        )
        assert ours.alone == theirs.alone and ours.flagged == theirs.flagged
    assert figures(chosen)["in_article_macro_f1"] == figures(through_model)["in_article_macro_f1"]


def test_choosing_reads_no_page_of_the_test_part(tmp_path, monkeypatch):
    folder, cache = tmp_path / "set", tmp_path / "cache"
    manifest = _write_set(folder, cache, parts=("dev", "test"))
    read = []
    original = realnews.read_cached
    monkeypatch.setattr(
        realnews,
        "read_cached",
        lambda identifier, directory=None: read.append(identifier) or original(identifier, directory),
    )
    dev_manifest, pages = dev_pages(folder, cache)
    test_id = manifest.loc[manifest["part"] == "test", "id"].item()
    assert read and test_id not in read
    assert test_id not in set(dev_manifest["id"]) and len(pages) == 1


@pytest.mark.parametrize("path", CHOOSING_CODE, ids=lambda p: p.name)
def test_choosing_code_never_asks_for_the_test_part_or_a_final_look(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword):
            assert not (
                node.arg == "final" and isinstance(node.value, ast.Constant) and node.value.value is True
            ), path
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value not in {"test", "dev-check"}, f"{path.name} names the {node.value!r} part"


def test_an_unfitted_context_model_is_scored_untempered_only_when_asked(tmp_path, trained):
    """The choosing scripts score settings whose context model is not fitted yet: they ask
    for the mixing alone (`tempered=False`); without asking, an unfitted model is refused."""
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError

    folder, cache = tmp_path / "set", tmp_path / "cache"
    _write_set(folder, cache, parts=("dev", "dev"))
    pages = realnews.load_pages("dev", directory=folder, cache=cache)
    predictions = DevPredictions.of(trained.model.pipeline, pages)
    unfitted = clone(trained.model.context_model)
    with pytest.raises(NotFittedError):
        predictions.counts(unfitted)
    untempered = predictions.counts(unfitted, tempered=False)
    fitted = predictions.counts(trained.model.context_model)
    assert [article.gold for article in untempered] == [article.gold for article in fitted]
    assert all(len(article.context) == len(article.gold) for article in untempered)
