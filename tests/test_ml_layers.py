"""The shape of the `ml` package: its units (each subpackage and each top-level module) import
each other in layers that only point down, and a model type is named only where it lives."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

from ml.model_types.catalog import MODEL_TYPES

PACKAGE = Path(__file__).resolve().parents[1] / "ml"
# Statement parsing knows no model, no template and no engine.
PARSING_MAY_IMPORT = {"ml.errors", "ml.names"}


def unit(module: str) -> str | None:
    """The unit a dotted `ml...` module belongs to: `ml.<subpackage>` or `ml.<module>`."""
    parts = module.split(".")
    if parts[0] != "ml":
        return None
    return "ml" if len(parts) == 1 else f"ml.{parts[1]}"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module an `import` or `from ... import` names, function-level imports included
    (`from ml import udfs` imports `ml.udfs`, not the package's __init__)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{a.name}" for a in node.names}
            existing = {m for m in submodules if _exists(m)}
            found |= existing or {node.module}
    return found


def _exists(module: str) -> bool:
    path = PACKAGE.parent.joinpath(*module.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def unit_imports() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in PACKAGE.rglob("*.py"):
        source = unit(module_name(path))
        for module in imported_modules(ast.parse(path.read_text())):
            target = unit(module)
            if target and target != source:
                edges[source].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one unit (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_unit_of_ml_imports_a_unit_that_imports_it_back() -> None:
    edges = unit_imports()
    assert edges, "the import graph was read"
    assert cycles(edges) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"ml.a": {"ml.b"}, "ml.b": {"ml.c"}, "ml.c": {"ml.a"}, "ml.d": {"ml.a"}}) == [
        ["ml.a", "ml.b", "ml.c"]
    ]


def test_statement_parsing_knows_no_model_types_templates_or_engine() -> None:
    assert unit_imports()["ml.sql"] <= PARSING_MAY_IMPORT


def files_naming(name: str) -> set[str]:
    """Python files under ml/ with a string constant (docstrings included) naming `name` as a
    whole word, in any case."""
    word = re.compile(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", re.IGNORECASE)
    found = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and word.search(node.value):
                found.add(str(path.relative_to(PACKAGE)))
    return found


def test_each_model_type_is_named_in_at_most_three_files() -> None:
    named = {name: files_naming(name) for name in MODEL_TYPES}
    assert named["LINEAR_REG"], "the search finds the type's own module"
    assert {name: files for name, files in named.items() if len(files) > 3} == {}
