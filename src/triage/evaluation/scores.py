"""Scores, baselines, article tags and leave-one-article-out: the measurements every choice
is made by. LOAO is defined once, in `loao_folds`, and everything else uses it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from triage.corpus.labeled import (
    ANALYST_SOURCE,
    DECISION_SOURCES,
    LABELS,
    article_titles,
    near_duplicate_pairs,
    standalone_mask,
)
from triage.evaluation.baselines import keyword_baseline, majority_baseline
from triage.model.tags import article_tags, true_tags


# --- paragraph scores -----------------------------------------------------------------
def classification_scores(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS
) -> dict:
    """Per-label precision/recall/F1/support, accuracy, macro-F1 and the confusion matrix."""
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true, y_pred = list(y_true), list(y_pred)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=list(labels), zero_division=0
    )
    per_label = {
        label: {
            "precision": round(float(p), 4),
            "recall": round(float(r), 4),
            "f1": round(float(f), 4),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    present = [label for label in labels if per_label[label]["support"] > 0]
    macro_f1 = float(np.mean([per_label[label]["f1"] for label in present])) if present else 0.0
    accuracy = float(np.mean([t == p for t, p in zip(y_true, y_pred, strict=True)])) if y_true else 0.0
    return {
        "n": len(y_true),
        "accuracy": round(accuracy, 4),
        "macro_f1": round(macro_f1, 4),
        "per_label": per_label,
        "confusion": {
            "labels": list(labels),
            "matrix": confusion_matrix(y_true, y_pred, labels=list(labels)).tolist(),
        },
    }


def macro_f1(y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str] = LABELS) -> float:
    return classification_scores(y_true, y_pred, labels)["macro_f1"]


# --- article tags -----------------------------------------------------------------------
def article_tag_scores(
    articles: Sequence[tuple[Sequence[str], np.ndarray]],
    labels: Sequence[str] = LABELS,
    thresholds: Mapping[str, float] | float = 0.5,
) -> dict:
    """Micro precision/recall/F1 of article tags over (article, label) pairs.

    `articles` holds, per article, its gold paragraph labels and its paragraphs'
    probability rows; tags come from the one rule in `tags.article_tags`.
    """
    from sklearn.metrics import precision_recall_fscore_support
    from sklearn.preprocessing import MultiLabelBinarizer

    if not articles:
        precision = recall = f1 = 0.0
    else:
        binarizer = MultiLabelBinarizer(classes=list(labels))
        gold = binarizer.fit_transform([true_tags(gold_labels) for gold_labels, _ in articles])
        predicted = binarizer.transform(
            [
                {tag["label"] for tag in article_tags(probabilities, labels, thresholds)}
                for _, probabilities in articles
            ]
        )
        precision, recall, f1, _ = precision_recall_fscore_support(
            gold, predicted, average="micro", zero_division=0.0
        )
    return {
        "articles": len(articles),
        "precision": round(float(precision), 4),
        "recall": round(float(recall), 4),
        "micro_f1": round(float(f1), 4),
    }


def group_articles(rows: pd.DataFrame, probabilities: np.ndarray) -> list[tuple[list[str], np.ndarray]]:
    """(gold labels, probability rows) per article of `rows`, in paragraph order; standalone
    paragraphs (corpus.STANDALONE) belong to no article and carry no article tags."""
    rows = rows.reset_index(drop=True)
    rows = rows[~standalone_mask(rows)]
    grouped = []
    for _, article in rows.groupby("article_id", sort=True):
        article = article.sort_values("paragraph")
        grouped.append((list(article["label"]), probabilities[article.index.to_numpy()]))
    return grouped


def bootstrap_interval(
    rows: pd.DataFrame,
    predictions: Sequence[str],
    n_resamples: int = 1000,
    seed: int = 0,
    labels: Sequence[str] = LABELS,
) -> tuple[float, float]:
    """95% interval of macro-F1, resampling whole articles (paragraphs of one article are not
    independent, so resampling paragraphs would make the interval too narrow)."""
    rows = rows.reset_index(drop=True)
    index = {label: i for i, label in enumerate(labels)}
    articles = rows["article_id"].to_numpy()
    ids = list(dict.fromkeys(articles))
    if len(ids) < 2:
        return (float("nan"), float("nan"))
    # One confusion matrix per article; a resample's matrix is the sum of its articles'.
    confusion = np.zeros((len(ids), len(labels), len(labels)))
    position = {article_id: i for i, article_id in enumerate(ids)}
    for article_id, gold, predicted in zip(articles, rows["label"], predictions, strict=True):
        confusion[position[article_id], index[gold], index[predicted]] += 1
    generator = np.random.default_rng(seed)
    scores = [
        _macro_f1_of_confusion(confusion[generator.integers(0, len(ids), len(ids))].sum(axis=0))
        for _ in range(n_resamples)
    ]
    low, high = np.percentile(scores, [2.5, 97.5])
    return round(float(low), 4), round(float(high), 4)


def _macro_f1_of_confusion(matrix: np.ndarray) -> float:
    """Macro-F1 over the labels present in the gold rows of a confusion matrix (rows: gold)."""
    true_positive = np.diag(matrix)
    support, predicted = matrix.sum(axis=1), matrix.sum(axis=0)
    denominator = support + predicted
    f1 = np.divide(2 * true_positive, denominator, out=np.zeros_like(true_positive), where=denominator > 0)
    present = support > 0
    return float(f1[present].mean()) if present.any() else 0.0


# --- leave-one-article-out ---------------------------------------------------------------
@dataclass(frozen=True)
class Fold:
    article_ids: tuple[str, ...]  # the held-out articles: one for LOAO, a group for K-fold
    train_index: np.ndarray  # positions in the rows given to loao_folds
    test_index: np.ndarray

    @property
    def article_id(self) -> str:
        return self.article_ids[0]


def loao_folds(
    rows: pd.DataFrame, article_ids: set[str] | None = None, n_folds: int | None = None
) -> list[Fold]:
    """The leave-one-article-out folds over `split == "train"` rows; the one definition.

    Each fold holds out one article: a seed article's train rows, or a multi-paragraph
    written article (those named in `article_ids`, by default any article_id with more than
    one row). Standalone paragraphs always train. Training rows that nearly duplicate a
    held-out row (corpus.near_duplicate_pairs) are dropped from that fold. Only the held-out
    rows are scored. `test` and `ood` rows never take part. With `n_folds`, the same
    articles are held out in that many groups instead (a seeded shuffle, each article in
    exactly one group): `triage train` chooses its post-hoc state this way, at a fraction
    of the cost.
    """
    rows = rows.reset_index(drop=True)
    train_positions = np.flatnonzero(rows["split"].to_numpy() == "train")
    train_rows = rows.iloc[train_positions].reset_index(drop=True)
    if article_ids is None:
        counts = train_rows["article_id"].value_counts()
        article_ids = set(counts[counts > 1].index)
    texts = list(train_rows["text"])
    duplicates: dict[int, set[int]] = {}
    for i, j, _ in near_duplicate_pairs(texts, texts):
        if i != j:
            duplicates.setdefault(i, set()).add(j)
    article_column = train_rows["article_id"].to_numpy()
    held_out_ids = sorted(set(article_column) & set(article_ids))
    if n_folds is None:
        groups = [(article_id,) for article_id in held_out_ids]
    else:
        order = np.random.default_rng(0).permutation(len(held_out_ids))
        groups = [tuple(sorted(held_out_ids[i] for i in order[k::n_folds])) for k in range(n_folds)]
        groups = [group for group in groups if group]
    folds = []
    for group in groups:
        held_out = np.flatnonzero(np.isin(article_column, group))
        excluded = set(held_out.tolist())
        for i in held_out:
            excluded |= duplicates.get(int(i), set())
        keep = np.array([i for i in range(len(train_rows)) if i not in excluded], dtype=int)
        folds.append(Fold(group, train_positions[keep], train_positions[held_out]))
    return folds


def decision_article_ids(rows: pd.DataFrame, manifest: pd.DataFrame) -> set[str]:
    """The articles whose LOAO folds decide every choice: the seed training articles and the
    realistic articles (corpus.DECISION_SOURCES), text that reads like real news, and an
    analyst's own training rows (`triage train --add`): each of their articles, and each
    standalone paragraph, is a fold group of its own."""
    deciding = manifest.loc[manifest["source"].isin(DECISION_SOURCES), "article_id"]
    training = rows[rows["split"] == "train"]
    analysts = training.loc[training["source"] == ANALYST_SOURCE, "article_id"]
    return (set(deciding) & set(training["article_id"])) | set(analysts)


def decision_score(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """The score every choice is made by: macro-F1 pooled over the out-of-fold paragraphs of
    the decision articles (`decision_article_ids`)."""
    return macro_f1(gold, predicted)


def out_of_fold_probabilities(
    rows: pd.DataFrame,
    settings,
    article_ids: set[str] | None = None,
    titles: Mapping[str, str] | None = None,
    n_jobs: int = 2,
    labels: Sequence[str] = LABELS,
    n_folds: int | None = None,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """Out-of-fold paragraph probabilities from `loao_folds`, one fitted model per fold.

    Returns the scored rows (each held-out row once), their probability matrix (columns in
    `labels` order), and each held-out article's title probabilities (when `titles` names it).
    """
    from joblib import Parallel, delayed

    rows = rows.reset_index(drop=True)
    folds = loao_folds(rows, article_ids, n_folds)
    results = Parallel(n_jobs=n_jobs)(
        delayed(_fit_and_score_fold)(
            rows, fold, settings, {i: (titles or {}).get(i) for i in fold.article_ids}, labels
        )
        for fold in folds
    )
    index = np.concatenate([fold.test_index for fold in folds])
    probabilities = np.vstack([result[0] for result in results])
    title_probabilities = {
        article_id: vector for result in results for article_id, vector in result[1].items()
    }
    return rows.iloc[index].reset_index(drop=True), probabilities, title_probabilities


def _fit_and_score_fold(rows, fold, settings, titles, labels):
    from triage.model.fit import fit_pipeline
    from triage.model.pipeline import align_probabilities

    train = rows.iloc[fold.train_index]
    pipeline = fit_pipeline(settings, train["text"], train["label"])
    held_out = rows.iloc[fold.test_index]
    titled = [(article_id, title) for article_id, title in titles.items() if title]
    texts = list(held_out["text"]) + [title for _, title in titled]
    probabilities = align_probabilities(pipeline.classes_, pipeline.predict_proba(texts), labels)
    n = len(held_out)
    return probabilities[:n], {article_id: probabilities[n + i] for i, (article_id, _) in enumerate(titled)}


def expected_calibration_error(
    gold: Sequence[str], probabilities: np.ndarray, bins: int = 10, labels: Sequence[str] = LABELS
) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by their size."""
    confidence = probabilities.max(axis=1)
    correct = np.array(predicted_labels(probabilities, labels)) == np.asarray(gold)
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            error += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return round(float(error), 4)


