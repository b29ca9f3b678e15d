"""Default paths: `--data`, `--manifest` and `--model` win, then $TRIAGE_ROOT, then the
working directory; with no bundled data anywhere, one line names the options."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from triage.cli.app import main

ROOT = Path(__file__).resolve().parents[1]
ARTICLE = ROOT / "data/raw/004_26175a559591074b.txt"


def run(capsys, *args) -> tuple[int, str, str]:
    code = main([str(arg) for arg in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def elsewhere(tmp_path, monkeypatch):
    """An empty working directory outside the repository, no TRIAGE_ROOT or TRIAGE_MODEL."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("TRIAGE_ROOT", raising=False)
    monkeypatch.delenv("TRIAGE_MODEL", raising=False)
    return folder


@pytest.fixture()
def small_root(tmp_path):
    """A checkout in miniature: the seed paragraphs and the manifest, where a root keeps them."""
    root = tmp_path / "root"
    (root / "data/labeled").mkdir(parents=True)
    shutil.copy(ROOT / "data/labeled/paragraphs.csv", root / "data/labeled/paragraphs.csv")
    shutil.copy(ROOT / "data/articles.csv", root / "data/articles.csv")
    return root


def test_without_bundled_data_anywhere_one_line_names_the_options(capsys, elsewhere):
    code, _, err = run(capsys, "validate")
    assert code == 3 and err.startswith("error: ") and err.count("\n") == 1, err
    assert "--data" in err and "TRIAGE_ROOT" in err and str(elsewhere) in err


def test_triage_root_finds_the_bundled_data_from_any_folder(capsys, elsewhere, monkeypatch):
    monkeypatch.setenv("TRIAGE_ROOT", str(ROOT))
    code, out, err = run(capsys, "validate")
    assert code == 0, err
    assert f"in {ROOT / 'data/labeled'}" in out


def test_the_working_directory_is_the_fallback_when_triage_root_has_no_data(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TRIAGE_ROOT", str(tmp_path))
    monkeypatch.chdir(ROOT)
    code, out, _ = run(capsys, "validate")
    assert code == 0 and "data/labeled" in out


def test_data_wins_over_triage_root(capsys, elsewhere, monkeypatch, tmp_path):
    monkeypatch.setenv("TRIAGE_ROOT", str(ROOT))
    mine = tmp_path / "mine.csv"
    mine.write_text("text,label\nThe court fined the seller.,legal_action\n", encoding="utf-8")
    code, out, _ = run(capsys, "validate", "--data", mine)
    assert code == 0 and out.startswith(f"ok: 1 labelled rows in {mine}")


def test_train_takes_data_manifest_and_model_from_triage_root(capsys, elsewhere, monkeypatch, small_root):
    monkeypatch.setenv("TRIAGE_ROOT", str(small_root))
    code, _, err = run(capsys, "train", "--jobs", "1")
    assert code == 0, err
    card = json.loads((small_root / "models/triage.json").read_text(encoding="utf-8"))
    assert list(card["training"]["manifest"]) == [str(small_root / "data/articles.csv")]
    assert list(card["training"]["files"]) == [str(small_root / "data/labeled/paragraphs.csv")]
    assert not (elsewhere / "models").exists()


def test_manifest_wins_and_a_missing_one_is_one_line(capsys, small_root, tmp_path, monkeypatch):
    monkeypatch.chdir(small_root)
    missing = tmp_path / "nope.csv"
    code, _, err = run(capsys, "train", "--manifest", missing, "--model", tmp_path / "m.json")
    assert code == 3 and err == f"error: {missing}: no such file\n"


def test_predict_finds_the_model_under_triage_root(capsys, elsewhere, monkeypatch, trained, small_root):
    (small_root / "models").mkdir()
    shutil.copy(trained.model_path, small_root / "models/triage.json")
    name = trained.card["model_file"]["name"]
    shutil.copy(trained.model_path.parent / name, small_root / "models" / name)
    monkeypatch.setenv("TRIAGE_ROOT", str(small_root))
    code, out, err = run(capsys, "predict", ARTICLE, "--format", "jsonl")
    assert code == 0, err
    assert json.loads(out.splitlines()[0])["tags"]
