"""The article-tag rule and the review flag."""

import numpy as np

from triage.model.tags import article_tags, needs_review, true_tags

LABELS = ["brand_criticism", "platform_metrics", "other"]


def test_an_article_is_tagged_when_a_paragraph_reaches_the_threshold():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    tags = article_tags(probabilities, LABELS, {"brand_criticism": 0.5, "platform_metrics": 0.5})
    assert tags == [{"label": "brand_criticism", "score": 0.7, "paragraphs": [0], "threshold": 0.5}]


def test_tag_score_is_the_maximum_and_lists_every_paragraph_at_or_above_the_threshold():
    probabilities = np.array([[0.4, 0.6, 0.0], [0.3, 0.4, 0.3], [0.2, 0.8, 0.0]])
    (tag,) = article_tags(probabilities, LABELS, {"brand_criticism": 0.9, "platform_metrics": 0.4})
    assert tag == {"label": "platform_metrics", "score": 0.8, "paragraphs": [0, 1, 2], "threshold": 0.4}


def test_other_is_never_a_tag():
    assert article_tags(np.array([[0.0, 0.0, 1.0]]), LABELS, 0.1) == []


def test_a_single_threshold_overrides_every_label():
    probabilities = np.array([[0.35, 0.35, 0.3]])
    assert {t["label"] for t in article_tags(probabilities, LABELS, 0.3)} == {
        "brand_criticism",
        "platform_metrics",
    }


def test_an_empty_article_has_no_tags():
    assert article_tags(np.zeros((0, 3)), LABELS, 0.5) == []


def test_true_tags_are_the_gold_labels_other_than_other():
    assert true_tags(["other", "legal_action", "legal_action"]) == {"legal_action"}


def test_a_paragraph_needs_review_when_its_top_probability_is_under_the_threshold():
    assert needs_review(np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]]), 0.4).tolist() == [False, True]


def test_a_paragraph_whose_topics_all_stay_under_the_floor_is_other():
    from triage.model.tags import paragraph_labels

    labels = ["brand_criticism", "legal_action", "other"]
    probabilities = np.array([[0.35, 0.33, 0.32], [0.7, 0.2, 0.1], [0.1, 0.2, 0.7]])
    assert paragraph_labels(probabilities, labels, topic_floor=0.4) == ["other", "brand_criticism", "other"]
    assert paragraph_labels(probabilities, labels) == ["brand_criticism", "brand_criticism", "other"]


def test_the_topic_floor_applies_to_the_in_context_output_only(trained, monkeypatch):
    model = trained.model
    assert model.topic_floor == trained.card["settings"]["topic_floor"] > 0
    monkeypatch.setattr(
        model, "topic_floor", 1.01
    )  # no topic can reach it: every paragraph in context is `other`
    text = (
        "The marketplace removed 9,000 fake listings in May.\nA brand sued two sellers in a federal court.\n"
    )
    assert {p.label for p in model.predict_article(text).paragraphs} == {"other"}
    for paragraph in model.predict_paragraphs(["A brand sued two sellers in a federal court."]):
        assert paragraph.label == max(paragraph.probabilities, key=paragraph.probabilities.get) != "other"


def test_tags_of_stacked_articles_are_each_articles_own():
    from triage.model.tags import articles_tags

    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 6, size=200)
    rows = rng.dirichlet(np.ones(len(LABELS)), size=lengths.sum()).round(1)  # ties at the threshold too
    thresholds = {"brand_criticism": 0.4, "platform_metrics": 0.3}
    one_by_one, start = [], 0
    for length in lengths:
        one_by_one.append(article_tags(rows[start : start + length], LABELS, thresholds))
        start += length
    assert articles_tags(rows, lengths, LABELS, thresholds) == one_by_one
    assert any(one_by_one) and not all(one_by_one)
