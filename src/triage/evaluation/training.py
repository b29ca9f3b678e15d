"""The training run: labelled data -> LOAO choices -> fitted model -> scores -> card + file."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triage import __version__
from triage.corpus.labeled import (
    ANALYST_SOURCE,
    LABELED_FILES,
    LABELS,
    OOD_SOURCES,
    TAXONOMY_VERSION,
    article_titles,
    empty_manifest,
    load_labeled,
    load_labeled_file,
    load_manifest,
    standalone_mask,
)
from triage.errors import BadInput, ModelRefused
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
from triage.model.card import read_card, save_model, stale_reason
from triage.model.context import ArticleContextModel
from triage.model.fit import fit_pipeline
from triage.model.pipeline import Settings, sha256_file
from triage.model.predict import TriageModel
from triage.model.tags import DEFAULT_REVIEW_THRESHOLD, REVIEW_MIN_ROWS, REVIEW_TARGET_ACCURACY
from triage.paths import default_model_path, resolve_data, resolve_manifest

NOT_MEASURED = {"note": "not measured for this model"}


def realnews_test_line(logged: dict) -> str:
    """The real-news test figures the card carries for this model, or why there are none."""
    if "note" in logged:
        return f"real news test: {logged['note']}"
    return (
        f"real news test: in-article macro-F1 {float(logged['in_article_macro_f1']):.3f} "
        f"[{float(logged['in_article_macro_f1_low']):.3f}, {float(logged['in_article_macro_f1_high']):.3f}]  "
        f"article-tag micro-F1 {float(logged['article_tag_micro_f1']):.3f}  "
        f"({logged['articles']} articles; logged {logged['date'][:10]})"
    )


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


def realnews_test_figures(card: dict, data: Path) -> dict:
    """The real-news test figures logged for a model with this card's settings and training
    data, or a note that this model was not measured there (an analyst's model is another model)."""
    from triage.evaluation.realnews_scoring import logged_test_figures

    root = data.parent.parent if data.is_dir() and data.name == "labeled" else Path.cwd()
    logged = logged_test_figures(root / "data/realnews/final_log.csv", card)
    if logged is None:
        return dict(NOT_MEASURED)
    keep = (
        "date",
        "commit",
        "articles",
        "in_article_macro_f1",
        "in_article_macro_f1_low",
        "in_article_macro_f1_high",
        "article_tag_micro_f1",
        "review_flagged_share",
        "review_errors_caught_share",
    )
    return {key: logged[key] for key in keep}


def thresholds_of(fitted: ArticleContextModel) -> dict:
    return {
        "context": {"tags": fitted.tag_thresholds_, "review": fitted.review_threshold_},
        "paragraph": {"tags": fitted.paragraph_tag_thresholds_, "review": fitted.paragraph_review_threshold_},
    }


def _versions() -> dict:
    import joblib
    import numpy
    import scipy
    import sklearn
    import skops

    return {
        "triage": __version__,
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
        "joblib": joblib.__version__,
    }


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


def added_files(paths: Sequence[Path | str]) -> list[dict]:
    """What the card records of each `--add` file: its absolute path (so `train --if-stale`
    finds it from any folder), sha256 and row count."""
    return [
        {
            "path": str(Path(path).resolve()),
            "sha256": sha256_file(path),
            "rows": len(load_labeled_file(path, added=True)),
        }
        for path in paths
    ]


def model_card(
    data, manifest_path, settings, estimator, choices, rows, include_authored, use_all, added=()
) -> dict:
    """The card's record of a training run: data (the `--add` files under `training.added`),
    settings, fitted post-hoc state, versions and the out-of-fold scores (the report-only
    scores are added by `train`)."""
    files = [data / name for name in LABELED_FILES if (data / name).exists()] if data.is_dir() else [data]
    return {
        "name": "triage",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "labels": list(LABELS),
        "taxonomy_version": TAXONOMY_VERSION,
        "settings": settings.to_dict(),
        "thresholds": thresholds_of(estimator),
        "context_calibration": {
            "temperature": estimator.temperature_,
            "rule": "temperature minimising the log loss of out-of-fold in-context probabilities",
            "cv_calibration_error": choices["calibration_error"],
        },
        "review_rule": (
            f"lowest top probability at which out-of-fold predictions that sure are "
            f">= {REVIEW_TARGET_ACCURACY:.0%} correct (default {DEFAULT_REVIEW_THRESHOLD} "
            f"under {REVIEW_MIN_ROWS} rows)"
        ),
        "post_hoc_fitted_on": (
            "out-of-fold predictions of the seed and realistic training articles"
            + (" and of the added analyst rows" if added else "")
            + f", {choices['folds']}"
        ),
        "training": {
            "rows": len(rows),
            "include_authored": include_authored,
            "all_but_ood": use_all,
            "files": {str(path): sha256_file(path) for path in files},
            "added": list(added),
            "manifest": {str(manifest_path): sha256_file(manifest_path)} if manifest_path else {},
            "examples_per_label": {label: int((rows["label"] == label).sum()) for label in LABELS},
        },
        "versions": _versions(),
        "scores": {"cv": {**choices["scores"], "folds": choices["folds"]}},
    }


def recorded_semantic(model_path: Path | str) -> bool:
    """Whether the card at `model_path` is a semantic model's (`train --if-stale` retrains
    it as one)."""
    try:
        settings = read_card(model_path).get("settings", {})
    except ModelRefused:
        return False
    return isinstance(settings, dict) and settings.get("sentence_weight") is not None


def recorded_additions(model_path: Path | str) -> list[dict]:
    """The `--add` files the card at `model_path` records (none without a readable card)."""
    try:
        added = read_card(model_path).get("training", {}).get("added", [])
    except ModelRefused:
        return []
    return [entry for entry in added if isinstance(entry, dict) and "path" in entry]


def stale_training(model_path: Path | str, add: Sequence[Path | str] = ()) -> tuple[str | None, list[Path]]:
    """What `triage train --if-stale` does: why the model at `model_path` must be retrained
    (None when it is current) and the files to add: those given, else the ones its card
    names. A model is stale when `stale_reason` says so, when the files to add are not the
    ones it was trained with, or when one of them changed since. Retraining without a file
    the card names is refused with BadInput naming it, never done silently."""
    model_path = Path(model_path)
    recorded = recorded_additions(model_path)
    files = [Path(path) for path in add] or [Path(entry["path"]) for entry in recorded]
    reason = stale_reason(model_path) or _additions_changed(recorded, files)
    if reason is None:
        return None, files
    missing = [str(path) for path in files if not path.is_file()]
    if missing and not add:
        raise BadInput(
            f"{model_path} was trained with --add {', '.join(str(path) for path in files)}, and "
            f"{', '.join(missing)} is missing now; restore it, or retrain without it (triage train, no --if-stale)"
        )
    return reason, files


def dropped_additions(model_path: Path | str, add: Sequence[Path | str]) -> list[str]:
    """The files the card at `model_path` was trained with that a training run on `add`
    leaves out (`triage train` says so before it replaces the model)."""
    kept = {str(Path(path).resolve()) for path in add}
    return [entry["path"] for entry in recorded_additions(model_path) if entry["path"] not in kept]


def _additions_changed(recorded: list[dict], files: list[Path]) -> str | None:
    shas = {entry["path"]: entry.get("sha256") for entry in recorded}
    wanted = {str(path.resolve()): path for path in files}
    if set(wanted) != set(shas):
        was = ", ".join(shas) or "none"
        return f"the model was trained with other --add files (was: {was})"
    for resolved, path in wanted.items():
        if path.is_file() and sha256_file(path) != shas[resolved]:
            return f"{path} changed since the model was trained"
    return None


def report_splits(rows: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The rows each report-only score is taken on: the held-out seeds and both OOD sets."""
    return {
        "test": rows[rows["split"] == "test"],
        "ood": rows[rows["source"] == OOD_SOURCES["ood"]],
        "ood-clean": rows[rows["source"] == OOD_SOURCES["ood-clean"]],
    }


def summary_lines(card: Mapping) -> list[str]:
    """The one-screen summary `triage train` prints."""
    scores = card["scores"]
    lines = [
        f"model   {card['model_file']['name']} (card written beside it)",
        f"trained {card['training']['rows']} rows: "
        + ", ".join(f"{label} {n}" for label, n in card["training"]["examples_per_label"].items()),
    ]
    for name in ("cv", "test", "ood", "ood-clean"):
        if name not in scores:
            continue
        section = scores[name]
        model_scores = section["context"] if name == "cv" else section["model"]
        tags = model_scores["article_tags"] if name == "cv" else section["article_tags"]
        interval = model_scores.get("macro_f1_interval")
        shown = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
        lines.append(
            f"{name:<9}  macro-F1 {model_scores['macro_f1']:.3f}{shown}  accuracy {model_scores['accuracy']:.3f}"
            f"  article-tag micro-F1 {tags.get('micro_f1', float('nan')):.3f}  ({model_scores['n']} paragraphs)"
        )
    lines.append(realnews_test_line(card.get("realnews_test", NOT_MEASURED)))
    context = card["thresholds"]["context"]
    lines.append(
        f"review threshold {context['review']:.2f}; tag thresholds "
        + ", ".join(f"{label} {t:.2f}" for label, t in context["tags"].items())
    )
    return lines
