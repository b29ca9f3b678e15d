"""The public API works as a newcomer takes it: in a fresh interpreter, as the README shows."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fresh_python(code: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, env={**os.environ}, timeout=900
    )


def test_public_functions_stay_callable_after_every_submodule_is_imported():
    result = fresh_python(
        "import importlib, pkgutil, triage\n"
        "for module in pkgutil.iter_modules(triage.__path__):\n"
        "    importlib.import_module(f'triage.{module.name}')\n"
        "bad = [name for name in triage.__all__ if name[0].islower() and name != '__version__'\n"
        "       and not callable(getattr(triage, name))]\n"
        "print(bad)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_importing_triage_loads_no_submodule_until_a_name_is_used():
    result = fresh_python(
        "import sys, triage; print(sorted(m for m in sys.modules if m.startswith('triage.')))"
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.slow
def test_the_readme_python_block_runs_verbatim_after_make_run(trained, tmp_path):
    """`make run` leaves models/triage.json; the block then runs as written from the checkout."""
    block = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    (tmp_path / "models").mkdir()
    card = trained.model_path
    shutil.copy(card, tmp_path / "models/triage.json")
    shutil.copy(card.parent / trained.card["model_file"]["name"], tmp_path / "models")
    shutil.copytree(ROOT / "data", tmp_path / "data")
    result = fresh_python(block, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "models/mine.json").exists()
