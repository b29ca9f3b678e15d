"""What `triage evaluate` computes (held-out and cross-validated reports), as functions the CLI only renders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from triage.corpus.labeled import LABELS, empty_manifest, load_labeled, load_manifest, standalone_mask
from triage.errors import BadInput
from triage.evaluation.training_card import NOT_MEASURED, realnews_test_line
from triage.model.predict import load_model
from triage.paths import resolve_data, resolve_manifest
from triage.wording import counted


def split_report(
    model_path: Path | None,
    data: Path | None = None,
    split: str = "test",
    context: bool = True,
    manifest_path: Path | None = None,
) -> dict:
    """Scores of a saved model on the `test`, `ood` (realistic) or `ood-clean` rows of `data`
    (default: the bundled data), with baselines on the same rows."""
    from triage.evaluation.scores import evaluation_report
    from triage.evaluation.training import report_splits

    model = load_model(model_path)
    manifest_path = resolve_manifest(manifest_path, data)
    data = resolve_data(data)
    rows = load_labeled(data)
    split_rows = report_splits(rows)[split]
    if split_rows.empty:
        raise BadInput(f"{data}: no rows with split={split}")
    manifest = load_manifest(manifest_path) if manifest_path is not None else None
    train_labels = list(rows.loc[rows["split"] == "train", "label"])
    if not train_labels:  # an analyst's file of test rows only: the majority of the model's own training
        examples = model.card["training"]["examples_per_label"]
        train_labels = [max(examples, key=examples.get)]
    report = evaluation_report(model, split_rows, train_labels, manifest, context=context)
    report["split"] = split
    report["standalone_paragraphs"] = int(standalone_mask(split_rows).sum())
    report["model_file"] = model.card["model_file"]["name"]
    report["realnews_test"] = model.card.get("realnews_test", NOT_MEASURED)
    return report


def cross_validation_report(
    model_path: Path | None,
    data: Path | None = None,
    context: bool = True,
    n_jobs: int = 2,
    progress: Callable[[str], None] = lambda m: None,
    manifest_path: Path | None = None,
    n_folds: int | None = None,
    add: Sequence[Path] = (),
) -> dict:
    """Leave-one-article-out (or `n_folds` groups of articles) on the seed and realistic
    training articles and the rows of the `add` files (each article and each standalone
    paragraph a fold), with the model's own settings; post-hoc state refitted on the folds."""
    from triage.evaluation.baselines import keyword_baseline, majority_baseline
    from triage.evaluation.scores import macro_f1
    from triage.evaluation.training import out_of_fold_choices, training_rows
    from triage.model.pipeline import Settings

    model = load_model(model_path)
    settings = Settings.from_dict(model.card["settings"])
    manifest_path = resolve_manifest(manifest_path, data)
    manifest = load_manifest(manifest_path) if manifest_path is not None else empty_manifest()
    rows = training_rows(
        load_labeled(data, add=add), include_authored=model.card["training"]["include_authored"]
    )
    what = "leave-one-article-out" if n_folds is None else f"{n_folds} groups of articles"
    progress(f"{what} on {len(rows)} training rows ...")
    choices = out_of_fold_choices(rows, manifest, settings, n_jobs, n_folds)
    key = "context" if context else "paragraph"
    scored = choices["rows"]
    scores = choices["scores"][key]
    probabilities = choices[key if context else "own"]
    per_article = {}
    predicted = scored.assign(predicted=[LABELS[i] for i in np.argmax(probabilities, axis=1)])
    for article_id, group in predicted[~standalone_mask(predicted)].groupby("article_id"):
        per_article[article_id] = {
            "rows": len(group),
            "accuracy": round(float((group["label"] == group["predicted"]).mean()), 4),
        }
    return {
        "split": "loao" if n_folds is None else f"cv{n_folds}",
        "rows": len(scored),
        "context": context,
        "model": {key: value for key, value in scores.items() if key not in ("article_tags", "articles")},
        "article_tags": scores["article_tags"],
        "baselines": {
            "majority": macro_f1(scored["label"], majority_baseline(rows["label"], len(scored))),
            "keyword": macro_f1(scored["label"], keyword_baseline(list(scored["text"]))),
        },
        "per_article": per_article,
        "thresholds": choices["thresholds"][key],
    }


def render_report(report: dict) -> str:
    """The evaluation report as a table for people."""
    model = report["model"]
    standalone = report.get("standalone_paragraphs", 0)
    if standalone == report["rows"]:
        what = " (standalone: rows without an article_id)"
    else:
        what = " (in article context)" if report.get("context") else " (paragraphs alone)"
        what = what[:-1] + f"; {standalone} of them standalone)" if standalone else what
    lines = [
        f"split {report['split']}: {report['rows']} paragraphs{what}",
        "",
        f"{'label':<20}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}",
    ]
    for label, scores in model["per_label"].items():
        lines.append(
            f"{label:<20}{scores['precision']:>10.3f}{scores['recall']:>8.3f}{scores['f1']:>8.3f}{scores['support']:>9}"
        )
    interval = model.get("macro_f1_interval")
    shown = (
        f"  (95% interval over {_resampled(report)} {interval[0]:.3f}-{interval[1]:.3f})" if interval else ""
    )
    lines += [
        "",
        f"accuracy {model['accuracy']:.3f}   macro-F1 {model['macro_f1']:.3f}{shown}",
        _article_tag_line(report["article_tags"]),
        f"baselines (macro-F1): majority {report['baselines']['majority']:.3f}, keyword {report['baselines']['keyword']:.3f}",
        "",
        "confusion matrix (rows: true, columns: predicted)",
    ]
    labels = model["confusion"]["labels"]
    short = [label[:8] for label in labels]
    lines.append(" " * 20 + "".join(f"{name:>10}" for name in short))
    for label, row in zip(labels, model["confusion"]["matrix"], strict=True):
        lines.append(f"{label:<20}" + "".join(f"{value:>10}" for value in row))
    for name, group in report.get("by_group", {}).items():
        lines.append(
            f"{name:<30} macro-F1 {group['macro_f1']:.3f}  ({group['articles']} articles, {group['rows']} paragraphs)"
        )
    if "realnews_test" in report:
        lines += ["", realnews_test_line(report["realnews_test"])]
    return "\n".join(lines)


def _resampled(report: dict) -> str:
    """What the interval resamples: articles, each standalone paragraph counting as one."""
    standalone = report.get("standalone_paragraphs", 0)
    if not standalone:
        return "articles"
    return "standalone paragraphs" if standalone == report["rows"] else "articles and standalone paragraphs"


def _article_tag_line(scores: dict) -> str:
    if not scores["articles"]:
        return "article-tag micro-F1: no articles (standalone paragraphs carry no article tags)"
    return f"article-tag micro-F1 {scores['micro_f1']:.3f} over {counted(scores['articles'], 'article')}"
