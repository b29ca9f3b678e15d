"""Ablation: every setting and idea measured the same way (run by hand, not a test).

    .venv/bin/python scripts/ablation.py            # all variants (about 20 minutes on 2 cores)
    .venv/bin/python scripts/ablation.py --only C4  # one variant

For each variant: leave-one-article-out (LOAO) on the training rows decides; the model is
then fitted on all training rows, with tag thresholds chosen by LOAO, and scored on the OOD
set, which only reports (macro-F1 with a 95% interval from resampling articles, article-tag
micro-F1). Context variants reuse the same out-of-fold probabilities with different mixing.
Results go to benchmarks/results/ablation.json and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from triage.corpus import LABELS, load_labeled, load_manifest  # noqa: E402
from triage.evaluation import (  # noqa: E402
    article_tag_scores,
    bootstrap_interval,
    classification_scores,
    contextualise_by_article,
    expected_calibration_error,
    group_articles,
    out_of_fold_probabilities,
    predicted_labels,
)
from triage.model import ArticleContextModel, Settings, align_probabilities, fit_pipeline  # noqa: E402
from triage.training import choose_tag_thresholds  # noqa: E402

RESULTS = ROOT / "benchmarks/results/ablation.json"

TEXTBOOK = Settings(
    word_ngrams=(1, 1),
    char_ngrams=None,
    sublinear_tf=False,
    min_df=1,
    max_df=1.0,
    C=1.0,
    class_weight=None,
    mask_names=False,
    mask_numbers=False,
    mask_unknown_names=False,
    cue_lexicon=False,
    calibration="none",
    context_lambda=0.0,
)
# (name, what it tries, settings). Each row changes one thing from the row it names.
T1 = TEXTBOOK.replace(class_weight="balanced")
T2 = T1.replace(word_ngrams=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9)
T4 = T2.replace(char_ngrams=(2, 5))
VARIANTS = [
    ("T0", "textbook defaults: word unigrams, C=1, no class weights", TEXTBOOK),
    ("T1", "T0 + class_weight=balanced", T1),
    ("T2", "T1 + word 1-2 grams, sublinear tf, min_df 2", T2),
    ("T3", "T2 + English stop words", T2.replace(stop_words="english")),
    ("T4", "T2 + char_wb 2-5 grams", T4),
    ("T5", "T4 with C=4", T4.replace(C=4.0)),
    ("T6", "T4 with C=10", T4.replace(C=10.0)),
    ("G1", "T5 + mask listed platform and brand names", None),
    ("G2", "G1 + mask unknown capitalised names", None),
    ("G3", "G2 + number, money, percentage and year tokens", None),
    ("G4", "G3 + cue lexicon features", None),
    ("N1", "T5 + number, money, percentage and year tokens (no name masking)", None),
    ("L1", "T5 + cue lexicon features (weight 1)", None),
    ("L2", "T5 + cue lexicon features (weight 0.3)", None),
    ("K1", "T5 + sigmoid calibration (5 folds grouped by article)", None),
]


def resolve(name: str) -> Settings:
    """Settings of a variant (the G rows build on the T5 row)."""
    table = {row[0]: row[2] for row in VARIANTS}
    base = table["T5"]
    chain = {
        "G1": base.replace(mask_names=True),
        "G2": base.replace(mask_names=True, mask_unknown_names=True),
        "G3": base.replace(mask_names=True, mask_unknown_names=True, mask_numbers=True),
        "G4": base.replace(mask_names=True, mask_unknown_names=True, mask_numbers=True, cue_lexicon=True),
    }
    chain["N1"] = base.replace(mask_numbers=True)
    chain["L1"] = base.replace(cue_lexicon=True, cue_weight=1.0)
    chain["L2"] = base.replace(cue_lexicon=True, cue_weight=0.3)
    chain["K1"] = base.replace(calibration="sigmoid")
    return table.get(name) or chain[name]


CONTEXTS = [
    ("X0", "no context", dict(context_lambda=0.0)),
    ("X7", "article mean, lambda 0.1", dict(context_lambda=0.1)),
    ("X8", "article mean, lambda 0.2", dict(context_lambda=0.2)),
    ("X1", "article mean, lambda 0.3", dict(context_lambda=0.3)),
    ("X2", "article mean, lambda 0.5", dict(context_lambda=0.5)),
    ("X3", "article mean, lambda 1.0", dict(context_lambda=1.0)),
    ("X4", "neighbour window 0.5", dict(context_window=0.5)),
    ("X5", "article mean 0.5 + window 0.3", dict(context_lambda=0.5, context_window=0.3)),
    ("X6", "article mean 0.5 + title 0.3", dict(context_lambda=0.5, context_title_weight=0.3)),
]


def data():
    rows = load_labeled(ROOT / "data/labeled")
    manifest = load_manifest(ROOT / "data/articles.csv")
    train = rows[rows["split"] == "train"].reset_index(drop=True)
    ood = rows[rows["split"] == "ood"].reset_index(drop=True)
    return train, ood, manifest


def ood_scores(pipeline, ood, manifest, thresholds, context: ArticleContextModel) -> dict:
    titles = dict(zip(manifest["article_id"], manifest["title"], strict=True))
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(list(ood["text"])), LABELS)
    title_probabilities = {}
    if context.context_title_weight:
        ids = list(ood["article_id"].unique())
        matrix = align_probabilities(
            pipeline.classes_, pipeline.predict_proba([titles.get(i, "") for i in ids]), LABELS
        )
        title_probabilities = dict(zip(ids, matrix, strict=True))
    probabilities = contextualise_by_article(ood, own, context, title_probabilities)
    predicted = predicted_labels(probabilities)
    scores = classification_scores(ood["label"], predicted)
    info = manifest.set_index("article_id")
    by_alibaba = {}
    for value in ("yes", "no"):
        mask = ood["article_id"].map(info["about_alibaba"]).eq(value).to_numpy()
        by_alibaba[value] = classification_scores(ood["label"][mask], np.array(predicted)[mask])["macro_f1"]
    return {
        "macro_f1": scores["macro_f1"],
        "interval": bootstrap_interval(ood, predicted, 1000),
        "per_label": {label: scores["per_label"][label]["f1"] for label in LABELS},
        "article_tag_micro_f1": article_tag_scores(group_articles(ood, probabilities), LABELS, thresholds)[
            "micro_f1"
        ],
        "alibaba_macro_f1": by_alibaba,
    }


def run_variant(name, settings, train, ood, manifest, contexts=False) -> list[dict]:
    started = time.time()
    titles = dict(zip(manifest["article_id"], manifest["title"], strict=True))
    scored, own, title_probabilities = out_of_fold_probabilities(
        train, settings, set(manifest["article_id"]), titles
    )
    pipeline = fit_pipeline(settings, train["text"], train["label"], train["article_id"])
    results = []
    for context_name, description, mixing in CONTEXTS if contexts else CONTEXTS[:1]:
        context = ArticleContextModel(None, **{"context_lambda": 0.0, **mixing})
        probabilities = contextualise_by_article(scored, own, context, title_probabilities)
        articles = group_articles(scored, probabilities)
        thresholds = choose_tag_thresholds(articles)
        loao = classification_scores(scored["label"], predicted_labels(probabilities))
        seed = (scored["source"] == "seed").to_numpy()
        by_source = {
            source: classification_scores(
                scored["label"][mask], np.array(predicted_labels(probabilities))[mask]
            )["macro_f1"]
            for source, mask in (("seed", seed), ("authored", ~seed))
        }
        results.append(
            {
                "variant": name if not contexts else f"{name}+{context_name}",
                "context": description,
                "settings": {**settings.to_dict(), "context_lambda": 0.0, **mixing},
                "loao_macro_f1": loao["macro_f1"],
                "loao_macro_f1_by_source": by_source,
                # The decision score: seed articles (real scraped text) weigh as much as authored ones.
                "loao_balanced": round((by_source["seed"] + by_source["authored"]) / 2, 4),
                "loao_per_label": {label: loao["per_label"][label]["f1"] for label in LABELS},
                "loao_article_tag_micro_f1_at_0.5": article_tag_scores(articles, LABELS, 0.5)["micro_f1"],
                "loao_calibration_error": expected_calibration_error(scored["label"], probabilities),
                "ood": ood_scores(pipeline, ood, manifest, thresholds, context),
                "seconds": round(time.time() - started, 1),
            }
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="variant names to (re)run")
    parser.add_argument(
        "--contexts", default="T5", help="the variant whose out-of-fold predictions the context rows use"
    )
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    args = parser.parse_args()
    saved = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.table:
        print(markdown(saved))
        return
    train, ood, manifest = data()
    for name, description, _ in VARIANTS:
        if args.only and name not in args.only:
            continue
        for result in run_variant(
            name, resolve(name), train, ood, manifest, contexts=(name == args.contexts)
        ):
            result["description"] = description
            saved[result["variant"]] = result
            print(
                f"{result['variant']:<8} LOAO {result['loao_macro_f1']:.3f} seed {result['loao_macro_f1_by_source']['seed']:.3f}"
                f" balanced {result['loao_balanced']:.3f}  OOD {result['ood']['macro_f1']:.3f}"
                f"  ({result['seconds']}s) {description} {result['context']}",
                file=sys.stderr,
                flush=True,
            )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(saved, indent=1))
    print(markdown(saved))


def markdown(saved: dict) -> str:
    lines = [
        "| row | what changes | LOAO macro-F1: all / seed / authored / **decision** | LOAO tag micro-F1 (t=0.5) "
        "| LOAO calibration error | OOD macro-F1 [95% CI] | OOD tag micro-F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, result in saved.items():
        low, high = result["ood"]["interval"]
        what = result["description"] + ("" if result["context"] == "no context" else f"; {result['context']}")
        source = result["loao_macro_f1_by_source"]
        lines.append(
            f"| {name} | {what} | {result['loao_macro_f1']:.3f} / {source['seed']:.3f} / {source['authored']:.3f}"
            f" / **{result['loao_balanced']:.3f}** | {result['loao_article_tag_micro_f1_at_0.5']:.3f} "
            f"| {result.get('loao_calibration_error') if result.get('loao_calibration_error') is not None else 'n/a'} "
            f"| {result['ood']['macro_f1']:.3f} [{low:.3f}, {high:.3f}] | {result['ood']['article_tag_micro_f1']:.3f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
