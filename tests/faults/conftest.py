"""Fixtures shared by the fault scenarios: one SQLite database with the schema and the demo data,
prepared once through the real commands and copied for each scenario that writes to it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import prepare


@pytest.fixture(scope="session")
def demo_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults-template") / "template.db"
    prepare(f"sqlite:///{path}")
    return path
