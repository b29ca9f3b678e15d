"""Score a model on the real-news set: whole cached pages in, labelled blocks matched by line span.

A page goes through the model as `triage predict` takes a `.txt` article (ingestion, then
labels in context, then tags). Each predicted paragraph carries the source lines it came
from; a content block takes the label of the paragraph that covers its line, and one that
no paragraph covers counts wrong (a `missed` prediction: a false negative for its label,
a false positive for none). Blocks of kind `furniture` or `truncated` never count in
macro-F1 or tags; a paragraph over a furniture block counts in the ingestion figures.

Every figure is pooled over the part's blocks or articles, with a 95% interval from 1,000
resamples of whole articles. Per-article counts (`ArticleCounts`) are kept so two settings
can be compared on the same resamples (`triage.evaluation.choosing`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from triage.corpus.labeled import LABELS
from triage.model.tags import NOT_A_TAG

MISSED = "(missed)"
# Columns of a per-article confusion matrix: the six labels, then a block no paragraph covered.
PREDICTED_COLUMNS = (*LABELS, MISSED)
N_RESAMPLES = 1000
INTERVAL = 95


@dataclass
class ArticleCounts:
    """What one page contributes to every figure, so resamples of articles are cheap sums."""

    id: str
    gold: list[str]  # the labels of its content blocks, in block order
    context: list[str]  # the in-context label of each content block (MISSED when uncovered)
    alone: list[str]  # the label without context
    gold_tags: set[str]
    predicted_tags: set[str]
    flagged: list[bool]  # the review flag of each content block's paragraph (False when uncovered)
    content_blocks: int = 0
    content_covered: int = 0
    furniture_blocks: int = 0
    furniture_kept: int = 0
    groups: dict[str, str] = field(default_factory=dict)


def covering_labels(block_lines: Sequence[int], paragraphs: Sequence[dict]) -> list[dict | None]:
    """For each block's line, the predicted paragraph whose source span covers it (or None).

    `paragraphs` are dicts with `lines` [first, last] (1-based, inclusive), as a record of
    `triage predict` has them. A paragraph spanning two blocks covers each.
    """
    by_line: dict[int, dict] = {}
    for paragraph in paragraphs:
        first, last = paragraph["lines"]
        for line in range(first, last + 1):
            by_line.setdefault(line, paragraph)
    return [by_line.get(line) for line in block_lines]


def article_counts(
    page_id: str,
    page_blocks: pd.DataFrame,
    in_context: dict,
    alone: dict,
    groups: dict[str, str] | None = None,
) -> ArticleCounts:
    """Match one page's predictions (records with `paragraphs` and `tags`, context on and off)
    to its labelled blocks (rows of labels.csv for the page)."""
    content = page_blocks[page_blocks["kind"] == "content"]
    furniture = page_blocks[page_blocks["kind"] == "furniture"]
    covered = covering_labels(content["first_line"].tolist(), in_context["paragraphs"])
    covered_alone = covering_labels(content["first_line"].tolist(), alone["paragraphs"])
    kept_furniture = covering_labels(furniture["first_line"].tolist(), in_context["paragraphs"])
    gold = content["label"].tolist()
    return ArticleCounts(
        id=page_id,
        gold=gold,
        context=[p["label"] if p else MISSED for p in covered],
        alone=[p["label"] if p else MISSED for p in covered_alone],
        gold_tags={label for label in gold if label != NOT_A_TAG},
        predicted_tags={tag["label"] for tag in in_context["tags"]},
        flagged=[bool(p and p["needs_review"]) for p in covered],
        content_blocks=len(content),
        content_covered=sum(p is not None for p in covered),
        furniture_blocks=len(furniture),
        furniture_kept=sum(p is not None for p in kept_furniture),
        groups=dict(groups or {}),
    )


# --- figures on a list of articles -------------------------------------------------------
def confusion(articles: Sequence[ArticleCounts], which: str = "context") -> np.ndarray:
    """One (article, gold label, predicted column) count tensor; resamples sum its rows."""
    gold_index = {label: i for i, label in enumerate(LABELS)}
    predicted_index = {label: i for i, label in enumerate(PREDICTED_COLUMNS)}
    tensor = np.zeros((len(articles), len(LABELS), len(PREDICTED_COLUMNS)))
    for row, article in enumerate(articles):
        for gold, predicted in zip(article.gold, getattr(article, which), strict=True):
            tensor[row, gold_index[gold], predicted_index[predicted]] += 1
    return tensor


def per_label_f1(matrix: np.ndarray) -> np.ndarray:
    """F1 of each label from a gold x predicted-column matrix (NaN for a label with no gold
    block and no prediction)."""
    true_positive = np.diag(matrix[:, : len(LABELS)])
    support = matrix.sum(axis=1)
    predicted = matrix[:, : len(LABELS)].sum(axis=0)
    denominator = support + predicted
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, 2 * true_positive / denominator, np.nan)


def macro_f1_of(matrix: np.ndarray) -> float:
    """The unweighted mean of the F1 of the labels that have gold blocks."""
    present = matrix.sum(axis=1) > 0
    return float(np.nanmean(per_label_f1(matrix)[present])) if present.any() else float("nan")


def tag_counts(articles: Sequence[ArticleCounts]) -> np.ndarray:
    """Per article: true positives, false positives, false negatives of its tags, exact (0/1)."""
    return np.array(
        [
            [
                len(a.predicted_tags & a.gold_tags),
                len(a.predicted_tags - a.gold_tags),
                len(a.gold_tags - a.predicted_tags),
                float(a.predicted_tags == a.gold_tags),
            ]
            for a in articles
        ]
    ).reshape(len(articles), 4)


def micro_f1_of(counts: np.ndarray) -> float:
    true_positive, false_positive, false_negative = counts[:3]
    denominator = 2 * true_positive + false_positive + false_negative
    return float(2 * true_positive / denominator) if denominator else float("nan")


def resample_indices(n_articles: int, n_resamples: int = N_RESAMPLES, seed: int = 0) -> np.ndarray:
    """The same article resamples for every figure (and for both sides of a comparison)."""
    return np.random.default_rng(seed).integers(0, n_articles, size=(n_resamples, n_articles))


def interval(values: Iterable[float], level: float = INTERVAL) -> list[float]:
    values = np.asarray(list(values), dtype=float)
    values = values[~np.isnan(values)]
    if not len(values):
        return [float("nan"), float("nan")]
    tail = (100 - level) / 2
    low, high = np.percentile(values, [tail, 100 - tail])
    return [round(float(low), 4), round(float(high), 4)]


def _figure(tensor_or_counts: np.ndarray, statistic: Callable[[np.ndarray], float], resamples) -> dict:
    point = statistic(tensor_or_counts.sum(axis=0))
    spread = [statistic(tensor_or_counts[indices].sum(axis=0)) for indices in resamples]
    return {"value": round(point, 4), "interval": interval(spread)}


def figures(articles: Sequence[ArticleCounts], seed: int = 0) -> dict:
    """Every figure `triage evaluate --realnews` prints, each with its interval over articles."""
    if not articles:
        return {"articles": 0}
    resamples = resample_indices(len(articles), seed=seed)
    in_context, alone = confusion(articles, "context"), confusion(articles, "alone")
    tags = tag_counts(articles)
    report: dict = {
        "articles": len(articles),
        "content_blocks": int(sum(a.content_blocks for a in articles)),
        "paragraph_macro_f1": _figure(alone, macro_f1_of, resamples),
        "in_article_macro_f1": _figure(in_context, macro_f1_of, resamples),
        "article_tag_micro_f1": _figure(tags, micro_f1_of, resamples),
        "exact_tags": {"articles": int(tags[:, 3].sum()), "of": len(articles)},
        "per_label_f1": {},
        "groups": {},
        "ingestion": ingestion_figures(articles, resamples),
        "review": review_figures(articles),
        "support": dict(zip(LABELS, in_context.sum(axis=(0, 2)).astype(int).tolist(), strict=True)),
    }
    for column, label in enumerate(LABELS):
        report["per_label_f1"][label] = _figure(
            in_context, lambda m, c=column: float(per_label_f1(m)[c]), resamples
        )
    for group_name in sorted({name for a in articles for name in a.groups}):
        for value in sorted({a.groups.get(group_name, "") for a in articles}):
            members = [a for a in articles if a.groups.get(group_name, "") == value]
            member_resamples = resample_indices(len(members), seed=seed)
            report["groups"][f"{group_name}={value}"] = {
                "articles": len(members),
                "in_article_macro_f1": _figure(confusion(members, "context"), macro_f1_of, member_resamples),
            }
    return report


def ingestion_figures(articles: Sequence[ArticleCounts], resamples) -> dict:
    """Content recall by line span and furniture blocks kept per page."""
    counts = np.array([[a.content_covered, a.content_blocks, a.furniture_kept, 1.0] for a in articles])
    recall = _figure(counts, lambda c: float(c[0] / c[1]) if c[1] else float("nan"), resamples)
    kept = _figure(counts, lambda c: float(c[2] / c[3]), resamples)
    return {
        "content_recall": recall,
        "furniture_kept_per_page": kept,
        "furniture_blocks": int(sum(a.furniture_blocks for a in articles)),
        "furniture_kept": int(counts[:, 2].sum()),
    }


def review_figures(articles: Sequence[ArticleCounts]) -> dict:
    """The review flag's share of (covered) content blocks and the share of their errors it catches."""
    flagged = wrong = caught = covered = 0
    for article in articles:
        for gold, predicted, flag in zip(article.gold, article.context, article.flagged, strict=True):
            if predicted == MISSED:
                continue
            covered += 1
            flagged += flag
            wrong += predicted != gold
            caught += flag and predicted != gold
    return {
        "flagged_share": round(flagged / covered, 4) if covered else float("nan"),
        "errors_caught_share": round(caught / wrong, 4) if wrong else float("nan"),
        "errors": wrong,
        "blocks": covered,
    }


