"""Shared fixtures: one trained model per test session (the real settings; a tiny one in `make test-fast`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("MPLBACKEND", "Agg")


def session_folder_in_environment(tmp_path_factory, variable: str, name: str):
    """A session folder named in `variable` for the session, then the variable as it was."""
    folder = tmp_path_factory.mktemp(name)
    previous = os.environ.get(variable)
    os.environ[variable] = str(folder)
    yield folder
    if previous is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = previous


@pytest.fixture(scope="session", autouse=True)
def shared_out_of_fold_cache(tmp_path_factory):
    """Out-of-fold predictions are computed once per session and shared, the notebook's
    kernel included (it inherits the environment)."""
    yield from session_folder_in_environment(tmp_path_factory, "TRIAGE_OOF_CACHE", "oof")


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory):
    """The semantic model's training-row embeddings go to a session folder, never the user's cache."""
    yield from session_folder_in_environment(tmp_path_factory, "TRIAGE_EMBEDDING_CACHE", "embeddings")


FAST = bool(os.environ.get("TRIAGE_FAST_TESTS"))  # `make test-fast`: a tiny-settings model


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """The bundled data trained with the chosen settings into a session folder (in the fast
    tier: word unigrams, no character n-grams; same code path)."""
    from triage.evaluation.training import CHOSEN_SETTINGS, train

    settings = CHOSEN_SETTINGS
    if FAST:
        settings = CHOSEN_SETTINGS.replace(word_ngrams=(1, 1), char_ngrams=None)
    folder = tmp_path_factory.mktemp("model")
    return train(
        ROOT / "data/labeled",
        folder / "triage.json",
        manifest_path=ROOT / "data/articles.csv",
        n_jobs=2,
        settings=settings,
    )


@pytest.fixture()
def model_copy(trained, tmp_path):
    """A private copy of the trained card and model file, safe to damage."""
    import shutil

    card = trained.model_path
    shutil.copy(card, tmp_path / card.name)
    name = trained.card["model_file"]["name"]
    shutil.copy(card.parent / name, tmp_path / name)
    return tmp_path / card.name


@pytest.fixture()
def in_repo(monkeypatch):
    """Run with the repository as working directory (the CLI's defaults are relative to it)."""
    monkeypatch.chdir(ROOT)
    return ROOT
