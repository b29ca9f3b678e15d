"""Where the bundled data and the default model are: one rule for every default path.

An explicit path (`--data`, `--manifest`, `--model`) wins. Otherwise the bundled files are
looked for under `$TRIAGE_ROOT`, then under the working directory, so `triage train` works
from any folder once TRIAGE_ROOT names a checkout. Someone who installed the package
without the repository has no bundled data: they train and score on their own files
(`--data FILE`), and the error says so.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from triage.errors import BadInput

ROOT_ENVIRONMENT_VARIABLE = "TRIAGE_ROOT"
MODEL_ENVIRONMENT_VARIABLE = "TRIAGE_MODEL"
# Relative to a root (a checkout of the repository).
BUNDLED_DATA_DIR = Path("data/labeled")
BUNDLED_MANIFEST = Path("data/articles.csv")
BUNDLED_MODEL = Path("models/triage.json")


def candidate_roots() -> list[Path]:
    """The folders the bundled files are looked for in, in order: $TRIAGE_ROOT, then the
    working directory."""
    roots = []
    if os.environ.get(ROOT_ENVIRONMENT_VARIABLE):
        roots.append(Path(os.environ[ROOT_ENVIRONMENT_VARIABLE]))
    roots.append(Path.cwd())
    return roots


def bundled_root() -> Path:
    """The first root that has the bundled labelled folder; BadInput naming the options when
    none has."""
    for root in candidate_roots():
        if (root / BUNDLED_DATA_DIR).is_dir():
            return root
    where = ", ".join(f"{root}" for root in candidate_roots())
    unset = "" if os.environ.get(ROOT_ENVIRONMENT_VARIABLE) else f" (${ROOT_ENVIRONMENT_VARIABLE} is not set)"
    raise BadInput(
        f"no bundled data: no {BUNDLED_DATA_DIR} in {where}{unset}; pass --data FILE (your own labelled "
        f"CSV), set {ROOT_ENVIRONMENT_VARIABLE} to a triage checkout, or run from one"
    )


def resolve_data(data: Path | str | None) -> Path:
    """`data` when given, else the bundled labelled folder."""
    return Path(data) if data is not None else bundled_root() / BUNDLED_DATA_DIR


def resolve_manifest(manifest: Path | str | None, data: Path | str | None = None) -> Path | None:
    """`manifest` when given; else the manifest beside the bundled data (with `data` given:
    the first root holding one), or None when there is none: an analyst's own files need
    no manifest."""
    if manifest is not None:
        return Path(manifest)
    for root in [bundled_root()] if data is None else candidate_roots():
        if (root / BUNDLED_MANIFEST).is_file():
            return root / BUNDLED_MANIFEST
    return None


def default_model_path() -> Path:
    """$TRIAGE_MODEL, else $TRIAGE_ROOT/models/triage.json, else models/triage.json."""
    if os.environ.get(MODEL_ENVIRONMENT_VARIABLE):
        return Path(os.environ[MODEL_ENVIRONMENT_VARIABLE])
    if os.environ.get(ROOT_ENVIRONMENT_VARIABLE):
        return Path(os.environ[ROOT_ENVIRONMENT_VARIABLE]) / BUNDLED_MODEL
    return BUNDLED_MODEL


def checkout_root() -> Path | None:
    """The repository this triage runs from (an editable install of a checkout: its
    pyproject.toml and constraints.txt beside src/), or None for an installed package."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "constraints.txt").is_file():
        return root
    return None


def extra_install_command(extra: str) -> str:
    """The command that installs `extra` (e.g. "batch") for this triage.

    In a checkout: the README's, with the checkout's constraints file, run by this Python
    (`.venv/bin/python -m pip install -c constraints.txt -e '.[batch]'`, with the paths
    written out when the working directory is elsewhere). Installed without one: the extra's
    own requirements by name, never `pip install 'triage[batch]'`, which would fetch
    whatever is called triage on the package index.
    """
    python = _shown_path(Path(sys.executable))
    root = checkout_root()
    if root is not None:
        constraints, project = _shown_path(root / "constraints.txt"), _shown_path(root)
        return (
            f"{python} -m pip install -c {shlex.quote(constraints)} -e {shlex.quote(f'{project}[{extra}]')}"
        )
    from importlib.metadata import PackageNotFoundError, requires

    try:
        requirements = requires("triage") or []
    except PackageNotFoundError:
        requirements = []
    marker = f'extra == "{extra}"'
    wanted = [line.split(";")[0].strip() for line in requirements if marker in line]
    return f"{python} -m pip install {' '.join(shlex.quote(name) for name in wanted)}"


def _shown_path(path: Path) -> str:
    """`path` relative to the working directory when it is under it ("." for the directory itself)."""
    try:
        return path.relative_to(Path.cwd()).as_posix() or "."
    except ValueError:
        return str(path)