# --- scoring a model ------------------------------------------------------------------------
def predict_page(model, text: str) -> tuple[dict, dict]:
    """The page's prediction with context and without, as records (`paragraphs` with `lines`,
    `needs_review`, `label`; `tags`)."""
    records = []
    for context in (True, False):
        prediction = model.predict_article(text, context=context)
        records.append(
            {
                "paragraphs": [p.to_dict() for p in prediction.paragraphs],
                "tags": prediction.tags,
            }
        )
    return records[0], records[1]


def group_values(manifest_row: pd.Series) -> dict[str, str]:
    return {"about_alibaba": str(manifest_row["about_alibaba"]), "register": str(manifest_row["register"])}


def score_pages(
    model,
    pages: Sequence[tuple[pd.Series, str, pd.DataFrame]],
    progress: Callable[[str], None] = lambda message: None,
) -> list[ArticleCounts]:
    """(manifest row, cached text, its label rows) per page -> the per-article counts."""
    articles = []
    for number, (row, text, page_blocks) in enumerate(pages, start=1):
        if number % 25 == 0:
            progress(f"scored {number} of {len(pages)} pages ...")
        in_context, alone = predict_page(model, text)
        articles.append(article_counts(row["id"], page_blocks, in_context, alone, group_values(row)))
    return articles


