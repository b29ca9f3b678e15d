"""Article context: a paragraph read in the light of its article."""

from __future__ import annotations

import numpy as np

from triage.corpus import LABELS
from triage.model import ArticleContextModel, Settings, fit_pipeline, save_model
from triage.predict import TriageModel, load_model

LEGAL = [
    "The court granted an injunction and ordered the seller to pay damages for trademark infringement.",
    "The judge ruled that the marketplace seller infringed the trademark and awarded damages.",
    "The brand filed a lawsuit in federal court seeking an injunction against the counterfeit seller.",
    "Police arrested the suspects after a raid and prosecutors charged them with selling fakes.",
]
METRICS = [
    "The platform removed two million listings and closed ten thousand seller accounts last year.",
    "Its detection technology scans every new listing and blocked most fakes before sale.",
    "The marketplace said its proactive takedowns rose and complaints were handled within a day.",
    "The company doubled its brand protection staff and expanded its takedown programme.",
]
OTHER = [
    "The company was founded in a small apartment and is now based in the capital.",
    "Shoppers crowded the streets during the holiday weekend, local media reported.",
    "The weather was mild for the season, according to the forecast published on Monday.",
    "The group's headquarters moved to a new tower on the river last spring.",
]
AMBIGUOUS = "A ruling is expected soon."


def _model(context_lambda: float) -> TriageModel:
    settings = Settings(min_df=1, char_ngrams=None, C=4.0)
    texts = LEGAL + METRICS + OTHER
    labels = ["legal_action"] * 4 + ["platform_metrics"] * 4 + ["other"] * 4
    pipeline = fit_pipeline(settings, texts, labels)
    card = {
        "labels": list(LABELS),
        "model_file": {"sha256": "0" * 64},
    }
    return TriageModel(ArticleContextModel(pipeline, context_lambda), card)


ARTICLE = "\n".join([LEGAL[0], AMBIGUOUS, LEGAL[2]])


def test_an_ambiguous_paragraph_takes_its_articles_label_with_context_and_not_without():
    model = _model(context_lambda=1.0)
    alone = model.predict_article(ARTICLE, context=False).paragraphs[1]
    in_context = model.predict_article(ARTICLE, context=True).paragraphs[1]
    assert alone.label != "legal_action"
    assert in_context.label == "legal_action"


def test_no_context_reproduces_the_context_free_output_exactly():
    model = _model(context_lambda=1.0)
    without = model.predict_article(ARTICLE, context=False)
    assert [p.probabilities for p in without.paragraphs] == [
        p.probabilities for p in model.predict_paragraphs([line for line in ARTICLE.split("\n")])
    ]
    with_context = model.predict_article(ARTICLE, context=True)
    assert [p.own_probabilities for p in with_context.paragraphs] == [
        p.probabilities for p in without.paragraphs
    ]


def test_in_context_probabilities_sum_to_one():
    model = _model(context_lambda=0.7)
    for paragraph in model.predict_article(ARTICLE).paragraphs:
        assert abs(sum(paragraph.probabilities.values()) - 1) < 1e-3


def test_a_standalone_paragraph_keeps_its_ranking_under_context():
    context = ArticleContextModel(None, context_lambda=1.0, context_window=0.5)
    probabilities = np.array([[0.2, 0.5, 0.3]])
    assert np.allclose(context.contextualise(probabilities), probabilities)


def test_window_and_title_mix_in_neighbours_and_the_headline():
    context = ArticleContextModel(None, context_lambda=0.0, context_window=1.0, context_title_weight=1.0)
    own = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    mixed = context.contextualise(own, np.array([0.6, 0.4]))
    assert mixed[1, 0] > mixed[1, 1]  # both neighbours vote for the first label
    assert np.allclose(mixed.sum(axis=1), 1)


def test_the_card_records_the_setting_and_a_saved_context_model_loads_through_the_allowlist(tmp_path):
    import sklearn

    model = _model(context_lambda=0.6)
    settings = Settings(context_lambda=0.6, topic_floor=0.0)  # the in-memory model above has no floor
    card = save_model(
        model.context_model,
        {
            "labels": model.labels,
            "settings": settings.to_dict(),
            "versions": {"scikit-learn": sklearn.__version__},
        },
        tmp_path / "triage.json",
    )
    loaded = load_model(tmp_path / "triage.json")
    assert card["settings"]["context_lambda"] == 0.6
    assert loaded.context_model.context_lambda == 0.6
    assert [p.label for p in loaded.predict_article(ARTICLE).paragraphs] == [
        p.label for p in model.predict_article(ARTICLE).paragraphs
    ]


def test_the_in_context_temperature_recalibrates_without_changing_the_ranking():
    from triage.model import temper

    probabilities = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    sharper = temper(probabilities, 0.5)
    assert np.allclose(sharper.sum(axis=1), 1)
    assert (sharper.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    assert sharper[0, 0] > probabilities[0, 0]


def test_training_fits_the_temperature_that_minimises_out_of_fold_log_loss():
    from triage.model import choose_temperature

    overconfident = np.array([[0.98, 0.01, 0.01, 0, 0, 0], [0.98, 0.01, 0.01, 0, 0, 0]] * 5)
    gold = ["brand_criticism", "platform_metrics"] * 5  # half of these sure predictions are wrong
    assert choose_temperature(gold, overconfident, LABELS) > 1.0


def test_the_trained_card_records_the_in_context_calibration(trained):
    calibration = trained.card["context_calibration"]
    assert calibration["temperature"] == trained.model.context_model.temperature_
    assert (
        calibration["cv_calibration_error"]["context"]
        <= calibration["cv_calibration_error"]["context_before_temperature"]
    )


def test_many_articles_in_context_at_once_give_exactly_the_numbers_of_one_at_a_time():
    """contextualise_stacked is what a chunk of articles goes through; contextualise (one
    article) is the definition. Articles of 0, 1, 2 and more paragraphs, with and without
    titles, every term of the mix switched on."""
    rng = np.random.default_rng(0)
    labels = ("legal_action", "platform_metrics", "other", "market_expansion")
    for lam, window, title_weight, other_weight in [(0.0, 0.6, 0.0, 1.0), (0.3, 0.5, 0.4, 0.8)]:
        context = ArticleContextModel(None, lam, window, title_weight, other_weight, labels)
        context.temperature_ = 0.7
        lengths = rng.integers(0, 9, size=60)
        probabilities = rng.dirichlet(np.ones(len(labels)), size=lengths.sum())
        titles = [rng.dirichlet(np.ones(len(labels))) if rng.random() < 0.5 else None for _ in lengths]
        one_by_one, start = [], 0
        for length, title in zip(lengths, titles, strict=True):
            if length:
                one_by_one.append(context.contextualise(probabilities[start : start + length], title))
            start += length
        stacked = context.contextualise_stacked(probabilities, lengths, titles)
        assert np.array_equal(stacked, np.vstack(one_by_one))
