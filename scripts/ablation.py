"""Ablation on real-like folds: every setting and idea scored the same way (run by hand).

    .venv/bin/python scripts/ablation.py               # every variant (about 40 minutes on 2 cores)
    .venv/bin/python scripts/ablation.py --only C1 W1  # some variants
    .venv/bin/python scripts/ablation.py --table       # the saved table

The decision score is leave-one-article-out (LOAO) macro-F1 pooled over the folds of the
seed training articles and the realistic articles (text that reads like real news); clean
authored articles and independent paragraphs train in every fold but never decide. For
each variant of the paragraph pipeline the out-of-fold probabilities are computed once;
the post-hoc choices (article context: lambda, neighbour window, title weight; a weight on
`other`) are then scored on them. The realistic and clean out-of-domain sets only report:
the model fitted on all training rows, with the variant's best post-hoc choice.
Results: benchmarks/results/ablation.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from triage.corpus.labeled import LABELS, article_titles, load_labeled, load_manifest
from triage.evaluation.scores import (
    article_tag_scores,
    bootstrap_interval,
    classification_scores,
    contextualise_by_article,
    decision_article_ids,
    decision_score,
    expected_calibration_error,
    group_articles,
    out_of_fold_probabilities,
    predicted_labels,
)
from triage.model.context import ArticleContextModel
from triage.model.fit import fit_pipeline
from triage.model.pipeline import Settings, align_probabilities
from triage.model.tags import choose_tag_thresholds

ROOT = Path(__file__).resolve().parents[1]


RESULTS = ROOT / "benchmarks/results/ablation.json"

BASE = Settings(context_lambda=0.0, context_window=0.0, context_title_weight=0.0)  # the first round's T5
# (name, what changes, settings). Each row changes one thing from BASE unless it says so.
VARIANTS = [
    ("B0", "word 1-2 + char_wb 2-5 grams, C=4, balanced (first round's T5)", BASE),
    ("C1", "B0 with C=1", BASE.replace(C=1.0)),
    ("C16", "B0 with C=16", BASE.replace(C=16.0)),
    ("W1", "B0 without character n-grams", BASE.replace(char_ngrams=None)),
    ("W3", "B0 with word 1-3 grams", BASE.replace(word_ngrams=(1, 3))),
    ("U1", "B0 without class weights", BASE.replace(class_weight=None)),
    ("D1", "B0 trained without the clean authored articles", BASE),
    ("D2", "B0 trained without the independent paragraphs", BASE),
    (
        "F",
        "B0 again on the final data (furniture rows dropped by the second ingestion round), wider post-hoc grid",
        BASE,
    ),
]
LEAVE_OUT_SOURCE = {"D1": "authored", "D2": "independent"}

# Post-hoc grid, scored on each variant's out-of-fold probabilities.
LAMBDAS = (0.0, 0.3, 0.6, 1.0, 1.5)
WINDOWS = (0.0, 0.3, 0.6, 1.0)
TITLE_WEIGHTS = (0.0, 0.3, 0.6, 1.0)
OTHER_WEIGHTS = (1.0, 0.8, 0.6)


def data():
    rows = load_labeled(ROOT / "data/labeled")
    manifest = load_manifest(ROOT / "data/articles.csv")
    train = rows[rows["split"] == "train"].reset_index(drop=True)
    ood = {
        "ood_realistic": rows[rows["source"] == "ood_realistic"].reset_index(drop=True),
        "ood_clean": rows[rows["source"] == "ood"].reset_index(drop=True),
    }
    return train, ood, manifest


def post_hoc_scores(scored, own, title_probabilities, mixing) -> dict:
    context = ArticleContextModel(None, labels=LABELS, **mixing)
    # mixing weights compared before any temperature is fitted: the mixing alone
    probabilities = contextualise_by_article(scored, own, context, title_probabilities, temper_output=False)
    predicted = predicted_labels(probabilities)
    scores = classification_scores(scored["label"], predicted)
    seed = (scored["source"] == "seed").to_numpy()
    return {
        "probabilities": probabilities,
        "macro_f1": decision_score(scored["label"], predicted),
        "per_label": {label: scores["per_label"][label]["f1"] for label in LABELS},
        "seed_macro_f1": classification_scores(scored["label"][seed], np.array(predicted)[seed])["macro_f1"],
        "other_share": {
            "predicted": round(float(np.mean(np.array(predicted) == "other")), 4),
            "true": round(float(np.mean(scored["label"] == "other")), 4),
        },
    }


def report_scores(pipeline, rows, manifest, thresholds, context: ArticleContextModel) -> dict:
    titles = article_titles(manifest)
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(list(rows["text"])), LABELS)
    ids = list(rows["article_id"].unique())
    matrix = align_probabilities(
        pipeline.classes_, pipeline.predict_proba([titles.get(i, "") for i in ids]), LABELS
    )
    probabilities = contextualise_by_article(
        rows, own, context, dict(zip(ids, matrix, strict=True)), temper_output=False
    )
    predicted = predicted_labels(probabilities)
    scores = classification_scores(rows["label"], predicted)
    return {
        "macro_f1": scores["macro_f1"],
        "interval": bootstrap_interval(rows, predicted, 1000),
        "per_label": {label: scores["per_label"][label]["f1"] for label in LABELS},
        "article_tag_micro_f1": article_tag_scores(group_articles(rows, probabilities), LABELS, thresholds)[
            "micro_f1"
        ],
        "predicted_other_share": round(float(np.mean(np.array(predicted) == "other")), 4),
        "true_other_share": round(float(np.mean(rows["label"] == "other")), 4),
    }


def run_variant(name, settings, train, ood, manifest) -> dict:
    started = time.time()
    if name in LEAVE_OUT_SOURCE:
        train = train[train["source"] != LEAVE_OUT_SOURCE[name]].reset_index(drop=True)
    titles = article_titles(manifest)
    scored, own, title_probabilities = out_of_fold_probabilities(
        train, settings, decision_article_ids(train, manifest), titles
    )
    grid = []
    for lam, window, title, other in itertools.product(LAMBDAS, WINDOWS, TITLE_WEIGHTS, OTHER_WEIGHTS):
        mixing = dict(
            context_lambda=lam, context_window=window, context_title_weight=title, other_weight=other
        )
        result = post_hoc_scores(scored, own, title_probabilities, mixing)
        grid.append((mixing, result))
    none = next(
        r
        for m, r in grid
        if m["context_lambda"] == 0
        and not m["context_window"]
        and not m["context_title_weight"]
        and m["other_weight"] == 1.0
    )
    best_mixing, best = max(grid, key=lambda item: item[1]["macro_f1"])
    articles = group_articles(scored, best["probabilities"])
    thresholds = choose_tag_thresholds(articles, LABELS)
    pipeline = fit_pipeline(settings, train["text"], train["label"])
    context = ArticleContextModel(None, labels=LABELS, **best_mixing)
    return {
        "variant": name,
        "settings": settings.to_dict(),
        "folds": int(scored["article_id"].nunique()),
        "rows": len(scored),
        "decision_no_post_hoc": none["macro_f1"],
        "decision": best["macro_f1"],
        "best_post_hoc": best_mixing,
        "post_hoc_grid": {
            "lambda": LAMBDAS,
            "window": WINDOWS,
            "title": TITLE_WEIGHTS,
            "other_weight": OTHER_WEIGHTS,
        },
        "seed_macro_f1": best["seed_macro_f1"],
        "per_label": best["per_label"],
        "other_share": best["other_share"],
        "calibration_error": expected_calibration_error(scored["label"], best["probabilities"]),
        "loao_article_tag_micro_f1": article_tag_scores(articles, LABELS, thresholds)["micro_f1"],
        "grid": [
            {
                **mixing,
                "macro_f1": result["macro_f1"],
                "seed_macro_f1": result["seed_macro_f1"],
                "predicted_other": result["other_share"]["predicted"],
            }
            for mixing, result in grid
        ],
        "report": {
            key: report_scores(pipeline, rows, manifest, thresholds, context) for key, rows in ood.items()
        },
        "seconds": round(time.time() - started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variant names to (re)run")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    args = parser.parse_args()
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if not args.table:
        train, ood, manifest = data()
        for name, description, settings in VARIANTS:
            if args.only and name not in args.only:
                continue
            result = run_variant(name, settings, train, ood, manifest)
            result["description"] = description
            saved[name] = result
            print(
                f"{name:<5} decision {result['decision']:.3f} (no post-hoc {result['decision_no_post_hoc']:.3f})"
                f" with {result['best_post_hoc']}; realistic OOD {result['report']['ood_realistic']['macro_f1']:.3f}"
                f" ({result['seconds']}s) {description}",
                file=sys.stderr,
                flush=True,
            )
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            RESULTS.write_text(json.dumps(saved, indent=1))
    print(markdown(saved))


def markdown(saved: dict) -> str:
    lines = [
        "| row | what changes | **decision** LOAO macro-F1 (seed + realistic folds), best post-hoc / none "
        "| best post-hoc (lambda, window, title, other weight) | seed folds | predicted / true `other` "
        "| realistic OOD macro-F1 [95% CI] | realistic OOD tag micro-F1 | clean OOD macro-F1 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in saved.items():
        real, clean = result["report"]["ood_realistic"], result["report"]["ood_clean"]
        low, high = real["interval"]
        mixing = result["best_post_hoc"]
        lines.append(
            f"| {name} | {result['description']} | **{result['decision']:.3f}** / {result['decision_no_post_hoc']:.3f} "
            f"| {mixing['context_lambda']}, {mixing['context_window']}, {mixing['context_title_weight']}, "
            f"{mixing['other_weight']} | {result['seed_macro_f1']:.3f} "
            f"| {result['other_share']['predicted']:.2f} / {result['other_share']['true']:.2f} "
            f"| {real['macro_f1']:.3f} [{low:.3f}, {high:.3f}] | {real['article_tag_micro_f1']:.3f} "
            f"| {clean['macro_f1']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
