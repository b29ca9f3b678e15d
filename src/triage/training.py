"""The training run: labelled data -> LOAO choices -> fitted model -> scores -> card + file."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triage import __version__
from triage.corpus import (
    DEFAULT_DATA_DIR,
    DEFAULT_MANIFEST,
    LABELED_FILES,
    LABELS,
    TAXONOMY_VERSION,
    load_labeled,
    load_manifest,
)
from triage.errors import BadInput
from triage.evaluation import (
    article_tag_scores,
    classification_scores,
    contextualise_by_article,
    evaluation_report,
    expected_calibration_error,
    group_articles,
    loao_folds,
    out_of_fold_probabilities,
    predicted_labels,
)
from triage.model import DEFAULT_MODEL_PATH, ArticleContextModel, Settings, fit_pipeline, save_model, temper
from triage.predict import TriageModel
from triage.tags import DEFAULT_REVIEW_THRESHOLD, DEFAULT_TAG_THRESHOLD, true_tags

# The settings chosen by leave-one-article-out (scripts/ablation.py, README table).
CHOSEN_SETTINGS = Settings()

# Review rule: the lowest top-probability threshold at which the out-of-fold paragraphs the
# model is at least that sure of are right REVIEW_TARGET_ACCURACY of the time; everything
# under it goes to a person. With fewer than REVIEW_MIN_ROWS out-of-fold rows: the default.
REVIEW_TARGET_ACCURACY = 0.95
REVIEW_MIN_ROWS = 100
REVIEW_GRID = tuple(round(x, 2) for x in np.arange(0.30, 0.951, 0.05))
# Tag thresholds: per label, the value on this grid that maximises that label's article-tag
# F1 over the LOAO articles (ties: the one nearest 0.5); a label with fewer than
# TAG_MIN_ARTICLES LOAO articles carrying it keeps the default.
TAG_GRID = tuple(round(x, 2) for x in np.arange(0.20, 0.801, 0.05))
TAG_MIN_ARTICLES = 5


@dataclass
class TrainingResult:
    card: dict
    model_path: Path
    model: TriageModel


def training_rows(rows: pd.DataFrame, include_authored: bool = True, use_all: bool = False) -> pd.DataFrame:
    """The rows a model fits on: `train` (seed and authored), or everything but `ood` with --all."""
    selected = rows[rows["source"] != "ood"] if use_all else rows[rows["split"] == "train"]
    if not include_authored:
        selected = selected[selected["source"] != "authored"]
    if selected.empty:
        raise BadInput("no training rows (check --data and the split column)")
    return selected.reset_index(drop=True)


def choose_review_threshold(correct: np.ndarray, confidence: np.ndarray) -> float:
    """The review rule (see REVIEW_TARGET_ACCURACY) applied to out-of-fold predictions."""
    if len(correct) < REVIEW_MIN_ROWS:
        return DEFAULT_REVIEW_THRESHOLD
    for threshold in REVIEW_GRID:
        sure = confidence >= threshold
        if sure.any() and correct[sure].mean() >= REVIEW_TARGET_ACCURACY:
            return float(threshold)
    return float(REVIEW_GRID[-1])


def choose_tag_thresholds(
    articles: Sequence[tuple[Sequence[str], np.ndarray]], labels: Sequence[str] = LABELS
) -> dict[str, float]:
    """Per-label tag thresholds by the rule above (see TAG_GRID)."""
    thresholds = {}
    for column, label in enumerate(labels):
        if label == "other":
            continue
        carrying = sum(label in true_tags(gold) for gold, _ in articles)
        if carrying < TAG_MIN_ARTICLES:
            thresholds[label] = DEFAULT_TAG_THRESHOLD
            continue
        best = max(TAG_GRID, key=lambda t: (_tag_f1(articles, column, label, t), -abs(t - 0.5)))
        thresholds[label] = float(best)
    return thresholds


def _tag_f1(articles, column, label, threshold) -> float:
    tp = fp = fn = 0
    for gold, probabilities in articles:
        predicted = probabilities[:, column].max() >= threshold
        actual = label in true_tags(gold)
        tp += predicted and actual
        fp += predicted and not actual
        fn += actual and not predicted
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# Out-of-fold predictions are the slowest thing here (one fit per article) and several
# callers need the same ones (training, `evaluate --cv`, the notebook, the test session):
# they are kept per process, and on disk in $TRIAGE_OOF_CACHE when that names a folder.
OOF_CACHE_ENVIRONMENT_VARIABLE = "TRIAGE_OOF_CACHE"
_OOF_CACHE: dict[str, tuple] = {}


def _oof_key(rows: pd.DataFrame, manifest: pd.DataFrame, settings: Settings) -> str:
    pipeline_settings = {k: v for k, v in settings.to_dict().items() if not k.startswith("context_")}
    digest = hashlib.sha256()
    digest.update(
        rows[["article_id", "paragraph", "text", "label", "split", "source"]].to_csv(index=False).encode()
    )
    digest.update(manifest[["article_id", "title"]].to_csv(index=False).encode())
    digest.update(repr(sorted(pipeline_settings.items())).encode())
    return digest.hexdigest()[:20]


def cached_out_of_fold(rows: pd.DataFrame, manifest: pd.DataFrame, settings: Settings, n_jobs: int = 2):
    """`evaluate.out_of_fold_probabilities` for these rows and settings, computed once."""
    article_ids = set(manifest["article_id"])
    titles = dict(zip(manifest["article_id"], manifest["title"], strict=True))
    key = _oof_key(rows, manifest, settings)
    folder = os.environ.get(OOF_CACHE_ENVIRONMENT_VARIABLE)
    path = Path(folder) / f"oof-{key}.npz" if folder else None
    if key not in _OOF_CACHE and path is not None and path.exists():
        with np.load(path, allow_pickle=False) as stored:
            index = np.concatenate(
                [fold.test_index for fold in loao_folds(rows.reset_index(drop=True), article_ids)]
            )
            titles_found = dict(zip(stored["title_ids"].tolist(), stored["title_probabilities"], strict=True))
            _OOF_CACHE[key] = (
                rows.reset_index(drop=True).iloc[index].reset_index(drop=True),
                stored["own"],
                titles_found,
            )
    if key not in _OOF_CACHE:
        _OOF_CACHE[key] = out_of_fold_probabilities(rows, settings, article_ids, titles, n_jobs)
        if path is not None:
            scored, own, title_probabilities = _OOF_CACHE[key]
            ids = sorted(title_probabilities)
            np.savez(
                path,
                own=own,
                title_ids=np.array(ids, dtype=str),
                title_probabilities=np.array([title_probabilities[i] for i in ids]).reshape(len(ids), -1),
            )
    return _OOF_CACHE[key]


# The in-context output's own calibration: the temperature on this grid that minimises the
# log loss of the LOAO out-of-fold in-context probabilities (1.0 when it does not help).
TEMPERATURE_GRID = tuple(round(float(t), 3) for t in np.exp(np.linspace(np.log(0.25), np.log(4.0), 41)))


def choose_temperature(gold: Sequence[str], probabilities: np.ndarray) -> float:
    """The temperature rule above, on out-of-fold probabilities (columns in LABELS order)."""
    columns = np.array([LABELS.index(label) for label in gold])

    def log_loss(temperature: float) -> float:
        tempered = temper(probabilities, temperature)
        return float(-np.mean(np.log(np.clip(tempered[np.arange(len(columns)), columns], 1e-12, 1.0))))

    return min((*TEMPERATURE_GRID, 1.0), key=lambda t: (round(log_loss(t), 6), abs(np.log(t))))


def loao_choices(rows: pd.DataFrame, manifest: pd.DataFrame, settings: Settings, n_jobs: int = 2) -> dict:
    """Out-of-fold predictions on the training rows and every choice made from them: the
    in-context temperature, the tag thresholds and the review threshold of both outputs."""
    scored, own, title_probabilities = cached_out_of_fold(rows, manifest, settings, n_jobs)
    context = ArticleContextModel(
        None, settings.context_lambda, settings.context_window, settings.context_title_weight
    )
    untempered = contextualise_by_article(scored, own, context, title_probabilities)
    context.context_temperature = choose_temperature(list(scored["label"]), untempered)
    in_context = temper(untempered, context.context_temperature)
    choices = {
        "rows": scored,
        "own": own,
        "context": in_context,
        "thresholds": {},
        "scores": {},
        "context_temperature": context.context_temperature,
        "calibration_error": {
            "paragraph": expected_calibration_error(scored["label"], own),
            "context_before_temperature": expected_calibration_error(scored["label"], untempered),
            "context": expected_calibration_error(scored["label"], in_context),
        },
    }
    for key, probabilities in (("paragraph", own), ("context", in_context)):
        articles = group_articles(scored, probabilities)
        tags = choose_tag_thresholds(articles)
        predicted = np.array(predicted_labels(probabilities))
        review = choose_review_threshold(predicted == scored["label"].to_numpy(), probabilities.max(axis=1))
        choices["thresholds"][key] = {"tags": tags, "review": review}
        scores = classification_scores(scored["label"], predicted)
        scores["article_tags"] = article_tag_scores(articles, LABELS, tags)
        scores["articles"] = len(articles)
        choices["scores"][key] = scores
    return choices


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    data: Path | str = DEFAULT_DATA_DIR,
    model_path: Path | str = DEFAULT_MODEL_PATH,
    *,
    include_authored: bool = True,
    use_all: bool = False,
    settings: Settings = CHOSEN_SETTINGS,
    manifest_path: Path | str = DEFAULT_MANIFEST,
    n_jobs: int = 2,
    progress: Callable[[str], None] = lambda message: None,
) -> TrainingResult:
    """Fit on the training rows, choose thresholds by LOAO, score, and save card + model file."""
    data = Path(data)
    all_rows = load_labeled(data)
    manifest = load_manifest(manifest_path)
    rows = training_rows(all_rows, include_authored, use_all)
    loao_rows = training_rows(all_rows, include_authored, use_all=False)

    progress(f"leave-one-article-out on {len(loao_rows)} training rows ...")
    choices = loao_choices(loao_rows, manifest, settings, n_jobs)
    progress(f"fitting on {len(rows)} rows ...")
    pipeline = fit_pipeline(settings, rows["text"], rows["label"], rows["article_id"])
    estimator = ArticleContextModel(
        pipeline,
        settings.context_lambda,
        settings.context_window,
        settings.context_title_weight,
        choices["context_temperature"],
    )

    files = [data / name for name in LABELED_FILES if (data / name).exists()] if data.is_dir() else [data]
    card = {
        "name": "triage",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "labels": list(LABELS),
        "taxonomy_version": TAXONOMY_VERSION,
        "settings": settings.to_dict(),
        "thresholds": choices["thresholds"],
        "context_calibration": {
            "temperature": choices["context_temperature"],
            "rule": "temperature minimising the log loss of LOAO out-of-fold in-context probabilities",
            "loao_calibration_error": choices["calibration_error"],
        },
        "review_rule": (
            f"lowest top probability at which LOAO out-of-fold predictions that sure are "
            f">= {REVIEW_TARGET_ACCURACY:.0%} correct (default {DEFAULT_REVIEW_THRESHOLD} "
            f"under {REVIEW_MIN_ROWS} rows)"
        ),
        "training": {
            "rows": len(rows),
            "include_authored": include_authored,
            "all_but_ood": use_all,
            "files": {str(path): sha256_of(path) for path in files},
            "manifest": {str(manifest_path): sha256_of(Path(manifest_path))},
            "examples_per_label": {label: int((rows["label"] == label).sum()) for label in LABELS},
        },
        "versions": _versions(),
        "scores": {"loao": choices["scores"]},
    }
    # Score the held-out and OOD rows with the model as it will be saved (report only).
    model = TriageModel(estimator, {**card, "model_file": {"sha256": "0" * 64}})
    for split in ("test", "ood"):
        split_rows = all_rows[all_rows["split"] == split]
        if not split_rows.empty:
            progress(f"scoring the {split} split ...")
            report = evaluation_report(model, split_rows, rows["label"], manifest, context=True)
            card["scores"][split] = report
            if use_all and split == "test":
                card["scores"][split]["note"] = "trained with --all: test rows were in training"
    progress(f"saving {model_path} ...")
    card = save_model(estimator, card, model_path)
    return TrainingResult(card, Path(model_path), TriageModel(estimator, card, Path(model_path)))


def summary_lines(card: Mapping) -> list[str]:
    """The one-screen summary `triage train` prints."""
    scores = card["scores"]
    lines = [
        f"model   {card['model_file']['name']} (card written beside it)",
        f"trained {card['training']['rows']} rows: "
        + ", ".join(f"{label} {n}" for label, n in card["training"]["examples_per_label"].items()),
    ]
    for name in ("loao", "test", "ood"):
        if name not in scores:
            continue
        section = scores[name]
        model_scores = section["context"] if name == "loao" else section["model"]
        tags = model_scores["article_tags"] if name == "loao" else section["article_tags"]
        interval = model_scores.get("macro_f1_interval")
        shown = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
        lines.append(
            f"{name:<5}  macro-F1 {model_scores['macro_f1']:.3f}{shown}  accuracy {model_scores['accuracy']:.3f}"
            f"  article-tag micro-F1 {tags.get('micro_f1', float('nan')):.3f}  ({model_scores['n']} paragraphs)"
        )
    context = card["thresholds"]["context"]
    lines.append(
        f"review threshold {context['review']:.2f}; tag thresholds "
        + ", ".join(f"{label} {t:.2f}" for label, t in context["tags"].items())
    )
    return lines
