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
    "engine/sandbox/restricted.py": "the restricted compiler and runner",
    "engine/storage/models.py": "the declarative tables, one file for Alembic's autogenerate",
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
