"""The engine's public surface is pinned: changing it is a deliberate act."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(__file__).resolve().parents[2]


def test_public_names_are_pinned() -> None:
    assert sorted(engine.__all__) == sorted(
        [
            "SYSTEM",
            "Actor",
            "BihuanError",
            "Candidate",
            "CandidateResolver",
            "Clock",
            "Engine",
            "ManualClock",
            "Problem",
            "PropertyResolver",
            "Settings",
            "SystemClock",
        ]
    )


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_spiffworkflow_is_imported_only_inside_the_seam() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for folder in ("engine", "api")
        for p in (ROOT / folder).rglob("*.py")
        if "spiff" not in p.relative_to(ROOT).parts[:2]
        and any(m.split(".")[0] == "SpiffWorkflow" for m in _imports(p))
    ]
    assert offenders == []


def test_the_engine_never_imports_the_api() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "engine").rglob("*.py")
        if any(m.split(".")[0] in ("api", "fastapi", "starlette") for m in _imports(p))
    ]
    assert offenders == []
