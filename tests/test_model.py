"""The model file and its card: what is saved, what loading refuses, and saving under faults."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import triage.model.card as model_module
from triage.corpus.labeled import LABELS
from triage.errors import ModelRefused
from triage.model.card import ALLOWED_TYPES, save_model
from triage.model.context import ArticleContextModel
from triage.model.fit import fit_pipeline
from triage.model.pipeline import Settings, align_probabilities
from triage.model.predict import load_model

TEXTS = [
    "The court granted an injunction against the seller of fake shoes.",
    "The platform removed two million listings with its detection technology.",
    "The brand accused the marketplace of paying lip service to the problem.",
    "The trade office kept the market on its notorious markets list.",
    "The brand opened a flagship store to reach young shoppers.",
    "The company was founded in 1999 and is based in the capital.",
] * 3


def _tiny_model(seed_text: str = "") -> ArticleContextModel:
    settings = Settings(min_df=1, char_ngrams=None)
    texts = TEXTS + [seed_text or TEXTS[0]]
    gold = list(LABELS[i % 6] for i in range(18)) + ["legal_action"]
    pipeline = fit_pipeline(settings, texts, gold)
    own = align_probabilities(pipeline.classes_, pipeline.predict_proba(texts), LABELS)
    return ArticleContextModel(pipeline, 0.5, labels=LABELS).fit(own, gold)


def _card() -> dict:
    import sklearn

    return {"labels": list(LABELS), "versions": {"scikit-learn": sklearn.__version__}, "thresholds": {}}


def _forge_card(tmp_path: Path, payload: bytes, name: str) -> Path:
    """A card whose recorded sha256 matches the file it names (a forger can always do this)."""
    (tmp_path / name).write_bytes(payload)
    card = {
        **_card(),
        "format": model_module.CARD_FORMAT,
        "schema": model_module.CARD_SCHEMA,
        "model_file": {"name": name, "sha256": hashlib.sha256(payload).hexdigest()},
    }
    path = tmp_path / "triage.json"
    path.write_text(json.dumps(card))
    return path


def test_a_saved_model_loads_and_predicts_the_same(tmp_path):
    estimator = _tiny_model()
    card = save_model(estimator, _card(), tmp_path / "triage.json")
    model = load_model(tmp_path / "triage.json")
    assert card["model_file"]["name"].startswith("triage.") and card["model_file"]["name"].endswith(".skops")
    expected = estimator.paragraph_model.predict_proba(TEXTS)
    assert np.allclose(model.pipeline.predict_proba(TEXTS), expected)


def test_model_file_name_is_content_addressed(tmp_path):
    card = save_model(_tiny_model(), _card(), tmp_path / "triage.json")
    data = (tmp_path / card["model_file"]["name"]).read_bytes()
    assert card["model_file"]["name"] == f"triage.{hashlib.sha256(data).hexdigest()[:12]}.skops"


def _types_in_skops_file(data: bytes) -> set[str]:
    """Every type a skops file would build, from its schema (not only those skops distrusts)."""
    import io
    import zipfile

    found, nodes = set(), [json.loads(zipfile.ZipFile(io.BytesIO(data)).read("schema.json"))]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            if "__module__" in node and "__class__" in node:
                found.add(f"{node['__module__']}.{node['__class__']}")
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return found


def test_the_allowlist_is_exactly_the_types_a_trained_model_file_holds(trained):
    """The whole list, both ways: a type the file builds that the list lacks, or an entry no
    model needs any more, fails."""
    data = (trained.model_path.parent / trained.card["model_file"]["name"]).read_bytes()
    assert _types_in_skops_file(data) == ALLOWED_TYPES


def test_card_records_what_the_issue_asks_for(trained):
    card = trained.card
    for key in (
        "labels",
        "taxonomy_version",
        "settings",
        "thresholds",
        "training",
        "versions",
        "created",
        "scores",
        "model_file",
        "review_rule",
    ):
        assert key in card, key
    assert set(card["thresholds"]["context"]["tags"]) == set(LABELS) - {"other"}
    assert 0 < card["thresholds"]["context"]["review"] < 1
    assert all(len(digest) == 64 for digest in card["training"]["files"].values())
    assert {"scikit-learn", "numpy", "python", "triage"} <= set(card["versions"])
    assert {"cv", "test", "ood", "ood-clean"} <= set(card["scores"])
    assert "context_lambda" in card["settings"]


# --- loading refuses ---------------------------------------------------------------------
def test_a_skops_file_carrying_os_system_is_refused_before_anything_is_built(tmp_path, monkeypatch):
    import skops.io as sio

    payload = sio.dumps({"run": os.system})
    card = _forge_card(tmp_path, payload, "triage.000000000000.skops")
    built = []
    monkeypatch.setattr(sio, "load", lambda *a, **k: built.append(1))
    monkeypatch.setattr(sio, "loads", lambda *a, **k: built.append(1))
    with pytest.raises(ModelRefused, match="outside the allowlist: posix.system"):
        load_model(card)
    assert built == []


def test_a_skops_file_carrying_builtins_eval_is_refused(tmp_path):
    import builtins

    import skops.io as sio

    card = _forge_card(tmp_path, sio.dumps([builtins.eval]), "triage.000000000000.skops")
    with pytest.raises(ModelRefused, match="builtins.eval"):
        load_model(card)


@pytest.mark.parametrize(
    "extra, type_name",
    [
        (lambda: __import__("sklearn.preprocessing").preprocessing.StandardScaler(), "StandardScaler"),
        (lambda: __import__("collections").OrderedDict(a=1), "collections.OrderedDict"),
    ],
    ids=["scikit-learn estimator", "OrderedDict"],
)
def test_a_file_with_a_valid_sha_and_one_type_skops_trusts_but_the_list_lacks_is_refused(
    trained, tmp_path, monkeypatch, extra, type_name
):
    """skops trusts these by default; the allowlist is the whole rule, so they are refused."""
    import copy

    import skops.io as sio

    estimator = copy.deepcopy(trained.model.context_model)
    estimator.extra_ = extra()
    payload = model_module.dumps_model(estimator)
    assert not set(sio.get_untrusted_types(data=payload)) - ALLOWED_TYPES  # skops alone would load it
    card = _forge_card(tmp_path, payload, "triage.000000000000.skops")
    built = []
    monkeypatch.setattr(sio, "loads", lambda *a, **k: built.append(1))
    with pytest.raises(ModelRefused, match=f"outside the allowlist: .*{type_name}"):
        load_model(card)
    assert built == []


def test_loading_reads_the_model_file_once(model_copy, monkeypatch):
    """Hashed, audited and loaded from the same bytes: a file swapped between the checks and
    the load cannot be what is built."""
    import builtins
    import io

    name = json.loads(model_copy.read_text())["model_file"]["name"]
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if str(file).endswith(name):
            opened.append(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    assert load_model(model_copy).labels == list(LABELS)
    assert len(opened) == 1


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("name", ["triage.000000000000.skops", "model.pkl", "model.joblib"])
def test_a_pickle_named_by_a_card_is_refused_without_unpickling(tmp_path, name):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(str(marker)))
    card = _forge_card(tmp_path, payload, name)
    with pytest.raises(ModelRefused):
        load_model(card)
    assert not marker.exists()
    # the payload is real: unpickling it would have created the file
    pickle.loads(payload)
    assert marker.exists()


def test_a_model_file_whose_bytes_differ_from_its_card_is_refused(model_copy):
    card = json.loads(model_copy.read_text())
    path = model_copy.parent / card["model_file"]["name"]
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ModelRefused, match="differ from the sha256"):
        load_model(model_copy)


@pytest.mark.parametrize("content", [b"\x80\x04K\x01.", b"not json", b'{"a": 1}'])
def test_a_path_that_is_not_a_card_is_refused(tmp_path, content):
    path = tmp_path / "model.json"
    path.write_bytes(content)
    with pytest.raises(ModelRefused, match="not a triage model card"):
        load_model(path)


def test_a_directory_or_a_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelRefused, match="is a directory"):
        load_model(tmp_path)
    with pytest.raises(ModelRefused, match="no model at"):
        load_model(tmp_path / "missing.json")


def test_a_model_from_another_scikit_learn_minor_version_is_refused(model_copy):
    card = json.loads(model_copy.read_text())
    card["versions"]["scikit-learn"] = "0.24.2"
    model_copy.write_text(json.dumps(card))
    with pytest.raises(ModelRefused, match="saved with scikit-learn 0.24.2.*retrain with `triage train`"):
        load_model(model_copy)


# --- saving under faults: the old or the new model loads, never neither -----------------
def _boom(*args, **kwargs):
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize("step", ["_write_model_file", "_commit_card", "_remove_stale_model_file"])
def test_a_fault_at_each_step_of_the_save_leaves_a_loadable_model(tmp_path, monkeypatch, step):
    old = _tiny_model()
    save_model(old, _card(), tmp_path / "triage.json")
    old_sha = load_model(tmp_path / "triage.json").short_sha
    monkeypatch.setattr(model_module, step, _boom)
    with pytest.raises(OSError):
        save_model(
            _tiny_model("A different extra paragraph about a court."), _card(), tmp_path / "triage.json"
        )
    loaded = load_model(tmp_path / "triage.json")
    if step == "_remove_stale_model_file":
        assert loaded.short_sha != old_sha  # the card was committed: the new model is in force
    else:
        assert loaded.short_sha == old_sha
    assert not list(tmp_path.glob(".*.tmp"))


def test_disk_full_while_writing_the_model_file_keeps_the_old_files_intact(tmp_path, monkeypatch):
    save_model(_tiny_model(), _card(), tmp_path / "triage.json")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    monkeypatch.setattr(model_module, "atomic_write_bytes", _boom)
    with pytest.raises(OSError):
        save_model(_tiny_model("Another court text for a new model."), _card(), tmp_path / "triage.json")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_a_predict_that_read_the_card_just_before_a_train_still_loads_its_model(tmp_path, monkeypatch):
    card_path = tmp_path / "triage.json"
    first = save_model(_tiny_model(), _card(), card_path)
    read_card = model_module.read_card

    def read_then_a_train_replaces_the_model(path):
        card = read_card(path)
        save_model(_tiny_model("Another text about a customs seizure."), _card(), card_path)
        return card

    monkeypatch.setattr(model_module, "read_card", read_then_a_train_replaces_the_model)
    loaded = load_model(card_path)
    assert loaded.card["model_file"] == first["model_file"]
    assert loaded.predict_paragraphs(["The court granted an injunction."])[0].label in LABELS


def test_a_train_keeps_the_previous_model_file_until_the_next_train(tmp_path, monkeypatch):
    card_path = tmp_path / "triage.json"
    names = [
        save_model(_tiny_model(text), _card(), card_path)["model_file"]["name"]
        for text in ("", "Another text about a customs seizure.")
    ]
    assert sorted(p.name for p in tmp_path.glob("*.skops")) == sorted(names)
    third = _tiny_model("A third text on a raid.")
    names.append(save_model(third, _card(), card_path)["model_file"]["name"])
    assert len(set(names)) == 3
    assert sorted(p.name for p in tmp_path.glob("*.skops")) == sorted(names[1:])
    assert json.loads(card_path.read_text())["previous_model_file"] == names[1]
    # saving the same bytes again keeps the file before them, not a second copy of themselves
    monkeypatch.setattr(model_module, "dumps_model", lambda model: (tmp_path / names[2]).read_bytes())
    assert save_model(third, _card(), card_path)["model_file"]["name"] == names[2]
    assert sorted(p.name for p in tmp_path.glob("*.skops")) == sorted(names[1:])


def test_a_card_of_another_schema_is_refused_with_a_retrain_message(tmp_path):
    save_model(_tiny_model(), _card(), tmp_path / "triage.json")
    card = json.loads((tmp_path / "triage.json").read_text())
    card["schema"] = model_module.CARD_SCHEMA - 1
    (tmp_path / "triage.json").write_text(json.dumps(card))
    with pytest.raises(ModelRefused, match="card schema .*retrain"):
        load_model(tmp_path / "triage.json")
    assert "card schema" in model_module.stale_reason(tmp_path / "triage.json")


def test_a_current_card_is_not_stale_and_a_missing_one_is(tmp_path):
    save_model(_tiny_model(), _card(), tmp_path / "triage.json")
    assert model_module.stale_reason(tmp_path / "triage.json") is None
    assert "no model at" in model_module.stale_reason(tmp_path / "missing.json")


BEFORE_THE_ESTIMATOR_CHANGE = Path(__file__).parent / "data/model_before_estimator_change"


def test_a_model_file_written_before_the_estimator_change_loads_and_predicts_the_same(tmp_path):
    """The model file format did not change when ArticleContextModel and FastTfidfVectorizer
    became scikit-learn-like: a file written by the code before (make_fixture.py there, at
    the commit expected.json names) loads and gives the very same numbers."""
    import shutil

    import sklearn

    expected = json.loads((BEFORE_THE_ESTIMATOR_CHANGE / "expected.json").read_text())
    card = json.loads((BEFORE_THE_ESTIMATOR_CHANGE / "triage.json").read_text())
    if card["versions"]["scikit-learn"].split(".")[:2] != sklearn.__version__.split(".")[:2]:
        pytest.skip("the fixture was saved with another scikit-learn minor, which loading refuses by design")
    for name in ("triage.json", expected["model_file"]["name"]):
        shutil.copy(BEFORE_THE_ESTIMATOR_CHANGE / name, tmp_path / name)
    model = load_model(tmp_path / "triage.json")
    paragraphs = model.paragraph_probabilities(expected["paragraphs"])
    titles = [
        None if title is None else model.paragraph_probabilities([title])[0] for title in expected["titles"]
    ]
    lengths = [len(article) for article in expected["articles"]]
    assert paragraphs.tolist() == expected["paragraph_probabilities"]
    assert (
        model.context_model.contextualise_stacked(paragraphs, lengths, titles).tolist()
        == expected["in_context"]
    )
    assert model.context_model.temperature_ == expected["temperature"]
    assert (
        json.loads(json.dumps({"context": model.thresholds(True), "paragraph": model.thresholds(False)}))
        == (expected["thresholds"])
    )
