"""The extras mean what they say, and scripts use the installed package."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


def test_the_serve_extra_installs_what_serving_needs_and_no_test_tools():
    assert _names(PROJECT["optional-dependencies"]["serve"]) == {"fastapi", "uvicorn", "python-multipart"}
    assert {"httpx2", "playwright"} <= _names(PROJECT["optional-dependencies"]["dev"])


def test_every_dependency_and_extra_is_pinned_in_constraints():
    pinned = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines()
        if "==" in line and not line.startswith("#")
    }
    wanted = _names(PROJECT["dependencies"])
    for requirements in PROJECT["optional-dependencies"].values():
        wanted |= _names(requirements) - {"triage"}
    assert wanted - pinned == set()


def test_scripts_and_benchmarks_import_the_installed_package_without_editing_sys_path():
    edits = [
        path.relative_to(ROOT).as_posix()
        for folder in ("scripts", "benchmarks")
        for path in sorted((ROOT / folder).glob("*.py"))
        if "sys.path" in path.read_text(encoding="utf-8")
    ]
    assert edits == []
