"""Article context: a paragraph read in the light of its article."""

from __future__ import annotations

import numpy as np
import pytest

from triage.corpus.labeled import LABELS
from triage.model.card import save_model
from triage.model.context import ArticleContextModel
from triage.model.fit import fit_pipeline
from triage.model.pipeline import Settings, align_probabilities
from triage.model.predict import TriageModel, load_model

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
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(texts), LABELS)
    context = ArticleContextModel(pipeline, context_lambda, 0.0, 0.0, 1.0, labels=LABELS).fit(own, labels)
    return TriageModel(context, {"labels": list(LABELS)})


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
    assert np.allclose(context.contextualise(probabilities, temper_output=False), probabilities)


def test_window_and_title_mix_in_neighbours_and_the_headline():
    context = ArticleContextModel(None, context_lambda=0.0, context_window=1.0, context_title_weight=1.0)
    own = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]])
    mixed = context.contextualise(own, np.array([0.6, 0.4]), temper_output=False)
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
    from triage.model.context import temper

    probabilities = np.array([[0.5, 0.3, 0.2], [0.34, 0.33, 0.33]])
    sharper = temper(probabilities, 0.5)
    assert np.allclose(sharper.sum(axis=1), 1)
    assert (sharper.argmax(axis=1) == probabilities.argmax(axis=1)).all()
    assert sharper[0, 0] > probabilities[0, 0]


def test_training_fits_the_temperature_that_minimises_out_of_fold_log_loss():
    from triage.model.context import choose_temperature

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
        calibration = rng.dirichlet(np.ones(len(labels)), size=40)
        context.fit(calibration, [labels[i % len(labels)] for i in range(40)])
        assert context.temperature_ != 1.0  # the temperature is part of what is compared
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


# --- ArticleContextModel as a scikit-learn estimator -----------------------------------------
def _fitted_on_dirichlet_rows(context: ArticleContextModel, labels, rows: int = 40) -> ArticleContextModel:
    probabilities = np.random.default_rng(1).dirichlet(np.ones(len(labels)), size=rows)
    return context.fit(probabilities, [labels[i % len(labels)] for i in range(rows)])


def test_classes_are_the_output_columns_in_labels_order_not_alphabetical():
    labels = ("platform_metrics", "legal_action", "other")
    context = _fitted_on_dirichlet_rows(ArticleContextModel(labels=labels), labels)
    assert context.classes_.tolist() == list(labels)
    probabilities = np.array([[0.1, 0.8, 0.1], [0.7, 0.2, 0.1]])
    assert context.predict(probabilities).tolist() == ["legal_action", "platform_metrics"]


def test_without_labels_the_classes_are_those_of_y_sorted():
    context = _fitted_on_dirichlet_rows(ArticleContextModel(), ["b", "a"])
    assert context.classes_.tolist() == ["a", "b"]


def test_the_trained_model_names_its_columns_in_card_order(trained):
    assert trained.model.context_model.classes_.tolist() == trained.card["labels"]


def test_an_unfitted_context_model_raises_not_fitted_instead_of_guessing_a_temperature():
    from sklearn.exceptions import NotFittedError

    context = ArticleContextModel(labels=("legal_action", "other"))
    probabilities = np.array([[0.6, 0.4], [0.3, 0.7]])
    for use in (
        lambda: context.contextualise(probabilities),
        lambda: context.contextualise_articles(probabilities, ["a", "a"]),
        lambda: context.contextualise_stacked(probabilities, [2]),
        lambda: context.predict_proba(probabilities),
        lambda: TriageModel(context, {"labels": ["legal_action", "other"]}).thresholds(context=True),
    ):
        with pytest.raises(NotFittedError):
            use()


def test_a_model_file_holding_an_unfitted_context_model_is_refused(tmp_path):
    import sklearn

    from triage.errors import ModelRefused

    pipeline = fit_pipeline(Settings(min_df=1), LEGAL + OTHER, ["legal_action"] * 4 + ["other"] * 4)
    card = {"labels": list(LABELS), "versions": {"scikit-learn": sklearn.__version__}}
    save_model(ArticleContextModel(pipeline, labels=LABELS), card, tmp_path / "triage.json")
    with pytest.raises(ModelRefused, match="fitted"):
        load_model(tmp_path / "triage.json")


def test_the_defaults_are_the_chosen_settings():
    chosen = Settings()
    params = ArticleContextModel().get_params()
    for name in ("context_lambda", "context_window", "context_title_weight", "other_weight"):
        assert params[name] == getattr(chosen, name), name


def test_the_label_that_is_not_a_topic_is_a_parameter():
    labels = ("legal_action", "none")
    probabilities = np.array([[0.5, 0.5]])
    context = ArticleContextModel(None, 0.0, 0.0, 0.0, 0.5, labels=labels, other_label="none")
    assert context.contextualise(probabilities, temper_output=False).tolist() == [[2 / 3, 1 / 3]]
    fitted = _fitted_on_dirichlet_rows(context, labels)
    assert set(fitted.tag_thresholds_) == {"legal_action"}


# Every check of scikit-learn's check_estimator passes except those that hand `fit` an X with
# another number of columns than y has classes: this model's X is the paragraph model's
# probabilities, one column per label, so it refuses such data with a ValueError.
X_WIDTH_IS_THE_NUMBER_OF_LABELS = "the check's X has another number of columns than its y has classes"
CHECKS_THAT_DO_NOT_APPLY = dict.fromkeys(
    [
        "check_estimators_overwrite_params",
        "check_estimators_fit_returns_self",
        "check_readonly_memmap_input",
        "check_n_features_in_after_fitting",
        "check_estimators_dtypes",
        "check_dtype_object",
        "check_pipeline_consistency",
        "check_estimators_nan_inf",
        "check_estimators_pickle",
        "check_fit2d_1sample",
        "check_fit2d_1feature",
    ],
    X_WIDTH_IS_THE_NUMBER_OF_LABELS,
)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # the array API check
@pytest.mark.filterwarnings("ignore:invalid value encountered in divide:RuntimeWarning")  # all-zero rows
def test_the_context_model_passes_scikit_learns_estimator_checks_that_apply():
    from sklearn.utils.estimator_checks import check_estimator

    results = check_estimator(
        ArticleContextModel(), expected_failed_checks=CHECKS_THAT_DO_NOT_APPLY, on_fail=None
    )
    outcome = {result["check_name"]: result["status"] for result in results}
    assert {name for name, status in outcome.items() if status == "failed"} == set()
    assert {name for name, status in outcome.items() if status == "xfail"} == set(CHECKS_THAT_DO_NOT_APPLY)
    assert sum(status == "passed" for status in outcome.values()) >= 25