def predicted_labels(
    probabilities: np.ndarray, labels: Sequence[str] = LABELS, topic_floor: float = 0.0
) -> list[str]:
    """The label rule `triage predict` applies (`tags.paragraph_labels`)."""
    from triage.model.tags import paragraph_labels

    return paragraph_labels(probabilities, labels, topic_floor)


def contextualise_by_article(
    rows: pd.DataFrame,
    probabilities: np.ndarray,
    context_model,
    title_probabilities: Mapping | None = None,
    temper_output: bool = True,
) -> np.ndarray:
    """Apply an ArticleContextModel's mixing to each article of `rows`, whatever their order
    (each article's paragraphs are put in paragraph order first); `temper_output=False`: the
    mixing alone, which an unfitted model can do."""
    rows = rows.reset_index(drop=True)
    order = rows.sort_values(["article_id", "paragraph"], kind="stable").index.to_numpy()
    mixed = np.empty_like(np.asarray(probabilities, dtype=float))
    mixed[order] = context_model.contextualise_articles(
        np.asarray(probabilities, dtype=float)[order],
        rows["article_id"].to_numpy()[order],
        title_probabilities,
        temper_output=temper_output,
    )
    return mixed


# --- a whole report on a model ------------------------------------------------------------
def model_probabilities(
    model, rows: pd.DataFrame, titles: Mapping[str, str] | None = None, context: bool = True
) -> np.ndarray:
    """Probabilities of a loaded TriageModel for `rows`, article by article when in context."""
    rows = rows.reset_index(drop=True)
    own = model.paragraph_probabilities(list(rows["text"]))
    if not context:
        return own
    title_probabilities = {}
    if titles and model.context_model.context_title_weight:
        present = [
            (article_id, titles[article_id])
            for article_id in rows["article_id"].unique()
            if titles.get(article_id)
        ]
        if present:
            matrix = model.paragraph_probabilities([title for _, title in present])
            title_probabilities = {article_id: matrix[i] for i, (article_id, _) in enumerate(present)}
    return contextualise_by_article(rows, own, model.context_model, title_probabilities)


