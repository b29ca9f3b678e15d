"""The layout keeps its arrows: a folder imports only the folders below it (STYLE.md, "Folders
are the jobs"; docs/architecture.md), no module reaches into another module's private names, and
no two modules import each other, directly or round a longer loop. Lazy imports inside functions
count the same as those at the top: they are dependencies too."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src/triage"

# Layer 1: the bottom modules (and the package root, for __version__); they import only each other.
BOTTOM = {"triage", "records", "errors", "atomic", "paths", "locking", "untrusted", "wording"}
MAY_IMPORT = {
    "ingestion": set(),
    "readers": {"ingestion"},
    "corpus": {"ingestion"},
    "model": {"ingestion"},
    "evaluation": {"model", "corpus", "ingestion"},
    "batch": {"model", "readers", "ingestion", "corpus"},
    "annotation": {"evaluation", "batch", "model", "corpus", "readers", "ingestion"},
    "web": {"batch", "model", "readers", "ingestion"},
    "cli": {"ingestion", "readers", "corpus", "model", "evaluation", "batch", "annotation", "web"},
}


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit(module: str) -> str:
    """The folder (or bottom module) a dotted module name belongs to: triage.model.tags -> model."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def imports_of(path: Path, package: str) -> list[tuple[str, list[str], int]]:
    """(imported module, imported names, line) for every import of `package`, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == package or node.module.startswith(package + "."):
                found.append((node.module, [alias.name for alias in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == package or alias.name.startswith(package + "."):
                    found.append((alias.name, [], node.lineno))
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One loop of the module graph, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for other in sorted(graph.get(module, ())):
            if state.get(other) == 1:
                return stack[stack.index(other) :] + [other]
            if other not in state and (loop := visit(other)):
                return loop
        state[module] = 2
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state and (loop := visit(module)):
            return loop
    return None


def layer_violations(root: Path) -> list[str]:
    """Every broken arrow, private reach and import loop in the package at `root`."""
    package = root.name
    modules = {module_name(path, root): path for path in sorted(root.rglob("*.py"))}
    problems, graph = [], {}
    for module, path in modules.items():
        here = unit(module)
        allowed = BOTTOM if here in BOTTOM else MAY_IMPORT.get(here)
        if allowed is None:
            problems.append(f"{module}: in no layer (add its folder to MAY_IMPORT or BOTTOM)")
            continue
        for imported, names, line in imports_of(path, package):
            targets = [imported] + [f"{imported}.{name}" for name in names if f"{imported}.{name}" in modules]
            graph.setdefault(module, set()).update(t for t in targets if t in modules and t != module)
            there = unit(imported)
            if there != here and there not in BOTTOM and there not in allowed:
                problems.append(f"{path.name}:{line}: {module} ({here}) imports {imported} ({there})")
            if imported != module:
                for name in names:
                    if name.startswith("_") and not name.startswith("__"):
                        problems.append(f"{path.name}:{line}: {module} imports private {imported}.{name}")
    loop = find_cycle(graph)
    if loop:
        problems.append("import loop: " + " -> ".join(loop))
    return problems


def test_every_folder_imports_only_the_folders_below_it():
    assert layer_violations(PACKAGE) == []


def write_package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / "triage" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "triage"


TIDY = {
    "__init__.py": "",
    "errors.py": "class BadInput(Exception): ...\n",
    "model/__init__.py": "",
    "model/tags.py": "from triage.errors import BadInput\n",
    "cli/__init__.py": "",
    "cli/app.py": "from triage.model.tags import BadInput\n",
}


def test_the_check_passes_a_tidy_package(tmp_path):
    assert layer_violations(write_package(tmp_path, TIDY)) == []


@pytest.mark.parametrize(
    ("name", "text", "complaint"),
    [
        (
            "model/upward.py",
            "def f():\n    from triage.cli.app import BadInput\n",
            "imports triage.cli.app (cli)",
        ),
        (
            "model/reach.py",
            "from triage.model.tags import _hidden\n",
            "imports private triage.model.tags._hidden",
        ),
        ("errors.py", "from triage.model import tags\n", "imports triage.model (model)"),
        ("helpers.py", "", "in no layer"),
        ("model/tags.py", "from triage.model.loop import x\n", "import loop"),
    ],
    ids=["lazy-upward-import", "private-name", "bottom-imports-up", "unplaced-module", "loop"],
)
def test_the_check_refuses_each_kind_of_violation(tmp_path, name, text, complaint):
    files = {**TIDY, name: text, "model/loop.py": "from triage.model.tags import BadInput\n"}
    problems = layer_violations(write_package(tmp_path, files))
    assert any(complaint in problem for problem in problems), problems


def test_a_record_through_predict_enters_each_folder_at_most_once_on_the_way_down(trained, tmp_path):
    """docs/architecture.md's trace, on an article written here: every chain of folders the
    call stack reaches (cli > batch > model > ingestion) names each folder once."""
    import importlib.util

    script = Path(__file__).resolve().parents[1] / "scripts/trace_predict.py"
    spec = importlib.util.spec_from_file_location("trace_predict", script)
    trace_predict = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trace_predict)
    article = tmp_path / "article.txt"
    article.write_text(
        "Marketplace removes fake trainers\n\n"
        "The marketplace said it took down two million listings of copied trainers this spring.\n\n"
        "A court in the capital ordered one seller to pay the sportswear maker's costs.\n"
    )
    chains, reentering = trace_predict.trace([str(article), "--model", str(trained.model_path)])
    assert ("cli", "batch", "model", "ingestion") in chains
    assert reentering == []
