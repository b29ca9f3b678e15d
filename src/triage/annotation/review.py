"""The label-error ranking: out-of-fold predictions for every training row, the rows whose
given label the model confidently contradicts, and a person's decisions on them.

The score is confident learning's (Northcutt et al.; cleanlab's `find_label_issues` with
`filter_by="confident_learning"`): label j gets the threshold t_j = the mean out-of-fold
probability of j over the rows labelled j; a row labelled i is an issue when some other
label j reaches p_j >= t_j. Issues are ranked by the normalized margin p_i - max_{j != i} p_j,
most negative first: it weighs the given label against the strongest rival, so a row the
model gives confidently to another label comes before one it is merely unsure of.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from triage.corpus.labeled import (
    LABELS,
    article_titles,
    load_labeled,
    load_manifest,
)
from triage.errors import BadInput
from triage.untrusted import for_terminal

DEFAULT_REVIEW_FOLDS = 5
# The training rows confident learning needs: this many of every label the rows use. A
# label's threshold t_j is the mean out-of-fold p_j over the rows labelled j, each scored by
# a model that never saw it. With fewer rows, one row moves that mean by more than 0.1
# (1/n), and each fold's model has seen at most a handful of the label (8 of 10 with 5
# folds): on 6 rows, one of each label, every row came out "confidently contradicted",
# because no model had seen a single example of the row's own label. Below it, review
# shows the out-of-fold probabilities as they are and flags nothing.
CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL = 10


# --- out-of-fold predictions for every training row ------------------------------------------
def review_out_of_fold(
    rows: pd.DataFrame,
    settings,
    *,
    n_folds: int | None = DEFAULT_REVIEW_FOLDS,
    titles: dict[str, str] | None = None,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, np.ndarray, dict[str, np.ndarray]]:
    """(scored rows, paragraph probabilities, title probabilities) with every `train` row
    scored once by a model that never saw it.

    Article rows are held out by `evaluation.loao_folds` (one article a fold with
    `n_folds=None`, else that many groups of articles); standalone paragraphs (one row per
    article_id), which those folds always train on, are held out in `n_folds` groups (5
    with `n_folds=None`) of their own, training on everything else. Near-duplicates of a
    held-out row leave its fold either way.
    """
    from triage.evaluation.scores import out_of_fold_probabilities

    train = rows[rows["split"] == "train"].reset_index(drop=True)
    if train.empty:
        raise BadInput("no training rows to review (check --data and the split column)")
    counts = train["article_id"].value_counts()
    articles, standalone = set(counts[counts > 1].index), set(counts[counts == 1].index)
    parts = []
    for ids, folds in ((articles, n_folds), (standalone, n_folds or DEFAULT_REVIEW_FOLDS)):
        if not ids:
            continue
        try:
            parts.append(out_of_fold_probabilities(train, settings, ids, titles, n_jobs, n_folds=folds))
        except ValueError as exc:  # e.g. a fold with one label, or no term left after min_df
            raise BadInput(f"cannot fit the out-of-fold models on these rows: {exc}") from None
    scored = pd.concat([part[0] for part in parts], ignore_index=True)
    probabilities = np.vstack([part[1] for part in parts])
    title_probabilities = {key: value for part in parts for key, value in part[2].items()}
    return scored, probabilities, title_probabilities


def cached_review_out_of_fold(rows, settings, *, n_folds, titles, n_jobs):
    """`review_out_of_fold`, kept on disk in $TRIAGE_OOF_CACHE when that names a folder (the
    same folder training uses), keyed by the rows, the settings and the folds."""
    from triage.evaluation.training import OOF_CACHE_ENVIRONMENT_VARIABLE

    folder = os.environ.get(OOF_CACHE_ENVIRONMENT_VARIABLE)
    if not folder:
        return review_out_of_fold(rows, settings, n_folds=n_folds, titles=titles, n_jobs=n_jobs)
    digest = hashlib.sha256()
    digest.update(rows[["article_id", "paragraph", "text", "label", "split"]].to_csv(index=False).encode())
    digest.update(json.dumps(settings.to_dict(), sort_keys=True).encode())
    digest.update(json.dumps([n_folds, sorted((titles or {}).items())]).encode())
    path = Path(folder) / f"review-oof-{digest.hexdigest()[:20]}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            keys = pd.DataFrame({"article_id": stored["article_id"], "paragraph": stored["paragraph"]})
            scored = keys.merge(rows, on=["article_id", "paragraph"], how="left", validate="one_to_one")
            titles_found = dict(zip(stored["title_ids"].tolist(), stored["title_probabilities"], strict=True))
            return scored, stored["own"], titles_found
    scored, own, title_probabilities = review_out_of_fold(
        rows, settings, n_folds=n_folds, titles=titles, n_jobs=n_jobs
    )
    ids = sorted(title_probabilities)
    np.savez(
        path,
        article_id=scored["article_id"].to_numpy(dtype=str),
        paragraph=scored["paragraph"].to_numpy(dtype=int),
        own=own,
        title_ids=np.array(ids, dtype=str),
        title_probabilities=np.array([title_probabilities[i] for i in ids]).reshape(len(ids), len(LABELS)),
    )
    return scored, own, title_probabilities


# --- the score -----------------------------------------------------------------------------------
def label_issues(rows: pd.DataFrame, probabilities: np.ndarray, labels=LABELS) -> pd.DataFrame:
    """The rows whose given label the out-of-fold probabilities confidently contradict, most
    contradicted first, with the label the model prefers and the per-label thresholds used."""
    rows = rows.reset_index(drop=True)
    probabilities = np.asarray(probabilities, dtype=float)
    given = np.array([labels.index(label) for label in rows["label"]])
    thresholds = np.full(len(labels), np.inf)  # a label nobody gave can contradict nothing
    for column in range(len(labels)):
        mine = given == column
        if mine.any():
            thresholds[column] = probabilities[mine, column].mean()
    confident = probabilities >= thresholds
    confident[np.arange(len(rows)), given] = False
    rivals = np.where(confident, probabilities, -1.0)
    suggested = rivals.argmax(axis=1)
    own = probabilities[np.arange(len(rows)), given]
    others = probabilities.copy()
    others[np.arange(len(rows)), given] = -1.0
    margin = own - others.max(axis=1)
    issues = rows.assign(
        model_label=[labels[i] for i in suggested],
        p_given=own.round(4),
        p_model=probabilities[np.arange(len(rows)), suggested].round(4),
        normalized_margin=margin.round(4),
        threshold_model_label=thresholds[suggested].round(4),
    )[confident.any(axis=1)]
    issues = issues.sort_values("normalized_margin", kind="stable").reset_index(drop=True)
    issues.insert(0, "rank", range(1, len(issues) + 1))
    return issues.rename(columns={"label": "given_label"})


def labels_below_minimum(rows: pd.DataFrame) -> dict[str, int]:
    """Each label the rows use that has fewer than CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL rows,
    with its count."""
    counts = rows["label"].value_counts()
    return {
        label: int(counts[label])
        for label in LABELS
        if 0 < counts.get(label, 0) < CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL
    }


def plain_probabilities(rows: pd.DataFrame, probabilities: np.ndarray, labels=LABELS) -> pd.DataFrame:
    """Every row with its out-of-fold probability of the given label and the model's top
    label, in file order: what review shows when the rows are too few to flag any."""
    rows = rows.reset_index(drop=True)
    probabilities = np.asarray(probabilities, dtype=float)
    given = np.array([labels.index(label) for label in rows["label"]])
    top = probabilities.argmax(axis=1)
    every = np.arange(len(rows))
    return rows.assign(
        model_label=[labels[i] for i in top],
        p_given=probabilities[every, given].round(4),
        p_model=probabilities[every, top].round(4),
        **{f"p_{label}": probabilities[:, i].round(4) for i, label in enumerate(labels)},
    ).rename(columns={"label": "given_label"})


PLAIN_OUTPUT_COLUMNS = (
    "article_id",
    "paragraph",
    "given_label",
    "p_given",
    "model_label",
    "p_model",
    *(f"p_{label}" for label in LABELS),
    "source",
    "text_sha1",
    "text",
)


REVIEW_OUTPUT_COLUMNS = (
    "rank",
    "article_id",
    "paragraph",
    "given_label",
    "model_label",
    "p_given",
    "p_model",
    "normalized_margin",
    "source",
    "text_sha1",
    "text",
)


@dataclass
class Review:
    """What `triage review` shows: the label issues (`rows`, ranked), or, when some label
    has too few training rows (`too_few`: label -> rows), every row's out-of-fold
    probabilities as they are (`rows`, in file order, nothing flagged)."""

    rows: pd.DataFrame
    too_few: dict[str, int]

    @property
    def flagged(self) -> bool:
        return not self.too_few


def review_rows(
    data: Path | str | None = None,
    *,
    model_path: Path | str | None = None,
    n_folds: int | None = DEFAULT_REVIEW_FOLDS,
    n_jobs: int = 1,
    manifest_path: Path | str | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> Review:
    """What `triage review` lists: the label issues of `data`'s training rows (default: the
    bundled data), scored by out-of-fold models with the settings of `model_path`'s card and
    its article context; below CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL rows of a label, the
    out-of-fold probabilities instead."""
    from triage.evaluation.scores import contextualise_by_article
    from triage.model.pipeline import Settings
    from triage.model.predict import load_model
    from triage.paths import resolve_manifest

    model = load_model(model_path)
    settings = Settings.from_dict(model.card["settings"])
    manifest_path = resolve_manifest(manifest_path, data)
    rows = load_labeled(data, include_ood=False)
    titles = article_titles(load_manifest(manifest_path)) if manifest_path is not None else {}
    train_rows = rows[rows["split"] == "train"]
    what = "leave-one-article-out" if n_folds is None else f"{n_folds} groups"
    progress(f"out-of-fold predictions for {len(train_rows)} training rows ({what}) ...")
    scored, own, title_probabilities = cached_review_out_of_fold(
        rows, settings, n_folds=n_folds, titles=titles, n_jobs=n_jobs
    )
    in_context = contextualise_by_article(scored, own, model.context_model, title_probabilities)
    too_few = labels_below_minimum(scored)
    if too_few:
        plain = plain_probabilities(scored, in_context, list(LABELS))
        keys = ["article_id", "paragraph"]
        where = {
            key: number for number, key in enumerate(train_rows[keys].itertuples(index=False, name=None))
        }
        in_file_order = np.argsort([where[key] for key in plain[keys].itertuples(index=False, name=None)])
        plain = plain.iloc[in_file_order].reset_index(drop=True)
        return Review(plain[list(PLAIN_OUTPUT_COLUMNS)].assign(decision="", new_label=""), too_few)
    issues = label_issues(scored, in_context, list(LABELS))
    return Review(issues[list(REVIEW_OUTPUT_COLUMNS)].assign(decision="", new_label=""), {})


def too_few_message(too_few: dict[str, int]) -> str:
    """Why nothing is flagged, for people."""
    counts = ", ".join(f"{label} {count}" for label, count in too_few.items())
    return (
        f"too few training rows for confident learning: it needs {CONFIDENT_LEARNING_MIN_ROWS_PER_LABEL} of "
        f"each label used, and has {counts}; nothing is flagged, and each row's out-of-fold "
        "probabilities are shown as they are"
    )


def render_plain_table(rows: pd.DataFrame, width: int = 100) -> str:
    """Each row's out-of-fold probabilities for people: the given label's and the top one's."""
    return _row_blocks(
        rows,
        lambda row: (
            f"  {for_terminal(row.article_id)} paragraph {row.paragraph}: given {row.given_label} "
            f"{row.p_given:.2f} out of fold; top {row.model_label} {row.p_model:.2f}"
        ),
        width,
    )


def render_review_table(issues: pd.DataFrame, width: int = 100) -> str:
    """The issues for people: one block per row, both labels and the text."""
    if issues.empty:
        return "no label issues: no row's given label is confidently contradicted\n"
    return _row_blocks(
        issues,
        lambda row: (
            f"{row.rank:>3}. {for_terminal(row.article_id)} paragraph {row.paragraph}: given "
            f"{row.given_label} ({row.p_given:.2f}), model {row.model_label} ({row.p_model:.2f})"
        ),
        width,
    )


def _row_blocks(rows: pd.DataFrame, heading: Callable, width: int) -> str:
    """One block per row: its heading line, then its text cut to `width`, made inert for the terminal."""
    lines = []
    for row in rows.itertuples(index=False):
        text = for_terminal(row.text)
        lines += [heading(row), "     " + (text if len(text) <= width else text[: width - 3] + "...")]
    return "\n".join(lines) + "\n"
