"""No import cycles in the project, counting every import: module level, in functions, under TYPE_CHECKING.

Layers only import downwards (docs/engine.md, "Architecture"), so a module can
be read, tested and replaced with what is below it.  An import inside a
function still ties the two modules together: it is counted.  ``from package
import name`` imports the submodule ``package.name`` if there is one, else the
package (its ``__init__``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("autodiff", "nn")


def module_files() -> dict[str, Path]:
    """Every module of the project's packages by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imports(name: str, path: Path, known: set[str]) -> set[str]:
    """The project's modules that ``name`` imports anywhere in its file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = ".".join(part for part in (base if node.level else "", node.module or "") if part)
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                found.add(submodule if submodule in known else source)
    return {module for module in found if module in known and module != name}


def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imports(name, path, set(files)) for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_checker_finds_a_cycle_through_a_function_level_import(tmp_path, monkeypatch):
    package = tmp_path / "autodiff"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("def f():\n    from .high import g  # a function-level import\n")
    (package / "high.py").write_text("from .low import f\n")
    other = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import low, x\n"
    (package / "other.py").write_text(other)
    monkeypatch.setattr(__import__(__name__), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__), "PACKAGES", ("autodiff",))
    graph = import_graph()
    assert graph["autodiff.other"] == {"autodiff.low", "autodiff"}  # x is a name of the package
    assert cycles(graph) == [["autodiff.high", "autodiff.low"]]


def test_the_project_has_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles (each a set of modules that import each other): " + "; ".join(
        " <-> ".join(component) for component in found
    )


@pytest.mark.parametrize("module", ["autodiff.primitives", "autodiff.errors", "autodiff.clock"])
def test_the_bottom_of_the_stack_imports_nothing_above_it(module):
    graph = import_graph()
    assert graph[module] <= {"autodiff.errors"}, graph[module]


def test_autodiff_never_imports_nn():
    graph = import_graph()
    assert not [name for name, targets in graph.items()
                if name.startswith("autodiff") and any(t.split(".")[0] == "nn" for t in targets)]
