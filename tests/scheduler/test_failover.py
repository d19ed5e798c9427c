"""Failover within one lease: the heartbeat keeps a live sweeper's leases, a dead or frozen one
loses them, and a frozen one that wakes up fires nothing another node took over (fencing)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.scheduler import LeaderLease, Scheduler, build_service
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import DueItem, Firing
from tests.scheduler.support import add_probes, effects, probe

LEASE = 10


def make(db: Database, clock: ManualClock, owner: str) -> Scheduler:
    sched = Scheduler(db, clock=clock, owner=owner, lease_seconds=LEASE)
    sched.register("probe", probe)
    return sched


def test_the_heartbeat_keeps_a_live_sweepers_leases(db: Database, clock: ManualClock) -> None:
    add_probes(db, 3, clock.now())
    a, b = make(db, clock, "a"), make(db, clock, "b")
    held = a.claim(clock.now())
    for _ in range(4):  # a slow sweep: 4 × 4 s, renewed every 4 s (< a lease)
        clock.advance(timedelta(seconds=4))
        assert a.renew_leases() == 3
        assert b.claim(clock.now()) == []
    assert [a.fire(item, clock.now()) for item in held] == ["fired"] * 3
    assert set(effects(db).values()) == {1}


def test_a_frozen_sweeper_loses_its_items_within_one_lease_and_fires_none_on_waking(
    db: Database, clock: ManualClock
) -> None:
    add_probes(db, 3, clock.now())
    a, b = make(db, clock, "a"), make(db, clock, "b")
    held = a.claim(clock.now())
    clock.advance(timedelta(seconds=LEASE + 1))  # a froze: no heartbeat
    assert b.sweep_once().fired == 3  # taken over one lease later
    # a wakes up: its renewal takes nothing back, its firings are fenced off
    assert a.renew_leases() == 0
    assert [a.fire(item, clock.now()) for item in held] == ["skipped"] * 3
    with db.session() as s:
        assert {f.fired_by for f in s.scalars(select(Firing))} == {"b"}
    assert set(effects(db).values()) == {1} and len(effects(db)) == 3


def test_a_waking_sweeper_whose_lease_lapsed_in_memory_defers_to_a_claim(
    db: Database, clock: ManualClock
) -> None:
    """Taken over but not yet fired by the other node: the woken one must not fire it."""
    add_probes(db, 1, clock.now())
    a, b = make(db, clock, "a"), make(db, clock, "b")
    [item] = a.claim(clock.now())
    clock.advance(timedelta(seconds=LEASE + 1))
    [taken] = b.claim(clock.now())
    assert a.fire(item, clock.now()) == "skipped"
    with db.session() as s:
        assert s.scalar(select(DueItem.lease_owner).where(DueItem.id == item.id)) == "b"
    assert b.fire(taken, clock.now()) == "fired"
    assert effects(db) == {"probe:0": 1}


def test_leadership_renewal_is_fenced(db: Database, clock: ManualClock) -> None:
    a = LeaderLease(db, "a", ttl_seconds=LEASE)
    b = LeaderLease(db, "b", ttl_seconds=LEASE)
    assert a.acquire(clock.now())
    clock.advance(timedelta(seconds=LEASE - 1))
    assert a.renew(clock.now())  # the heartbeat keeps it
    clock.advance(timedelta(seconds=LEASE - 1))
    assert not b.acquire(clock.now())
    clock.advance(timedelta(seconds=LEASE + 1))  # a froze
    assert b.acquire(clock.now())
    assert not a.renew(clock.now())  # waking, a does not take it back
    holder = b.holder()
    assert holder is not None and holder[0] == "b"


def test_takeover_is_bounded_by_the_default_settings(db: Database, clock: ManualClock) -> None:
    """Leadership and item leases lapse within 10 s; with a 2 s poll takeover is ≤ 12 s < 15 s."""
    settings = Settings(database_url="sqlite://")
    service = build_service(settings, Engine(db, clock=clock), elect=True)
    assert service.leader is not None
    lease = service.scheduler.lease.total_seconds()
    assert service.leader.ttl.total_seconds() == lease
    assert lease + settings.poll_interval_seconds <= 15
