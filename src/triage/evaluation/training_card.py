"""What triage train writes on the card and reads back from it: versions, thresholds, added files, the real-news test line, the summary, and whether a model is stale for what it was asked."""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from triage import __version__
from triage.corpus.labeled import (
    LABELED_FILES,
    LABELS,
    TAXONOMY_VERSION,
    load_labeled_file,
)
from triage.errors import BadInput, ModelRefused
from triage.model.card import read_card, stale_reason
from triage.model.context import ArticleContextModel
from triage.model.pipeline import sha256_file
from triage.model.tags import DEFAULT_REVIEW_THRESHOLD, REVIEW_MIN_ROWS, REVIEW_TARGET_ACCURACY

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
