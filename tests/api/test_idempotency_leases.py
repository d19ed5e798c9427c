"""``Idempotency-Key`` reservations are leased: a key is never left unanswerable.

* while the first request runs, a duplicate answers 409 ``request_in_progress`` with
  ``Retry-After`` — and nothing of the command is visible: it commits with its answer;
* a reservation whose lease lapsed (its owner died or could not release it) is taken over by
  the retry, which runs the command once; one left by a process that no longer runs on this host
  is taken over at once;
* an owner that outlived its lease and was taken over rolls its command back instead of
  committing it a second time (PostgreSQL: on SQLite the owner's transaction holds the write
  lock, so nobody can take its key over meanwhile).
"""

from __future__ import annotations

import socket
import subprocess
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from api.idempotency import IdempotencyStore, request_hash
from engine.clock import ManualClock
from engine.storage.models import HumanTask, IdempotencyRecord, Instance
from tests.api.conftest import World, make_world
from tests.api.faults_support import (
    Gate,
    count_cases,
    in_background,
    keyed_body,
    report_keyed,
)


@pytest.fixture
def gated(db_url: str, clock: ManualClock) -> Iterator[tuple[World, Gate]]:
    gate = Gate()
    world, db = make_world(db_url, clock, listeners=[gate])
    with world.client:
        try:
            yield world, gate
        finally:
            gate.release.set()  # a failed test must not leave a request held
    db.dispose()


def _row(world: World, key: str) -> IdempotencyRecord | None:
    with world.db.session(reading=True) as s:
        return s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))


def _leave_reservation(world: World, key: str, title: str, owner: str, seconds: float) -> None:
    """The row a request leaves when its process dies after reserving the key."""
    digest = request_hash("POST", "/api/v1/cases", b"", "application/json", keyed_body(title))
    with world.db.session() as s:
        s.add(IdempotencyRecord(principal="grid_a", key=key, method="POST", path="/api/v1/cases",
                                request_hash=digest, created_at=world.clock.now(), owner=owner,
                                lease_until=world.clock.now() + timedelta(seconds=seconds)))  # fmt: skip


def _replayed(world: World, key: str, title: str, first: bytes) -> None:
    again = report_keyed(world, key, title)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first


def test_a_duplicate_while_the_first_runs_is_told_to_retry(gated: tuple[World, Gate]) -> None:
    world, gate = gated
    gate.armed = True
    first = in_background(world, "dup-1", "两户宅基地纠纷")
    assert gate.entered.wait(60)
    duplicate = report_keyed(world, "dup-1", "两户宅基地纠纷")
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "request_in_progress"
    assert duplicate.headers["Retry-After"] == "1"
    # the command is inside one transaction with its answer: nothing of it committed yet
    assert count_cases(world, "两户宅基地纠纷") == 0
    row = _row(world, "dup-1")
    assert row is not None and row.status_code is None
    gate.release.set()
    answered = first.join()
    assert answered.status_code == 201, answered.text
    _replayed(world, "dup-1", "两户宅基地纠纷", answered.content)
    assert count_cases(world, "两户宅基地纠纷") == 1


def test_a_lapsed_reservation_is_taken_over_and_answered_once(world: World) -> None:
    _leave_reservation(world, "lapse-1", "楼道堆物", "another-host:4242:aa", seconds=15)
    held = report_keyed(world, "lapse-1", "楼道堆物")
    assert held.status_code == 409 and held.headers["Retry-After"] == "1"
    world.clock.advance(timedelta(seconds=16))
    done = report_keyed(world, "lapse-1", "楼道堆物")
    assert done.status_code == 201, done.text
    _replayed(world, "lapse-1", "楼道堆物", done.content)
    assert count_cases(world, "楼道堆物") == 1


