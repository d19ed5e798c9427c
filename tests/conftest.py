"""Shared fixtures: every database test runs on SQLite and, when configured, on PostgreSQL.

PostgreSQL: set BIHUAN_TEST_POSTGRES_URL (``.ci/run`` does). Each test session works in its own
schema, migrated once; tables are truncated between tests. Without the variable those tests
skip with a reason — unless BIHUAN_REQUIRE_POSTGRES=1, when they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from engine.clock import ManualClock
from engine.spiff import serializer
from engine.storage.database import Database
from engine.storage.migrate import upgrade
from engine.storage.models import Base

# Every state the suite saves is also serialized in full and compared with the memoised dump.
serializer.CHECK_MEMO = True

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent
PG_ENV = "BIHUAN_TEST_POSTGRES_URL"
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing

# Date- and time-of-day-sensitive modules, marked `clock` here (new modules mark themselves with
# ``pytestmark = pytest.mark.clock``). `make test-zones` runs the marked tests with the process
# clock faked to 23:30 and 00:30 Beijing time: they must pass whatever the wall clock says.
# (Not tests/test_sandbox.py: its dates come from a fixed instant, and its limit tests time real
# durations, which libfaketime's interposed clock calls slow down.)
CLOCK_MODULES = frozenset(
    {
        "tests/test_workdays_calendar.py",
        "tests/test_workdays_policy.py",
        "tests/supervision/test_deadlines.py",
        "tests/supervision/test_housekeeping.py",
        "tests/supervision/test_ladder.py",
        "tests/scenarios/test_office_hours.py",
        "tests/scenarios/test_tier_timeout.py",
        "tests/scheduler/test_sweep.py",
        "tests/scheduler/test_timers_and_runner.py",
        "tests/engine/test_deadline_race.py",
        "tests/audit/test_retention.py",
        "tests/kpi/test_kpis.py",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.relative_to(ROOT).as_posix() in CLOCK_MODULES:
            item.add_marker(pytest.mark.clock)


def postgres_base_url() -> str | None:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("BIHUAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"{PG_ENV} is required in this run but is not set")
        return None
    return url


def _with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str | None]:
    base = postgres_base_url()
    if base is None:
        yield None
        return
    schema = f"bihuan_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # the server is unreachable: say so plainly
        if os.environ.get("BIHUAN_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL at {base} is unreachable: {exc}")
        yield None
        return
    url = _with_schema(base, schema)
    db = Database(url)
    upgrade(db)
    db.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    db.dispose()
    return path


def _truncate(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    for attempt in range(5):
        try:
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            return
        except DBAPIError as exc:
            # TRUNCATE takes every table's strongest lock at once; the server's autovacuum
            # can meet it in a deadlock (seen once in a full run). It is safe to run again.
            if "deadlock" not in str(exc.orig).lower() or attempt == 4:
                raise


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_template: Path,
    pg_schema_url: str | None,
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "bihuan.db"
        shutil.copy(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if pg_schema_url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://user@host/db)")
    db = Database(pg_schema_url)
    _truncate(db)
    db.dispose()
    yield pg_schema_url


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = Database(db_url)
    yield database
    database.dispose()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)
