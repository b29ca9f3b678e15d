"""Judge the semantic model against the TF-IDF model on the real-news dev part, by the one rule.

    .venv/bin/python scripts/semantic_realnews.py            # needs the real-news cache and the semantic extra
    .venv/bin/python scripts/semantic_realnews.py --table    # the saved table

Both models are built as `triage train` builds them: fitted on the training rows, their
post-hoc state (temperature, tag thresholds; the review threshold fixed by the settings)
fitted on out-of-fold predictions of the training articles in the 5 groups `train` uses.
The semantic model is the dearer setting (an encoder beside TF-IDF, tens of paragraphs a
second against thousands): it is adopted only when its gain in in-article macro-F1 on dev
has its 90% interval above 0 (`triage.evaluation.choosing.paired_difference`).

Choices made on the way, none on dev except the last:
- the sentence model's C: the best out-of-fold macro-F1 on the training articles;
- how the two models combine (the probabilities averaged with weight 0.3, 0.5 or 0.7, or a
  stacked logistic regression on both models' out-of-fold log probabilities) is a grid of
  equal cost, cross-fitted over two halves of the dev stories (`triage.evaluation.choosing.cross_fit`)
  against the average with weight 0.5 (what the issue measured). The semantic model is
  adopted when the combination adopted there beats TF-IDF with its interval above 0, and so
  do the cross-fitted counts (each half scored with the combination chosen on the other),
  so the grid cannot win by chance. Per-label differences are the adopted combination's.

Only the dev part is read (never dev-check, never test). Results:
benchmarks/results/semantic_realnews.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from triage.corpus.labeled import LABELS, load_labeled, load_manifest, standalone_mask
from triage.evaluation.choosing import DevPredictions, cross_fit, dev_pages, paired_difference, story_halves
from triage.evaluation.realnews_scoring import confusion, figures, per_label_f1, resample_indices
from triage.evaluation.scores import decision_article_ids, decision_score, loao_folds, predicted_labels
from triage.evaluation.training import (
    CHOSEN_SETTINGS,
    TRAINING_FOLDS,
    cached_out_of_fold,
    context_model,
    fix_chosen_thresholds,
)
from triage.model.fit import fit_pipeline
from triage.model.pipeline import align_probabilities
from triage.model.semantic import embed_training_texts, installed_encoder, sentence_pipeline

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks/results/semantic_realnews.json"
SENTENCE_C_GRID = (1.0, 4.0, 16.0, 64.0)
WEIGHT_GRID = (0.3, 0.5, 0.7)
FIRST = "average 0.5"  # the combination the issue measured, the grid's reference


def sentence_out_of_fold(rows, folds, embeddings, settings) -> np.ndarray:
    """The sentence model's out-of-fold probabilities, rows in the order of the folds' held-out rows."""
    own = []
    for fold in folds:
        classifier = sentence_pipeline(settings).named_steps["classify"]
        classifier.fit(embeddings[fold.train_index], rows["label"].to_numpy()[fold.train_index])
        own.append(
            align_probabilities(
                classifier.classes_, classifier.predict_proba(embeddings[fold.test_index]), LABELS
            )
        )
    return np.vstack(own)


def with_own(predictions: DevPredictions, own, titles) -> DevPredictions:
    return dataclasses.replace(predictions, own=list(own), titles=list(titles))


def combined(first: DevPredictions, second: DevPredictions, combine) -> DevPredictions:
    own = [combine(a, b) for a, b in zip(first.own, second.own, strict=True)]
    titles = [
        None if a is None else combine(a[None], b[None])[0]
        for a, b in zip(first.titles, second.titles, strict=True)
    ]
    return with_own(first, own, titles)


def stacking_features(terms: np.ndarray, sentences: np.ndarray) -> np.ndarray:
    return np.hstack([np.log(np.clip(terms, 1e-6, 1)), np.log(np.clip(sentences, 1e-6, 1))])


def per_label_differences(cheaper, dearer, seed: int = 0) -> dict:
    """Per label, in article context: the dearer model's F1 gain and its 90% interval (same resamples)."""
    first, second = confusion(cheaper, "context"), confusion(dearer, "context")
    resamples = resample_indices(len(cheaper), seed=seed)
    point = per_label_f1(second.sum(axis=0)) - per_label_f1(first.sum(axis=0))
    spread = np.array(
        [per_label_f1(second[r].sum(axis=0)) - per_label_f1(first[r].sum(axis=0)) for r in resamples]
    )
    low, high = np.nanpercentile(spread, [5, 95], axis=0)
    return {
        label: {
            "difference": round(float(point[i]), 4),
            "interval": [round(float(low[i]), 4), round(float(high[i]), 4)],
        }
        for i, label in enumerate(LABELS)
    }


