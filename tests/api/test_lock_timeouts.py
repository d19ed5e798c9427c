"""A frozen node must not block the others beyond a bound (PostgreSQL).

A transaction left open holding a case's row lock — a node paused mid-command (SIGSTOP, a VM
pause, a long GC) — makes another node's command on that case wait at most ``lock_timeout``; it
then answers 409 ``busy`` with ``Retry-After`` (a retry, with or without an Idempotency-Key, goes
through once the lock is free). A transaction left idle is ended by the server after
``idle_in_transaction_session_timeout``, releasing its locks.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select, text

from engine.clock import ManualClock
from engine.storage.database import Database, Timeouts
from engine.storage.models import HumanTask, Instance
from tests.api.conftest import World, make_world

pytestmark = pytest.mark.postgres
LOCK_TIMEOUT = 1.0
SLACK = 3.0  # a loaded machine's scheduling, not the database's waiting


@pytest.fixture
def bounded(db_url: str, clock: ManualClock) -> Iterator[World]:
    if db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's session timeouts")
    db = Database(
        db_url, timeouts=Timeouts(lock=LOCK_TIMEOUT, statement=30, idle_in_transaction=60)
    )
    world, _ = make_world(db_url, clock, db=db)
    with world.client:
        yield world
    db.dispose()


def _lock_case_of(s: object, task_id: str) -> None:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    s.execute(
        select(Instance.id)
        .join(HumanTask, HumanTask.instance_id == Instance.id)
        .where(HumanTask.id == task_id)
        .with_for_update(of=Instance)
    )


def test_the_timeouts_are_set_on_every_connection(bounded: World) -> None:
    with bounded.db.engine.connect() as conn:
        shown = [conn.execute(text(f"SHOW {name}")).scalar() for name in
                 ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout")]  # fmt: skip
    assert shown == ["1s", "30s", "1min"]


def test_a_held_case_lock_delays_a_claim_by_at_most_the_lock_timeout(bounded: World) -> None:
    world = bounded
    task = world.open_task(world.report())
    frozen = Database(world.settings.database_url)  # another node, paused mid-command
    try:
        with frozen.session() as s:
            _lock_case_of(s, task)
            started = time.monotonic()
            r = world.post("handler_a", f"/api/v1/tasks/{task}/claim")
            waited = time.monotonic() - started
            assert r.status_code == 409 and r.json()["code"] == "busy", r.text
            assert r.headers["Retry-After"] == "1"
            assert LOCK_TIMEOUT * 0.9 <= waited < LOCK_TIMEOUT + SLACK
            keyed = {"Idempotency-Key": "claim-while-frozen"}
            r = world.post("handler_a", f"/api/v1/tasks/{task}/claim", headers=keyed)
            assert r.status_code == 409 and r.json()["code"] == "busy", r.text
        # the node thawed and finished: the same keyed request now runs ("busy" was not kept)
        r = world.post("handler_a", f"/api/v1/tasks/{task}/claim", headers=keyed)
        assert r.status_code == 200 and r.json()["assignee"] == "handler_a", r.text
        assert "idempotent-replayed" not in r.headers
    finally:
        frozen.dispose()


def test_a_transaction_left_idle_is_ended_and_its_locks_freed(bounded: World) -> None:
    world = bounded
    task = world.open_task(world.report())
    idle = Database(world.settings.database_url,
                    timeouts=Timeouts(lock=0, statement=0, idle_in_transaction=0.5))  # fmt: skip
    waiter = Database(world.settings.database_url,
                      timeouts=Timeouts(lock=20, statement=20, idle_in_transaction=0))  # fmt: skip
    try:
        s = idle.new_session()
        _lock_case_of(s, task)  # ... and the node freezes: its transaction sits idle
        with waiter.session() as w:
            _lock_case_of(w, task)  # granted once the server ends the idle transaction
        with pytest.raises(Exception, match=r"idle-in-transaction|terminat|closed"):
            s.commit()
        s.close()
    finally:
        idle.dispose()
        waiter.dispose()
