"""The import graph of `miner` runs one way: no module depends, however indirectly, on itself.

Imports are read from the source (top-level, inside functions and under TYPE_CHECKING alike), and
importing a submodule counts as importing its package (Python runs the package's `__init__` first). A
cycle here once cost `Any` at every seam between the run machinery and the app object.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def miner_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted((REPO / "miner").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph() -> dict[str, set[str]]:
    """module -> the miner modules it imports (anywhere in its source), plus its parent package."""
    modules = miner_modules()

    def known(name: str) -> str | None:  # "miner.runs.history.RunView" -> "miner.runs.history"
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [known(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [known(f"{base}.{alias.name}") for alias in node.names]
            else:
                continue
            graph[name].update(t for t in targets if t and t != name)
        if path.name == "__init__.py":  # a package may load its own submodules (lazy re-exports)
            graph[name] = {t for t in graph[name] if not t.startswith(f"{name}.")}
        parent = name.rpartition(".")[0]
        if parent in modules:
            graph[name].add(parent)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def reaches(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in graph[todo.pop()] - seen:
            seen.add(target)
            todo.append(target)
    return seen


def test_no_module_of_miner_depends_on_itself() -> None:
    assert cycles(import_graph()) == []


def test_the_check_sees_a_cycle_made_by_an_import_inside_a_function() -> None:
    graph = import_graph()
    graph["miner.runs.worker"].add("miner.app")  # as `miner.tasks` once did, lazily, for the seed's API
    assert any({"miner.app", "miner.runs.worker"} <= set(c) for c in cycles(graph))


@pytest.mark.parametrize("low", ["miner.vocabulary", "miner.progress", "miner.pipeline", "miner.runs.registry",
                                 "miner.runs.runner", "miner.runs.worker", "miner.runs.scheduler"])
def test_the_run_machinery_never_reaches_the_app_or_the_seed_facade(low: str) -> None:
    assert not {"miner.app", "miner.tasks", "miner.api", "miner.cli"} & reaches(import_graph(), low)


def sync_reaches_analysis_work_or_the_demo(graph: dict[str, set[str]]) -> set[str]:
    # the settings know the taxonomy and the prices (miner.config validates them): that is not analysis work
    work = {"miner.analysis.store", "miner.analysis.analyze", "miner.analysis.claude", "miner.analysis.offline"}
    return {m for m in reaches(graph, "miner.sync") if m in work or m.startswith("miner.demo")}


def test_the_sync_reaches_neither_analysis_storage_nor_the_demo() -> None:
    # the sync reports what changed (miner.sync.SyncListener) and the analysis reacts; the demo Zendesk is
    # one more URL for the client, handed in by the pipeline
    assert sync_reaches_analysis_work_or_the_demo(import_graph()) == set()


def test_the_check_sees_the_sync_reaching_into_analysis_storage() -> None:
    graph = import_graph()
    graph["miner.sync"].add("miner.analysis.store")  # as it once did, lazily, to forget a deleted ticket's issues
    assert sync_reaches_analysis_work_or_the_demo(graph) == {"miner.analysis.store"}


@pytest.mark.parametrize("module", ["miner.vocabulary", "miner.progress", "miner.pipeline", "miner.runs.registry",
                                    "miner.runs.worker", "miner.runs.scheduler", "miner.app", "miner.tasks",
                                    "miner.api", "miner.cli"])
def test_each_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
