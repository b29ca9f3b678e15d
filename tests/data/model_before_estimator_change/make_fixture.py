"""Writes the model file, card and expected outputs in this folder. Run once, at commit
5abc35c (before ArticleContextModel and FastTfidfVectorizer became scikit-learn-like
estimators), so that tests/test_model.py::test_a_model_file_written_before_the_estimator_change_loads_and_predicts_the_same
can show that files written by earlier code still load and predict the same numbers.
Do not re-run it on later code: that would compare the code with itself."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import sklearn
from triage.predict import load_model

from triage.corpus import LABELS
from triage.model import ArticleContextModel, Settings, fit_pipeline, save_model

HERE = Path(__file__).resolve().parent
TEXTS = {
    "legal_action": [
        "A judge in the port city ordered the seller of copied handbags to pay damages.",
        "Prosecutors charged three men after customs officers found fake watches in a van.",
        "The sportswear maker sued the marketplace for letting imitation trainers stay listed.",
        "An appeals court upheld the injunction against the online shop selling forged perfume.",
    ],
    "platform_metrics": [
        "The marketplace said it took down four million suspicious listings in the first half.",
        "Its automated screening blocked nine in ten knock-off offers before any buyer saw them.",
        "The site reported that complaints from rights holders fell by a third over the year.",
        "Two thousand staff now review flagged sellers, the platform wrote in its annual report.",
    ],
    "brand_criticism": [
        "The luxury group accused the shopping app of profiting from fakes it refuses to remove.",
        "Rights holders said the platform's reporting tool is slow and ignores repeat offenders.",
        "The perfume house called the marketplace's promises on copies empty words.",
        "A trade body for designers said the retailer does too little against imitation goods.",
    ],
    "other": [
        "The founder opened the first warehouse in a disused railway depot fifteen years ago.",
        "Rain is expected across the north on Thursday, with milder air arriving at the weekend.",
        "The company moved its offices to a glass tower by the harbour last spring.",
        "Shares closed slightly higher after a quiet day of trading in the capital.",
    ],
}
ARTICLES = [
    [TEXTS["legal_action"][0], "A hearing is set for next month.", TEXTS["other"][0]],
    [TEXTS["platform_metrics"][1], TEXTS["brand_criticism"][2], "The figures were not audited."],
    ["The court heard that the copies were sold by the thousand.", TEXTS["other"][3]],
]
TITLES = ["Seller of copied bags ordered to pay", None, "Court hears of mass copies"]


def main() -> None:
    settings = Settings(
        min_df=1,
        char_ngrams=(3, 3),
        context_lambda=0.3,
        context_window=0.6,
        context_title_weight=0.2,
        other_weight=0.8,
    )
    texts = [text for label in TEXTS for text in TEXTS[label]] * 2
    gold = [label for label in TEXTS for _ in TEXTS[label]] * 2
    pipeline = fit_pipeline(settings, texts, gold)
    context = ArticleContextModel(
        pipeline,
        settings.context_lambda,
        settings.context_window,
        settings.context_title_weight,
        settings.other_weight,
        labels=tuple(LABELS),
    )
    own = np.zeros((len(texts), len(LABELS)))
    columns = [list(LABELS).index(label) for label in pipeline.classes_]
    own[:, columns] = pipeline.predict_proba(texts)
    groups = np.repeat(np.arange(len(texts) // 4), 4)
    context.fit(own, gold, groups)
    card = save_model(
        context,
        {
            "labels": list(LABELS),
            "settings": settings.to_dict(),
            "versions": {"scikit-learn": sklearn.__version__},
        },
        HERE / "triage.json",
    )
    model = load_model(HERE / "triage.json")
    sample = [paragraph for article in ARTICLES for paragraph in article]
    expected = {
        "written_at_commit": subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "model_file": card["model_file"],
        "paragraphs": sample,
        "paragraph_probabilities": model.paragraph_probabilities(sample).tolist(),
        "in_context": model.context_model.contextualise_stacked(
            model.paragraph_probabilities(sample),
            [len(article) for article in ARTICLES],
            [None if title is None else model.paragraph_probabilities([title])[0] for title in TITLES],
        ).tolist(),
        "articles": ARTICLES,
        "titles": TITLES,
        "thresholds": {"context": model.thresholds(True), "paragraph": model.thresholds(False)},
        "temperature": model.context_model.temperature_,
    }
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()
