"""The layout a newcomer relies on: data folders hold no code, rooms stay small, and each engine
package shows its face (``__all__``). The import layers are checked by ``lint-imports``."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: about 450 lines is the size of a room; these are larger on purpose
LIMIT = 480
LARGER = {
    "engine/sandbox/guards.py": "the guarded builtins, one table",
}
PACKAGES = sorted(
    p.parent.relative_to(ROOT).as_posix().replace("/", ".")
    for p in (ROOT / "engine").glob("*/__init__.py")
)


def test_processes_and_forms_hold_data_not_code() -> None:
    code = [p for d in ("processes", "forms") for p in (ROOT / d).rglob("*.py")]
    assert not code, code


def test_modules_are_rooms_not_halls() -> None:
    big = {}
    for folder in ("engine", "api", "cli", "demo"):
        for path in (ROOT / folder).rglob("*.py"):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" in rel or rel in LARGER:
                continue
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > LIMIT:
                big[rel] = lines
    assert not big, big


@pytest.mark.parametrize("name", PACKAGES)
def test_each_engine_package_shows_its_face(name: str) -> None:
    module = importlib.import_module(name)
    face = getattr(module, "__all__", None)
    assert face, f"{name} has no __all__"
    for item in face:
        assert hasattr(module, item), f"{name}.__all__ names {item}, which it lacks"


def test_no_module_takes_part_in_an_import_cycle() -> None:
    """Not even through a function-local or ``TYPE_CHECKING`` import (lint-imports checks the
    layers between packages; this checks the modules inside them)."""
    import grimp

    graph = grimp.build_graph("engine", "api", "cli", "demo")
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, []):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(edges):
        if module not in index:
            visit(module)
    assert not cycles, cycles