def test_a_reservation_of_a_dead_process_is_taken_over_at_once(world: World) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process now
    owner = f"{socket.gethostname()[:30]}:{gone.pid}:bb"
    _leave_reservation(world, "dead-1", "占道经营", owner, seconds=3600)
    done = report_keyed(world, "dead-1", "占道经营")
    assert done.status_code == 201, done.text
    _replayed(world, "dead-1", "占道经营", done.content)
    assert count_cases(world, "占道经营") == 1


def test_a_reservation_without_a_lease_is_not_stuck(world: World) -> None:
    """Rows reserved before leases existed (no owner, no lease) count as lapsed."""
    _leave_reservation(world, "old-1", "噪音扰民", "x", seconds=0)
    with world.db.session() as s:
        row = s.get(IdempotencyRecord, ("grid_a", "old-1"))
        assert row is not None
        row.owner, row.lease_until = None, None
    done = report_keyed(world, "old-1", "噪音扰民")
    assert done.status_code == 201, done.text
    _replayed(world, "old-1", "噪音扰民", done.content)


@pytest.mark.postgres
def test_an_owner_taken_over_rolls_its_command_back(gated: tuple[World, Gate]) -> None:
    world, gate = gated
    if world.db.is_sqlite:
        pytest.skip("on SQLite the owner's transaction holds the write lock: no take-over")
    gate.armed = True
    first = in_background(world, "frozen-1", "冻结节点")
    assert gate.entered.wait(60)  # the owner is "frozen" inside its command
    world.clock.advance(timedelta(seconds=world.settings.idempotency_lease_seconds + 1))
    store = IdempotencyStore(world.db, world.clock)
    row = _row(world, "frozen-1")
    assert row is not None
    with world.db.session() as s:  # another node's retry takes the lapsed key over
        taken = store.begin(s, "another-host:1:cc", "frozen-1", "POST", row.path,
                            row.request_hash, principal="grid_a")  # fmt: skip
        assert taken is None
    gate.release.set()
    late = first.join()
    assert late.status_code == 409 and late.json()["code"] == "request_in_progress"
    assert count_cases(world, "冻结节点") == 0  # the late owner's command rolled back
    world.clock.advance(timedelta(seconds=world.settings.idempotency_lease_seconds + 1))
    done = report_keyed(world, "frozen-1", "冻结节点")
    assert done.status_code == 201, done.text
    assert count_cases(world, "冻结节点") == 1


@pytest.mark.postgres
def test_a_rolled_back_command_leaves_nothing_cached(gated: tuple[World, Gate]) -> None:
    """The late owner's complete stepped the workflow to a new version, then rolled back: that
    version must not be kept for the next command (another node may commit its own)."""
    world, gate = gated
    if world.db.is_sqlite:
        pytest.skip("on SQLite the owner's transaction holds the write lock: no take-over")
    task = world.open_task(world.report(title="缓存回滚"))
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    with world.db.session(reading=True) as s:
        found = s.get(HumanTask, task)
        assert found is not None
        instance = s.get(Instance, found.instance_id)
        assert instance is not None
        instance_id, version = instance.id, instance.version
    gate.armed = True
    out: list[int] = []
    url = f"/api/v1/tasks/{task}/complete"
    keyed = {"Idempotency-Key": "complete-late"}

    def complete() -> None:
        r = world.post("handler_a", url, json={"data": {"result": "已处置"}}, headers=keyed)
        out.append(r.status_code)

    thread = threading.Thread(target=complete, daemon=True)
    thread.start()
    assert gate.entered.wait(60)
    world.clock.advance(timedelta(seconds=world.settings.idempotency_lease_seconds + 1))
    row = _row(world, "complete-late")
    assert row is not None
    with world.db.session() as s:
        IdempotencyStore(world.db, world.clock).begin(
            s, "another-host:1:dd", "complete-late", "POST", row.path, row.request_hash,
            principal="handler_a",
        )  # fmt: skip
    gate.release.set()
    thread.join(60)
    assert out == [409]
    assert world.engine.workflows.take(instance_id, version + 1) is None
    with world.db.session(reading=True) as s:
        again = s.get(Instance, instance_id)
        assert again is not None and again.version == version  # nothing committed
