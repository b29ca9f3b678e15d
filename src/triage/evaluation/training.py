"""The training run: labelled data -> LOAO choices -> fitted model -> scores -> card + file."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triage.corpus.labeled import (
    ANALYST_SOURCE,
    LABELS,
    OOD_SOURCES,
    article_titles,
    empty_manifest,
    load_labeled,
    load_manifest,
    standalone_mask,
)
from triage.errors import BadInput
from triage.evaluation.scores import (
    article_tag_scores,
    classification_scores,
    decision_article_ids,
    evaluation_report,
    expected_calibration_error,
    group_articles,
    loao_folds,
    out_of_fold_probabilities,
    predicted_labels,
)
from triage.evaluation.training_card import added_files, model_card, realnews_test_figures, thresholds_of
from triage.model.card import save_model
from triage.model.context import ArticleContextModel
from triage.model.fit import fit_pipeline
from triage.model.pipeline import Settings
from triage.model.predict import TriageModel
from triage.paths import default_model_path, resolve_data, resolve_manifest

# The settings chosen by leave-one-article-out (scripts/ablation.py, README table).
CHOSEN_SETTINGS = Settings()
# `triage train --semantic`: the same model beside a sentence-embedding model, their
# probabilities averaged with equal weights (0.3, 0.7 and a stacked logistic regression did
# not beat that on real-news dev); the sentence model's C is the best out-of-fold on the
# training articles (scripts/semantic_realnews.py; README, "The semantic model").
SEMANTIC_SETTINGS = CHOSEN_SETTINGS.replace(sentence_weight=0.5, sentence_C=4.0)

# `triage train` chooses its post-hoc state (temperature, tag and review thresholds) from
# out-of-fold predictions of the decision articles held out in this many groups: one fit
# per group instead of one per article (README: the decision score moves by less than 0.01).
TRAINING_FOLDS = 5


@dataclass
class TrainingResult:
    card: dict
    model_path: Path
    model: TriageModel


def training_rows(rows: pd.DataFrame, include_authored: bool = True, use_all: bool = False) -> pd.DataFrame:
    """The rows a model fits on: `train` (the seeds, all written text and an analyst's added
    rows), or everything but the two OOD sets with --all."""
    selected = rows[rows["split"] != "ood"] if use_all else rows[rows["split"] == "train"]
    if not include_authored:  # the seeds (and the analyst's rows): no text written for the project
        selected = selected[selected["source"].isin(("seed", ANALYST_SOURCE))]
    if selected.empty:
        raise BadInput(
            "no training rows (check --data and the split column; a simple id,text,label file "
            "without a split column holds test rows: give it with --add to train on it)"
        )
    return selected.reset_index(drop=True)


# Out-of-fold predictions are the slowest thing here (one fit per article) and several
# callers need the same ones (training, `evaluate --cv`, the notebook, the test session):
# they are kept on disk in $TRIAGE_OOF_CACHE when that names a folder, shared by every
# process that names it; nothing is kept at module level.
OOF_CACHE_ENVIRONMENT_VARIABLE = "TRIAGE_OOF_CACHE"


def _oof_key(rows: pd.DataFrame, manifest: pd.DataFrame, settings: Settings, n_folds: int | None) -> str:
    post_hoc = ("context_lambda", "context_window", "context_title_weight", "other_weight")
    pipeline_settings = {k: v for k, v in settings.to_dict().items() if k not in post_hoc}
    digest = hashlib.sha256()
    digest.update(
        rows[["article_id", "paragraph", "text", "label", "split", "source"]].to_csv(index=False).encode()
    )
    digest.update(manifest[["article_id", "title"]].to_csv(index=False).encode())
    digest.update(repr(sorted(pipeline_settings.items())).encode())
    digest.update(repr(n_folds).encode())
    return digest.hexdigest()[:20]


def cached_out_of_fold(
    rows: pd.DataFrame,
    manifest: pd.DataFrame,
    settings: Settings,
    n_jobs: int = 2,
    n_folds: int | None = None,
):
    """`evaluation.out_of_fold_probabilities` on the decision articles for these rows and
    settings (LOAO, or `n_folds` groups), computed once per $TRIAGE_OOF_CACHE folder."""
    article_ids = decision_article_ids(rows, manifest)
    if not article_ids:
        raise BadInput(
            "no articles to hold out for out-of-fold predictions: the training rows hold no seed or "
            "realistic article of the manifest and no analyst rows (pass --manifest, or --add your labelled file)"
        )
    titles = article_titles(manifest)
    key = _oof_key(rows, manifest, settings, n_folds)
    folder = os.environ.get(OOF_CACHE_ENVIRONMENT_VARIABLE)
    path = Path(folder) / f"oof-{key}.npz" if folder else None
    if path is not None and path.exists():
        with np.load(path, allow_pickle=False) as stored:
            index = np.concatenate(
                [fold.test_index for fold in loao_folds(rows.reset_index(drop=True), article_ids, n_folds)]
            )
            titles_found = dict(zip(stored["title_ids"].tolist(), stored["title_probabilities"], strict=True))
            return rows.reset_index(drop=True).iloc[index].reset_index(drop=True), stored["own"], titles_found
    with _fit_errors_are_bad_input(rows):
        scored, own, title_probabilities = out_of_fold_probabilities(
            rows, settings, article_ids, titles, n_jobs, n_folds=n_folds
        )
    if path is not None:
        ids = sorted(title_probabilities)
        np.savez(
            path,
            own=own,
            title_ids=np.array(ids, dtype=str),
            title_probabilities=np.array([title_probabilities[i] for i in ids]).reshape(
                len(ids), len(LABELS)
            ),
        )
    return scored, own, title_probabilities


@contextmanager
def _fit_errors_are_bad_input(rows: pd.DataFrame):
    """scikit-learn's refusals of too little data (one label in a fold, no term left after
    min_df) as one line about the data."""
    try:
        yield
    except ValueError as exc:
        raise BadInput(
            f"cannot fit the model on these {len(rows)} training rows ({str(exc).splitlines()[0]}): "
            "label more rows, or train on them with the bundled data (--add)"
        ) from None


def context_model(settings: Settings, paragraph_model=None) -> ArticleContextModel:
    return ArticleContextModel(
        paragraph_model,
        settings.context_lambda,
        settings.context_window,
        settings.context_title_weight,
        settings.other_weight,
        labels=tuple(LABELS),
    )


def out_of_fold_choices(
    rows: pd.DataFrame,
    manifest: pd.DataFrame,
    settings: Settings,
    n_jobs: int = 2,
    n_folds: int | None = None,
) -> dict:
    """Out-of-fold predictions on the decision articles (LOAO, or `n_folds` groups), the
    post-hoc state fitted on them, and the scores of both outputs."""
    scored, own, title_probabilities = cached_out_of_fold(rows, manifest, settings, n_jobs, n_folds)
    groups = scored["article_id"].to_numpy()
    fitted = context_model(settings).fit(
        own, scored["label"], groups, title_probabilities, standalone=standalone_mask(scored)
    )
    untempered = fitted.contextualise_articles(own, groups, title_probabilities, temper_output=False)
    in_context = fitted.contextualise_articles(own, groups, title_probabilities)
    choices = {
        "rows": scored,
        "own": own,
        "title_probabilities": title_probabilities,
        "context": in_context,
        "model": fitted,
        "folds": "leave-one-article-out" if n_folds is None else f"{n_folds} groups of articles",
        "thresholds": thresholds_of(fitted),
        "scores": {},
        "context_temperature": fitted.temperature_,
        "calibration_error": {
            "paragraph": expected_calibration_error(scored["label"], own),
            "context_before_temperature": expected_calibration_error(scored["label"], untempered),
            "context": expected_calibration_error(scored["label"], in_context),
        },
    }
    for key, probabilities in (("paragraph", own), ("context", in_context)):
        articles = group_articles(scored, probabilities)
        scores = classification_scores(
            scored["label"], predicted_labels(probabilities, LABELS, settings.topic_floor)
        )
        scores["article_tags"] = article_tag_scores(articles, LABELS, choices["thresholds"][key]["tags"])
        scores["articles"] = len(articles)
        choices["scores"][key] = scores
    return choices


def fix_chosen_thresholds(estimator: ArticleContextModel, settings: Settings) -> None:
    """Thresholds chosen on real-news dev replace the ones fitted on training articles."""
    if settings.tag_threshold is not None:
        estimator.tag_thresholds_ = {label: settings.tag_threshold for label in LABELS if label != "other"}
    if settings.review_threshold is not None:
        estimator.review_threshold_ = settings.review_threshold


def train(
    data: Path | str | None = None,
    model_path: Path | str | None = None,
    *,
    add: Sequence[Path | str] = (),
    include_authored: bool = True,
    use_all: bool = False,
    settings: Settings = CHOSEN_SETTINGS,
    manifest_path: Path | str | None = None,
    n_jobs: int = 2,
    progress: Callable[[str], None] = lambda message: None,
) -> TrainingResult:
    """Fit on the training rows of `data` (default: the bundled data) and of each file in
    `add` (an analyst's own labels), learn the post-hoc state from out-of-fold predictions of
    the decision articles (TRAINING_FOLDS groups), score, and save card + model file (default:
    `paths.default_model_path`)."""
    if settings.sentence_weight is not None:
        from triage.model.semantic import require_encoder

        require_encoder()
    manifest_path = resolve_manifest(manifest_path, data)
    data = resolve_data(data)
    model_path = Path(model_path) if model_path is not None else default_model_path()
    all_rows = load_labeled(data, add=add)
    manifest = load_manifest(manifest_path) if manifest_path is not None else empty_manifest()
    rows = training_rows(all_rows, include_authored, use_all)
    cv_rows = training_rows(all_rows, include_authored, use_all=False)

    if settings.sentence_weight is not None:
        embed_training_rows(all_rows, n_jobs, progress)
    progress(
        f"out-of-fold predictions in {TRAINING_FOLDS} groups of articles ({len(cv_rows)} training rows) ..."
    )
    choices = out_of_fold_choices(cv_rows, manifest, settings, n_jobs, n_folds=TRAINING_FOLDS)
    progress(f"fitting on {len(rows)} rows ...")
    with _fit_errors_are_bad_input(rows):
        pipeline = fit_pipeline(settings, rows["text"], rows["label"])
    # The post-hoc state fitted on the out-of-fold predictions, around the final paragraph model.
    estimator = choices["model"].set_params(paragraph_model=pipeline)
    fix_chosen_thresholds(estimator, settings)

    card = model_card(
        data, manifest_path, settings, estimator, choices, rows, include_authored, use_all, added_files(add)
    )
    if settings.sentence_weight is not None:
        from triage.model.semantic import installed_encoder

        card["encoder"] = installed_encoder().to_dict()
    card["realnews_test"] = realnews_test_figures(card, data)
    # Score the held-out and OOD rows with the model as it will be saved (report only).
    model = TriageModel(estimator, card)  # not saved yet: no model file, no sha
    for split, split_rows in report_splits(all_rows).items():
        if not split_rows.empty:
            progress(f"scoring the {split} split ...")
            report = evaluation_report(model, split_rows, rows["label"], manifest, context=True)
            card["scores"][split] = report
            if use_all and split == "test":
                card["scores"][split]["note"] = "trained with --all: test rows were in training"
    progress(f"saving {model_path} ...")
    card = save_model(estimator, card, model_path)
    return TrainingResult(card, Path(model_path), TriageModel(estimator, card, Path(model_path)))


def embed_training_rows(rows: pd.DataFrame, n_jobs: int, progress: Callable[[str], None]) -> None:
    """The semantic model's first step: every labelled row embedded once (with `n_jobs`
    encoder threads), or found in the embedding cache, before the folds read them."""
    from triage.model.semantic import embed_training_texts, embedding_cache_dir

    texts = list(dict.fromkeys(rows["text"]))
    progress(f"embedding {len(texts)} labelled paragraphs (cache: {embedding_cache_dir()}) ...")
    embedder = embed_training_texts(texts, n_threads=n_jobs)
    progress(f"embedded {embedder.embedded_}, found {embedder.cache_hits_} in the cache")


def report_splits(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows each report-only score is taken on: the held-out seeds and both OOD sets."""
    return {
        "test": rows[rows["split"] == "test"],
        "ood": rows[rows["source"] == OOD_SOURCES["ood"]],
        "ood-clean": rows[rows["source"] == OOD_SOURCES["ood-clean"]],
    }