def tag_f1_per_label(articles) -> dict:
    """Per label: F1 of the article tags (an article tagged L against gold blocks labelled L)."""
    scores = {}
    for label in LABELS:
        if label == "other":
            continue
        tp = sum(label in a.predicted_tags and label in a.gold_tags for a in articles)
        fp = sum(label in a.predicted_tags and label not in a.gold_tags for a in articles)
        fn = sum(label not in a.predicted_tags and label in a.gold_tags for a in articles)
        scores[label] = {
            "f1": round(2 * tp / (2 * tp + fp + fn), 4) if tp + fp + fn else None,
            "articles": tp + fn,
        }
    return scores


def run(rows, manifest, pages, dev_manifest, n_threads: int) -> dict:
    settings = CHOSEN_SETTINGS
    started = time.perf_counter()
    embedder = embed_training_texts(rows["text"], n_threads)
    print(
        f"training rows embedded: {embedder.embedded_} new, {embedder.cache_hits_} from the cache "
        f"({time.perf_counter() - started:.0f}s)",
        flush=True,
    )

    # Out of fold on the training articles, the folds `triage train` uses.
    scored, tfidf_oof, title_oof = cached_out_of_fold(rows, manifest, settings, 2, TRAINING_FOLDS)
    folds = loao_folds(rows.reset_index(drop=True), decision_article_ids(rows, manifest), TRAINING_FOLDS)
    embeddings = embedder.transform(list(rows["text"]))
    sentence_scores = {}
    for value in SENTENCE_C_GRID:
        oof = sentence_out_of_fold(rows, folds, embeddings, settings.replace(sentence_C=value))
        sentence_scores[value] = round(decision_score(scored["label"], predicted_labels(oof)), 4)
    sentence_C = max(SENTENCE_C_GRID, key=lambda value: (sentence_scores[value], -abs(np.log(value / 16))))
    semantic_settings = settings.replace(sentence_C=sentence_C)
    sentence_oof = sentence_out_of_fold(rows, folds, embeddings, semantic_settings)
    print(
        f"sentence model C by out-of-fold macro-F1 on the training articles: {sentence_scores} -> {sentence_C}",
        flush=True,
    )

    # Final fits on every training row, and their own probabilities on dev.
    tfidf_dev = DevPredictions.of(fit_pipeline(settings, rows["text"], rows["label"]), pages)
    sentence_model = sentence_pipeline(semantic_settings)
    sentence_model.named_steps["classify"].fit(embeddings, rows["label"])
    sentence_model.steps[0] = ("embed", embedder)  # dev paragraphs go through the same cache
    sentence_dev = DevPredictions.of(sentence_model, pages)

    # The stacker learns from out-of-fold probabilities of both models; its own post-hoc
    # state is then fitted on those same rows (12 inputs, 6 classes: little room to overfit).
    stacker = LogisticRegression(C=1.0, max_iter=3000, random_state=0)
    stacker.fit(stacking_features(tfidf_oof, sentence_oof), scored["label"])

    def stack(terms, sentences):
        return align_probabilities(
            stacker.classes_, stacker.predict_proba(stacking_features(terms, sentences)), LABELS
        )

    variants = {"tfidf": (tfidf_oof, tfidf_dev), "sentence alone": (sentence_oof, sentence_dev)}
    for weight in WEIGHT_GRID:

        def average(terms, sentences, w=weight):
            return (1 - w) * terms + w * sentences

        variants[f"average {weight}"] = (
            average(tfidf_oof, sentence_oof),
            combined(tfidf_dev, sentence_dev, average),
        )
    variants["stack"] = (stack(tfidf_oof, sentence_oof), combined(tfidf_dev, sentence_dev, stack))

    groups = scored["article_id"].to_numpy()
    counts, post_hoc = {}, {}
    for name, (oof, dev) in variants.items():
        fitted = context_model(settings).fit(
            oof, scored["label"], groups, title_oof, standalone=standalone_mask(scored)
        )
        fix_chosen_thresholds(fitted, settings)
        post_hoc[name] = {"temperature": fitted.temperature_, "tag_thresholds": fitted.tag_thresholds_}
        counts[name] = dev.counts(
            fitted, fitted.tag_thresholds_, fitted.review_threshold_, fitted.paragraph_tag_thresholds_
        )

    # The combination: equal-cost values, cross-fitted over halves of the dev stories.
    halves = story_halves(dev_manifest)
    semantic_names = [*(f"average {w}" for w in WEIGHT_GRID), "stack"]
    grid = cross_fit({name: counts[name] for name in semantic_names}, FIRST, halves)
    half = np.array([halves[a.id] for a in counts["tfidf"]])
    cross_fitted = [counts[grid.chosen_per_half[h]][i] for i, h in enumerate(half)]
    chosen = grid.adopted

    shipped = paired_difference(counts["tfidf"], counts[chosen])
    comparisons = {
        f"semantic ({chosen}, adopted) vs tfidf, in-article macro-F1": shipped,
        f"semantic ({chosen}, adopted) vs tfidf, article-tag micro-F1": paired_difference(
            counts["tfidf"], counts[chosen], "article_tag_micro_f1"
        ),
        "semantic (combination cross-fitted) vs tfidf, in-article macro-F1": paired_difference(
            counts["tfidf"], cross_fitted
        ),
        "semantic (combination cross-fitted) vs tfidf, article-tag micro-F1": paired_difference(
            counts["tfidf"], cross_fitted, "article_tag_micro_f1"
        ),
        "semantic (combination cross-fitted) vs tfidf, paragraph macro-F1 (no context)": paired_difference(
            counts["tfidf"], cross_fitted, "paragraph_macro_f1"
        ),
    }
    decision = {
        "adopt": shipped["adopt"]
        and comparisons["semantic (combination cross-fitted) vs tfidf, in-article macro-F1"]["adopt"]
    }
    for name in ("sentence alone", *semantic_names):
        comparisons[f"{name} vs tfidf, in-article macro-F1"] = paired_difference(
            counts["tfidf"], counts[name]
        )
    return {
        "encoder": installed_encoder().to_dict(),
        "dev_articles": len(pages),
        "training_rows": len(rows),
        "sentence_C": {
            "grid": sentence_scores,
            "chosen": sentence_C,
            "by": "out-of-fold macro-F1, training articles, 5 groups",
        },
        "combination": {
            "scores": grid.scores,
            "chosen_per_half": grid.chosen_per_half,
            "adopted": chosen,
            "against": FIRST,
            "comparison": grid.comparison,
        },
        "adopt_semantic": decision["adopt"],
        "comparisons": comparisons,
        "per_label_difference_in_article": per_label_differences(counts["tfidf"], counts[chosen]),
        "figures": {name: figures(counts[name]) for name in ("tfidf", *semantic_names, "sentence alone")}
        | {"semantic cross-fitted": figures(cross_fitted)},
        "tag_f1_per_label": {name: tag_f1_per_label(counts[name]) for name in ("tfidf", chosen)}
        | {"semantic cross-fitted": tag_f1_per_label(cross_fitted)},
        "post_hoc": post_hoc,
        "seconds": round(time.perf_counter() - started, 1),
    }


