"""State lives in objects (a model, a session, a run), not at module level: no function of
the package writes to a module-level name or memoises into a module-level cache, except the
few named below with their reason. Read from the source (an AST check), so a new one fails here."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src/triage"
MUTATING_METHODS = {
    "append",
    "extend",
    "update",
    "clear",
    "pop",
    "popitem",
    "setdefault",
    "add",
    "discard",
    "remove",
}
CACHE_DECORATORS = {"cache", "lru_cache", "functools.cache", "functools.lru_cache"}
ALLOWED = {
    (
        "batch/scoring",
        "_WORKER_MODELS",
    ): "a worker process's models, loaded once per process (joblib's pattern)",
    ("ingestion/words", "words_of"): "a pure function's memo of the last lines' words: it changes no result",
    ("ingestion/words", "tokens_of"): "a pure function's memo of the last lines' tokens",
    ("ingestion/words", "fewest_words_of"): "a pure function's memo of the last lines' word counts",
}


def _root_name(expression: ast.expr) -> str | None:
    while isinstance(expression, ast.Subscript | ast.Attribute):
        expression = expression.value
    return expression.id if isinstance(expression, ast.Name) else None


def module_state_written(source: str) -> set[str]:
    """Module-level names that a function of `source` writes into (item or attribute
    assignment, a mutating method, `global`), and module functions memoised by a cache."""
    tree = ast.parse(source)
    module_names = {
        target.id
        for node in tree.body
        for target in (node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)])
        if isinstance(target, ast.Name)
    }
    found = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            ast.unparse(d.func if isinstance(d, ast.Call) else d) in CACHE_DECORATORS
            for d in node.decorator_list
        )
    }
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        local = {argument.arg for argument in ast.walk(function.args) if isinstance(argument, ast.arg)}
        local |= {
            n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
        }
        for node in ast.walk(function):
            written: list[ast.expr] = []
            if isinstance(node, ast.Global):
                found |= set(node.names)
            elif isinstance(node, ast.Assign):
                written = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                written = [node.target]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in MUTATING_METHODS:
                    written = [node.func]
            for target in written:
                if isinstance(target, ast.Subscript | ast.Attribute):
                    name = _root_name(target if not isinstance(node, ast.Call) else target.value)
                    if name in module_names and name not in local:
                        found.add(name)
    return found


def test_the_check_finds_each_kind_of_module_state():
    source = (
        "import functools\nCACHE = {}\nFLAG = {'on': False}\nITEMS = []\nCOUNT = 0\n"
        "def a(key): CACHE[key] = 1\n"
        "def b(): FLAG['on'] = True\n"
        "def c(x): ITEMS.append(x)\n"
        "def d():\n    global COUNT\n    COUNT += 1\n"
        "@functools.lru_cache(maxsize=8)\ndef e(x): return x\n"
        "def f(CACHE): CACHE[1] = 2\n"  # a parameter of the same name is not the module's
    )
    assert module_state_written(source) == {"CACHE", "FLAG", "ITEMS", "COUNT", "e"}


def test_no_function_of_the_package_keeps_state_at_module_level_beyond_the_named_few():
    found = {
        (path.relative_to(PACKAGE).with_suffix("").as_posix(), name)
        for path in sorted(PACKAGE.rglob("*.py"))
        for name in module_state_written(path.read_text(encoding="utf-8"))
    }
    assert found == set(ALLOWED)


def test_only_the_cli_sets_the_process_wide_csv_field_limit():
    setters = [
        path.relative_to(PACKAGE).as_posix()
        for path in sorted(PACKAGE.rglob("*.py"))
        if "field_size_limit(" in path.read_text(encoding="utf-8")
    ]
    assert setters == ["cli/app.py"]