# --- the log of every look at the test part -------------------------------------------------
FINAL_LOG_COLUMNS = (
    "date",
    "commit",
    "model_sha",
    "settings_hash",
    "training_data_hash",
    "part",
    "articles",
    "content_blocks",
    "paragraph_macro_f1",
    "in_article_macro_f1",
    "in_article_macro_f1_low",
    "in_article_macro_f1_high",
    "article_tag_micro_f1",
    "exact_tags",
    *(f"f1_{label}" for label in LABELS),
    "macro_f1_about_alibaba",
    "macro_f1_not_alibaba",
    "content_recall",
    "furniture_kept_per_page",
    "review_flagged_share",
    "review_errors_caught_share",
)


def settings_hash(card: dict) -> str:
    """What a model was asked to be: its settings (the card's `settings`)."""
    return hashlib.sha256(json.dumps(card.get("settings", {}), sort_keys=True).encode()).hexdigest()[:16]


def training_data_hash(card: dict) -> str:
    """What a model was fitted on: the sha256 of every training file, the manifest and each
    `--add` file (an analyst's model is another model)."""
    training = card.get("training", {})
    hashes = [*training.get("files", {}).values(), *training.get("manifest", {}).values()]
    hashes += [added["sha256"] for added in training.get("added", [])]
    digest = hashlib.sha256(json.dumps(sorted(hashes)).encode()).hexdigest()
    return digest[:16]


