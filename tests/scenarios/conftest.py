"""An engine with the shipped processes, the demo organisations and the lane resolver.

The driver reloads every step from the database (``reload=True``: the engine's workflow cache is
dropped before each command), so every scenario runs through save → reload at each wait.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest

from demo.scenarios import Driver
from demo.seed import _bundle, _demo_hasher
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.orgs import load_organisations
from engine.runtime import Engine, files_from_paths
from engine.settings import Settings
from tests.engine.support import DESIGNER


@cache
def demo_hasher() -> Callable[[str], Any]:
    """Argon2 once per test session: every demo user shares the password ``demo``."""
    hasher: Callable[[str], Any] = _demo_hasher()
    return hasher


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, demo=True)


@pytest.fixture
def dispute(settings: Settings, clock: ManualClock) -> Iterator[Engine]:
    engine = build_engine(settings, clock=clock)
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=demo_hasher(),
                           now=clock.now)  # fmt: skip
    engine.deploy(files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)), DESIGNER)
    yield engine
    engine.db.dispose()


@pytest.fixture
def driver(dispute: Engine) -> Driver:
    return Driver(dispute, reload=True)
