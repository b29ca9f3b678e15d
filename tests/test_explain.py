"""`--explain`: the words and phrases the model weighs, ranked, and why not the runner-up.

Every paragraph in this file was written for the project.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from triage.cli.app import main
from triage.model.context import ArticleContextModel
from triage.model.pipeline import Settings, align_probabilities, build_pipeline
from triage.model.predict import TriageModel

ROOT = Path(__file__).resolve().parents[1]
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
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(list(texts)), LABELS)
    context = ArticleContextModel(pipeline, labels=LABELS).fit(own, list(labels))
    return TriageModel(context, {"labels": LABELS})


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


# --- the same explanations, from arrays --------------------------------------------------------
def _explained_term_by_term(model: TriageModel, text: str, column: int, runner_up_column: int) -> dict:
    """The definition, as first written: each feature of the paragraph is attributed to its
    term one by one (a word n-gram to itself; a character n-gram to the whitespace tokens
    that hold it, by how often each holds it), the shares times TF-IDF value x weight summed
    per term, the positive totals ranked (ties by name), 6 kept, rounded to 4 places."""
    from collections import Counter, defaultdict

    import numpy as np

    from triage.model.explanations import _word

    features, classifier = model.pipeline.named_steps["features"], model.pipeline.named_steps["classify"]
    row = features.transform([text]).tocsr()
    names = features.get_feature_names_out()
    weights_of = dict(zip(classifier.classes_, classifier.coef_, strict=True))
    unseen = np.zeros(classifier.coef_.shape[1])
    shares, chars = defaultdict(list), {}
    for position, feature in enumerate(row.indices):
        kind, _, term = names[feature].partition("__")
        if kind == "chars":
            chars[term] = position
        else:
            shares[term].append((position, 1.0))
    if chars:
        analyzer = dict(features.transformer_list)["chars"].build_analyzer()
        per_word = [
            (_word(token), Counter(g for g in analyzer(token) if g in chars)) for token in text.split()
        ]
        totals = Counter()
        for _, grams in per_word:
            totals.update(grams)
        for word, grams in per_word:
            for gram, count in grams.items():
                shares[word].append((chars[gram], count / totals[gram]))

    def ranked(contributions):
        summed = {
            term: sum(share * float(contributions[i]) for i, share in parts) for term, parts in shares.items()
        }
        best = sorted((item for item in summed.items() if item[1] > 0), key=lambda item: (-item[1], item[0]))
        return [{"term": term, "weight": round(total, 4)} for term, total in best[:6]]

    label, runner_up = model.labels[column], model.labels[runner_up_column]
    weights = weights_of.get(label, unseen)[row.indices]
    explanation = {"terms": ranked(row.data * weights)}
    if runner_up != label:
        against = row.data * (weights - weights_of.get(runner_up, unseen)[row.indices])
        explanation["runner_up"] = {"label": runner_up, "terms": ranked(against)}
    return explanation


def test_a_chunks_explanations_equal_the_term_by_term_definition(tiny_model, trained):
    from triage.corpus.labeled import load_labeled
    from triage.model.predict import load_model

    paragraphs = [*list(load_labeled(ROOT / "data/labeled")["text"])[:400:4], PARAGRAPH, "", "12 34"]
    for model in (tiny_model, load_model(trained.model_path)):  # with character n-grams, without
        columns = [i % len(model.labels) for i in range(len(paragraphs))]
        runner_up = [(i * 7 + 1) % len(model.labels) for i in range(len(paragraphs))]
        chunk = model.explain_against_runner_up(paragraphs, columns, runner_up)
        assert chunk == [
            _explained_term_by_term(model, text, column, other)
            for text, column, other in zip(paragraphs, columns, runner_up, strict=True)
        ]


def test_the_vocabulary_is_read_once_per_model_not_once_per_article(trained, monkeypatch):
    from sklearn.pipeline import FeatureUnion

    from triage.model.predict import load_model

    calls = []
    original = FeatureUnion.get_feature_names_out
    monkeypatch.setattr(
        FeatureUnion, "get_feature_names_out", lambda self, *a: calls.append(1) or original(self, *a)
    )
    model = load_model(trained.model_path)
    for _ in range(3):
        model.predict_article(f"{PARAGRAPH}\n\nThe seller said it would appeal the ruling.", explain=True)
    assert len(calls) == 1