def current_commit(repository: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(repository), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        dirty = subprocess.run(
            ["git", "-C", str(repository), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return result.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def final_log_row(report: dict, card: dict, commit: str, part: str = "test") -> dict:
    groups = report.get("groups", {})

    def group(name: str) -> float:
        return groups.get(name, {}).get("in_article_macro_f1", {}).get("value", float("nan"))

    in_article = report["in_article_macro_f1"]
    return {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "model_sha": card["model_file"]["sha256"][:12],
        "settings_hash": settings_hash(card),
        "training_data_hash": training_data_hash(card),
        "part": part,
        "articles": report["articles"],
        "content_blocks": report["content_blocks"],
        "paragraph_macro_f1": report["paragraph_macro_f1"]["value"],
        "in_article_macro_f1": in_article["value"],
        "in_article_macro_f1_low": in_article["interval"][0],
        "in_article_macro_f1_high": in_article["interval"][1],
        "article_tag_micro_f1": report["article_tag_micro_f1"]["value"],
        "exact_tags": report["exact_tags"]["articles"],
        **{f"f1_{label}": report["per_label_f1"][label]["value"] for label in LABELS},
        "macro_f1_about_alibaba": group("about_alibaba=yes"),
        "macro_f1_not_alibaba": group("about_alibaba=no"),
        "content_recall": report["ingestion"]["content_recall"]["value"],
        "furniture_kept_per_page": report["ingestion"]["furniture_kept_per_page"]["value"],
        "review_flagged_share": report["review"]["flagged_share"],
        "review_errors_caught_share": report["review"]["errors_caught_share"],
    }


def append_final_log(path: Path, row: dict) -> None:
    """Append one run to the log (created with its header when missing), atomically."""
    from triage.atomic import atomic_write_text

    existing = pd.read_csv(path, dtype=str, keep_default_na=False) if path.exists() else None
    frame = pd.DataFrame([row], columns=list(FINAL_LOG_COLUMNS)).astype(str)
    if existing is not None:
        frame = pd.concat([existing, frame], ignore_index=True)
    atomic_write_text(path, frame.to_csv(index=False))


def logged_test_figures(path: Path, card: dict) -> dict | None:
    """The last logged test run of a model with this card's settings and training data, or None."""
    if not path.exists():
        return None
    log = pd.read_csv(path, dtype=str, keep_default_na=False)
    matching = log[
        (log["settings_hash"] == settings_hash(card))
        & (log["training_data_hash"] == training_data_hash(card))
        & (log["part"] == "test")
    ]
    return None if matching.empty else matching.iloc[-1].to_dict()


# --- the report `triage evaluate --realnews` prints -------------------------------------------
FINAL_LOG = Path("data/realnews/final_log.csv")


def realnews_report(
    model,
    part: str,
    *,
    final: bool = False,
    directory: Path | None = None,
    cache: Path | None = None,
    log_path: Path | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> dict:
    """Score a loaded model on a part of the real-news set; with `final` (the test part),
    append the figures to the log so every look at test is on record."""
    from triage.corpus.realnews import DEFAULT_SET_DIR, load_pages

    directory = Path(directory or DEFAULT_SET_DIR)
    pages = load_pages(part, final=final, directory=directory, cache=cache)
    progress(f"scoring {len(pages)} real-news pages ({part}) ...")
    report = figures(score_pages(model, pages, progress))
    report.update(part=part, model_sha=model.short_sha, settings_hash=settings_hash(model.card))
    report["training_data_hash"] = training_data_hash(model.card)
    if final:
        log_path = Path(log_path or directory / "final_log.csv")
        append_final_log(log_path, final_log_row(report, model.card, current_commit(directory), part))
        report["logged_to"] = str(log_path)
    return report


def _shown(figure: dict) -> str:
    low, high = figure["interval"]
    return f"{figure['value']:.3f} [{low:.3f}, {high:.3f}]"


def render_realnews(report: dict) -> str:
    """The real-news report for people: every figure with its 95% interval over articles."""
    lines = [
        f"real news, {report['part']}: {report['articles']} articles, {report['content_blocks']} content blocks "
        f"(model {report['model_sha']}; intervals: 95%, {N_RESAMPLES} resamples of articles)",
        f"  paragraph macro-F1 (no context)   {_shown(report['paragraph_macro_f1'])}",
        f"  in-article macro-F1               {_shown(report['in_article_macro_f1'])}",
        f"  article-tag micro-F1              {_shown(report['article_tag_micro_f1'])}",
        f"  exact tags                        {report['exact_tags']['articles']} of {report['exact_tags']['of']} articles",
        "  per label, in article context (F1, content blocks):",
    ]
    for label, figure in report["per_label_f1"].items():
        lines.append(f"    {label:<20} {_shown(figure)}  ({report['support'][label]})")
    lines.append("  in-article macro-F1 by group:")
    for name, group in report["groups"].items():
        lines.append(f"    {name:<30} {_shown(group['in_article_macro_f1'])}  ({group['articles']} articles)")
    ingestion, review = report["ingestion"], report["review"]
    lines += [
        f"  ingestion: content recall {_shown(ingestion['content_recall'])}; furniture blocks kept per page "
        f"{_shown(ingestion['furniture_kept_per_page'])} ({ingestion['furniture_kept']} of {ingestion['furniture_blocks']})",
        f"  review flag: {review['flagged_share']:.0%} of paragraphs flagged, "
        f"{review['errors_caught_share']:.0%} of {review['errors']} errors caught",
    ]
    if "logged_to" in report:
        lines.append(f"  logged to {report['logged_to']}")
    return "\n".join(lines)