def evaluation_report(
    model,
    rows: pd.DataFrame,
    train_labels: Sequence[str],
    manifest: pd.DataFrame | None = None,
    context: bool = True,
    n_resamples: int = 1000,
) -> dict:
    """Paragraph scores, article-tag scores, baselines, and for several articles an interval
    and the breakdown by register and by Alibaba versus other articles."""
    rows = rows.reset_index(drop=True)
    titles = article_titles(manifest)
    probabilities = model_probabilities(model, rows, titles, context)
    predicted = predicted_labels(probabilities, model.labels, model.topic_floor if context else 0.0)
    tag_thresholds, _ = model.thresholds(context)
    report = {
        "rows": len(rows),
        "context": context,
        "model": classification_scores(rows["label"], predicted),
        "article_tags": article_tag_scores(group_articles(rows, probabilities), model.labels, tag_thresholds),
        "baselines": {
            "majority": macro_f1(rows["label"], majority_baseline(train_labels, len(rows))),
            "keyword": macro_f1(rows["label"], keyword_baseline(list(rows["text"]))),
        },
    }
    if rows["article_id"].nunique() >= 5:
        report["model"]["macro_f1_interval"] = bootstrap_interval(rows, predicted, n_resamples)
    if manifest is not None:
        report["by_group"] = _breakdown(rows, predicted, manifest)
    return report


def _breakdown(rows: pd.DataFrame, predicted: Sequence[str], manifest: pd.DataFrame) -> dict:
    info = manifest.set_index("article_id")
    rows = rows.assign(predicted=list(predicted))
    known = rows["article_id"].isin(info.index)
    rows = rows[known]
    breakdown = {}
    for column in ("register", "about_alibaba"):
        for value, group in rows.groupby(rows["article_id"].map(info[column])):
            breakdown[f"{column}={value}"] = {
                "rows": len(group),
                "articles": int(group["article_id"].nunique()),
                "macro_f1": macro_f1(group["label"], group["predicted"]),
            }
    return breakdown
