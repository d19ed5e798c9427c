"""The sweep: claims, leases, exactly-once firings, failures and retries (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.scheduler import ClaimedItem, Scheduler, backoff, schedule
from engine.storage.database import Database
from engine.storage.models import DueItem, Firing
from tests.scheduler.support import add_probes, counts, effects, probe


def make(db: Database, clock: ManualClock, owner: str, **kw: object) -> Scheduler:
    sched = Scheduler(db, clock=clock, owner=owner, **kw)  # type: ignore[arg-type]
    sched.register("probe", probe)
    return sched


def test_only_due_rows_fire_and_each_once(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    add_probes(db, 5, now - timedelta(seconds=1))
    add_probes(db, 3, now + timedelta(minutes=5), prefix="later")
    sched = make(db, clock, "a", batch_size=2)
    stats = sched.sweep_once()
    assert (stats.fired, stats.batches) == (5, 3)
    assert sched.sweep_once().claimed == 0
    assert counts(db) == (5, 5, 3)
    clock.advance(timedelta(minutes=6))
    assert sched.sweep_once().fired == 3
    assert set(effects(db).values()) == {1} and len(effects(db)) == 8


def test_lease_is_at_most_sixty_seconds(db: Database, clock: ManualClock) -> None:
    with pytest.raises(ValueError):
        Scheduler(db, clock=clock, lease_seconds=61)
    add_probes(db, 1, clock.now())
    claimed = make(db, clock, "a", lease_seconds=30).claim(clock.now())
    assert claimed[0].lease_until == clock.now() + timedelta(seconds=30)


def test_a_leased_row_is_not_claimed_again_until_the_lease_lapses(
    db: Database, clock: ManualClock
) -> None:
    add_probes(db, 3, clock.now())
    a, b = make(db, clock, "a", lease_seconds=10), make(db, clock, "b", lease_seconds=10)
    assert len(a.claim(clock.now())) == 3  # a "crashes" here: claimed, never fired
    assert b.claim(clock.now()) == []
    clock.advance(timedelta(seconds=11))
    stats = b.sweep_once()
    assert stats.fired == 3
    with db.session() as s:
        assert {f.fired_by for f in s.scalars(select(Firing))} == {"b"}


def test_a_stale_claimer_does_not_fire_what_another_took_over(
    db: Database, clock: ManualClock
) -> None:
    add_probes(db, 1, clock.now())
    a, b = make(db, clock, "a", lease_seconds=10), make(db, clock, "b", lease_seconds=10)
    [stale] = a.claim(clock.now())
    clock.advance(timedelta(seconds=11))
    assert b.sweep_once().fired == 1
    clock.set(stale.lease_until - timedelta(seconds=1))  # a wakes up believing it still leads
    assert a.fire(stale, clock.now()) == "skipped"
    assert effects(db) == {"probe:0": 1}


def test_the_firings_key_stops_a_second_effect(db: Database, clock: ManualClock) -> None:
    add_probes(db, 1, clock.now())
    a = make(db, clock, "a")
    [item] = a.claim(clock.now())
    with db.session() as s:  # someone already fired it (e.g. a process whose commit we missed)
        s.add(Firing(dedupe_key=item.dedupe_key, fired_at=clock.now(), fired_by="x",
                     due_at=item.due_at))  # fmt: skip
    assert a.fire(item, clock.now()) == "duplicate"
    assert effects(db) == {}
    with db.session() as s:
        row = s.get(DueItem, item.id)
        assert row is not None and row.state == "done"


def test_a_failed_firing_is_retried_with_backoff_and_never_lost(
    db: Database, clock: ManualClock
) -> None:
    calls: list[int] = []

    def flaky(session: Session, item: ClaimedItem, now: datetime) -> None:
        calls.append(item.attempts)
        if len(calls) < 3:
            raise RuntimeError("the SMS gateway is down")
        probe(session, item, now)

    add_probes(db, 1, clock.now())
    sched = Scheduler(db, clock=clock, owner="a", handlers={"probe": flaky})
    assert sched.sweep_once().failed == 1
    with db.session() as s:
        row = s.scalars(select(DueItem)).one()
        assert (row.state, row.attempts, row.lease_owner) == ("pending", 1, None)
        assert row.last_error == "RuntimeError: the SMS gateway is down"
        assert row.lease_until == clock.now() + backoff(1)
        assert s.scalar(select(Firing)) is None  # the firing rolled back with the handler
    assert sched.sweep_once().claimed == 0  # still backing off
    clock.advance(backoff(1) + timedelta(seconds=1))
    assert sched.sweep_once().failed == 1
    clock.advance(backoff(2) + timedelta(seconds=1))
    assert sched.sweep_once().fired == 1
    assert calls == [0, 1, 2] and effects(db) == {"probe:0": 1}


def test_unknown_kind_is_kept_for_later(db: Database, clock: ManualClock) -> None:
    with db.session() as s:
        schedule(s, kind="mystery", dedupe_key="m:1", due_at=clock.now(), now=clock.now())
    assert make(db, clock, "a").sweep_once().failed == 1
    assert counts(db) == (0, 0, 1)


def test_scheduling_is_idempotent(db: Database, clock: ManualClock) -> None:
    with db.session() as s:
        assert schedule(s, kind="probe", dedupe_key="k", due_at=clock.now(), now=clock.now())
        assert not schedule(s, kind="probe", dedupe_key="k", due_at=clock.now(), now=clock.now())
    assert counts(db) == (0, 0, 1)


def test_two_sweepers_racing_in_threads_fire_each_item_once(
    db: Database, clock: ManualClock
) -> None:
    add_probes(db, 400, clock.now() - timedelta(seconds=1))
    sweepers = [make(db, clock, f"t{i}", batch_size=25) for i in range(2)]
    start = threading.Barrier(2)
    results: list[int] = []

    def run(sched: Scheduler) -> None:
        start.wait()
        for _ in range(5):
            results.append(sched.sweep_once().fired)

    threads = [threading.Thread(target=run, args=(s,)) for s in sweepers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 400
    assert counts(db) == (400, 400, 0)
    got = effects(db)
    assert len(got) == 400 and set(got.values()) == {1}


def test_the_claim_uses_the_sweep_index(db: Database) -> None:
    """The claim filters on (state, due_at): the plan must use ix_due_items_sweep."""
    if db.dialect != "postgresql":
        with db.engine.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT id FROM due_items WHERE state='pending' "
                "AND due_at <= '2026-01-01' ORDER BY due_at LIMIT 10"
            ).all()
        assert any("ix_due_items_sweep" in str(row) for row in plan)
        return
    with db.engine.connect() as conn:
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql(
            "EXPLAIN SELECT id FROM due_items WHERE state='pending' AND due_at <= now() "
            "ORDER BY due_at LIMIT 10 FOR UPDATE SKIP LOCKED"
        ).all()
    assert any("ix_due_items_sweep" in str(row) for row in plan)