def table(results: dict) -> str:
    lines = [
        "| compared | dearer | cheaper | difference | 90% interval | adopt |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in results["comparisons"].items():
        low, high = row["interval"]
        lines.append(
            f"| {name} | {row['dearer']:.4f} | {row['cheaper']:.4f} | {row['difference']:+.4f} | [{low:+.4f}, {high:+.4f}] | {row['adopt']} |"
        )
    shown = ("tfidf", results["combination"]["adopted"], "semantic cross-fitted")
    lines += [
        "",
        "| label (in article) | " + " | ".join(shown) + " | difference [90%] |",
        "|---|" + "---|" * (len(shown) + 1),
    ]
    for label in LABELS:
        cells = [f"{results['figures'][name]['per_label_f1'][label]['value']:.3f}" for name in shown]
        difference = results["per_label_difference_in_article"][label]
        low, high = difference["interval"]
        lines.append(
            f"| {label} | "
            + " | ".join(cells)
            + f" | {difference['difference']:+.3f} [{low:+.3f}, {high:+.3f}] |"
        )
    for statistic in ("in_article_macro_f1", "paragraph_macro_f1", "article_tag_micro_f1"):
        cells = [f"{results['figures'][name][statistic]['value']:.3f}" for name in shown]
        lines.append(f"| **{statistic}** | " + " | ".join(cells) + " | |")
    lines += ["", "| tag (article-tag F1) | " + " | ".join(shown) + " |", "|---|" + "---|" * len(shown)]
    for label, cell in results["tag_f1_per_label"]["tfidf"].items():
        cells = [str(results["tag_f1_per_label"][name][label]["f1"]) for name in shown]
        lines.append(f"| {label} ({cell['articles']} articles) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", action="store_true", help="print the saved table")
    parser.add_argument("--set", type=Path, default=ROOT / "data/realnews", help="the real-news set's folder")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the results are written")
    parser.add_argument("--threads", type=int, default=1, help="encoder threads for rows not yet cached")
    options = parser.parse_args()
    if options.table:
        print(table(json.loads(RESULTS.read_text())))
        return
    rows = load_labeled(ROOT / "data/labeled")
    rows = rows[rows["split"] == "train"].reset_index(drop=True)
    dev_manifest, pages = dev_pages(options.set)
    results = run(rows, load_manifest(ROOT / "data/articles.csv"), pages, dev_manifest, options.threads)
    options.results.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(table(results))


if __name__ == "__main__":
    main()
