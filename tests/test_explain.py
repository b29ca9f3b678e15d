"""`--explain`: the words and phrases the model weighs, ranked, and why not the runner-up.

Every paragraph in this file was written for the project.
"""

from __future__ import annotations

import json
import re

import pytest

from triage.cli import main
from triage.model import ArticleContextModel, Settings, build_pipeline
from triage.predict import TriageModel

LABELS = ["platform_metrics", "legal_action", "market_expansion"]
# Written for the project: a tiny training set, four paragraphs per label.
TRAINING = [
    (
        "The platform removed two million counterfeit listings and closed thousands of stores.",
        "platform_metrics",
    ),
    (
        "Its detection systems scanned every listing and blocked counterfeit goods before sale.",
        "platform_metrics",
    ),
    ("The marketplace said it removed more counterfeit listings than ever last quarter.", "platform_metrics"),
    (
        "The company reported that its takedown team closed stores selling counterfeit shoes.",
        "platform_metrics",
    ),
    ("A judge granted an injunction against the seller after the lawsuit in federal court.", "legal_action"),
    (
        "The brand filed a lawsuit claiming trademark infringement and asked the court for damages.",
        "legal_action",
    ),
    ("The court ordered the counterfeiter to pay damages and granted a lasting injunction.", "legal_action"),
    (
        "Police arrested the counterfeiter and prosecutors filed charges in the district court.",
        "legal_action",
    ),
    ("The brand opened a flagship store on the app to reach young shoppers abroad.", "market_expansion"),
    ("Cross-border sales grew quickly as the label entered new markets through the app.", "market_expansion"),
    ("The retailer opened its first flagship store and expects sales growth next year.", "market_expansion"),
    ("Online sales of luxury goods grew as more brands entered the market this year.", "market_expansion"),
]
# Written for the project: "counterfeiters" never appears whole in TRAINING.
PARAGRAPH = "The court said the counterfeiters must pay damages, and the judge granted an injunction."


@pytest.fixture(scope="module")
def tiny_model() -> TriageModel:
    texts, labels = zip(*TRAINING, strict=True)
    # Character n-grams on (no longer the default) so their attribution to words is tested too.
    pipeline = build_pipeline(Settings(min_df=1, max_df=1.0, char_ngrams=(2, 5))).fit(
        list(texts), list(labels)
    )
    return TriageModel(ArticleContextModel(pipeline), {"labels": LABELS, "model_file": {"sha256": "0" * 64}})


def test_terms_are_whole_words_and_phrases_of_the_paragraph_ranked_by_weight(tiny_model):
    (prediction,) = tiny_model.predict_paragraphs([PARAGRAPH], explain=True)
    assert prediction.label == "legal_action"
    words = set(re.findall(r"\w+", PARAGRAPH.lower()))
    terms = [term["term"] for term in prediction.explanation]
    assert terms and all(set(term.split()) <= words for term in terms), terms  # no "[ou" fragments
    weights = [term["weight"] for term in prediction.explanation]
    assert weights == sorted(weights, reverse=True) and weights[-1] > 0


def test_a_word_never_seen_whole_counts_through_its_character_ngrams(tiny_model):
    (terms,) = tiny_model.explain([PARAGRAPH], [LABELS.index("legal_action")], top=50)
    assert "counterfeiters" in [term["term"] for term in terms]


def test_the_topical_words_outrank_the_function_words(tiny_model):
    (terms,) = tiny_model.explain([PARAGRAPH], [LABELS.index("legal_action")], top=50)
    rank = {term["term"]: position for position, term in enumerate(terms)}
    assert rank["injunction"] < rank.get("the", len(terms)) and rank["court"] < rank.get("said", len(terms))


def test_why_not_the_runner_up_names_the_second_label_and_the_terms_that_favour_the_first(tiny_model):
    (prediction,) = tiny_model.predict_paragraphs([PARAGRAPH], explain=True)
    runner_up = sorted(prediction.probabilities, key=prediction.probabilities.get)[-2]
    assert prediction.runner_up["label"] == runner_up
    differences = tiny_model.explain_against_runner_up(
        [PARAGRAPH], [LABELS.index("legal_action")], [LABELS.index(runner_up)], top=50
    )[0]["runner_up"]["terms"]
    assert prediction.runner_up["terms"] == differences[:6]
    assert "injunction" in [term["term"] for term in prediction.runner_up["terms"]]


def test_explain_keeps_its_json_shape_and_adds_the_runner_up(capsys, trained, tmp_path):
    rows = tmp_path / "rows.csv"
    rows.write_text(f'id,text\nruling,"{PARAGRAPH}"\n', encoding="utf-8")
    main(
        [
            "predict",
            str(rows),
            "--model",
            str(trained.model_path),
            "--unit",
            "paragraph",
            "--explain",
            "--format",
            "jsonl",
        ]
    )
    record = json.loads(capsys.readouterr().out)
    assert all(set(term) == {"term", "weight"} for term in record["explanation"])
    assert record["runner_up"]["label"] != record["label"]
    assert (
        record["runner_up"]["label"] == sorted(record["probabilities"], key=record["probabilities"].get)[-2]
    )
