"""Pooled PostgreSQL connections: pinged only after they sat idle, replaced when found dead.

The server drops a pooled connection (as a restart or an idle timeout would) by terminating its
backend; what the next transaction sees depends on how long the connection sat in the pool.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine.storage.database import Database
from tests.conftest import PG_ENV, postgres_base_url

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url(pg_schema_url: str | None) -> str:
    if pg_schema_url is None:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://user@host/db)")
    return pg_schema_url


def backend(db: Database) -> int:
    with db.session() as s:
        pid = s.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


def terminate(pid: int) -> None:
    base = postgres_base_url()
    assert base is not None
    admin = create_engine(base)
    with admin.begin() as conn:
        assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) is True
    admin.dispose()


def test_a_connection_dropped_while_idle_is_replaced_before_use(pg_url: str) -> None:
    db = Database(pg_url, pool_size=1, ping_after_idle=0.0)  # every checkout counts as idle
    try:
        first = backend(db)
        terminate(first)
        second = backend(db)  # no error: the ping found it gone and the pool reconnected
        assert second != first
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged(pg_url: str) -> None:
    db = Database(pg_url, pool_size=1, ping_after_idle=3600.0)
    try:
        first = backend(db)
        terminate(first)
        # Back in the pool a moment ago: handed out without a round trip, so the transaction
        # that meets the dead connection fails…
        with pytest.raises(OperationalError):
            backend(db)
        # …and the pool, told of the disconnect, hands out a fresh one next.
        assert backend(db) != first
    finally:
        db.dispose()
