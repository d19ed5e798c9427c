"""BPMN timers fired by the sweep, periodic jobs, leader election and the runner loop."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.scheduler import (
    LeaderLease,
    PeriodicJob,
    PeriodicJobs,
    Scheduler,
    SweepStats,
    run_scheduler,
)
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import DueItem, Firing, Notification
from tests.engine.support import ALICE, DESIGNER, bundle, event_types, instance, open_tasks


def timer_engine(db: Database, clock: ManualClock) -> Engine:
    engine = Engine(db, clock=clock)
    engine.deploy(bundle("deadline.bpmn"), DESIGNER)
    return engine


def test_bpmn_timers_fire_through_the_sweep_once(db: Database, clock: ManualClock) -> None:
    engine = timer_engine(db, clock)
    engine.start("deadline", "T-1", {}, ALICE)
    sweep = Scheduler(db, engine=engine, clock=clock, owner="s1")
    other = Scheduler(db, engine=engine, clock=clock, owner="s2")
    assert sweep.sweep_once().claimed == 0
    clock.advance(timedelta(hours=1, seconds=1))  # the non-interrupting reminder is due
    assert sweep.sweep_once().fired == 1
    assert instance(db, "T-1").data.get("reminded") is True
    assert {t.element_id for t in open_tasks(db, "T-1")} == {"soft_task", "strict_task"}
    clock.advance(timedelta(hours=1))  # the interrupting timer takes strict_task away
    assert other.sweep_once().fired == 1
    assert [t.element_id for t in open_tasks(db, "T-1")] == ["soft_task"]
    assert instance(db, "T-1").data.get("escalated") is True
    assert event_types(db, "T-1").count("timer_fired") == 2
    with db.session() as s:
        firings = {f.dedupe_key: f.fired_by for f in s.scalars(select(Firing))}
        items = s.scalars(select(DueItem).where(DueItem.kind == "bpmn_timer")).all()
    assert sorted(firings.values()) == ["s1", "s2"]
    assert {i.dedupe_key for i in items if i.state == "done"} == set(firings)
    assert all(i.fired_at is not None for i in items if i.state == "done")
    assert sweep.sweep_once().claimed == 0 and other.sweep_once().claimed == 0


def test_a_timer_of_a_suspended_case_waits_and_fires_after_resume(
    db: Database, clock: ManualClock
) -> None:
    engine = timer_engine(db, clock)
    inst = engine.start("deadline", "T-2", {}, ALICE)
    engine.suspend(inst.id, "挂账", ALICE)
    sweep = Scheduler(db, engine=engine, clock=clock, owner="s1")
    clock.advance(timedelta(hours=1, seconds=1))
    assert sweep.sweep_once().deferred == 1  # kept, looked at again later
    engine.resume(inst.id, None, ALICE)  # the resume command's step fires what is due
    with db.session() as s:
        fired = s.scalars(select(Firing.dedupe_key)).all()
        reminder = s.scalars(select(DueItem).where(DueItem.due_at <= clock.now())).one()
    assert fired == [reminder.dedupe_key] and reminder.state == "done"
    clock.advance(timedelta(minutes=1, seconds=1))
    assert sweep.sweep_once().claimed == 0


def test_a_late_submission_that_fired_the_timer_leaves_a_firing_proof(
    db: Database, clock: ManualClock
) -> None:
    engine = timer_engine(db, clock)
    engine.start("deadline", "T-3", {}, ALICE)
    sweep = Scheduler(db, engine=engine, clock=clock, owner="s1")  # installs the recorder
    task = next(t for t in open_tasks(db, "T-3") if t.element_id == "soft_task")
    clock.advance(timedelta(hours=1, seconds=1))
    engine.claim(task.id, ALICE)
    engine.complete(task.id, {"result": "办结"}, ALICE)  # refreshes timers: the reminder fires
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Firing)) == 1
    assert sweep.sweep_once().claimed == 0


def test_periodic_jobs_run_once_per_occurrence(db: Database, clock: ManualClock) -> None:
    runs: list[datetime] = []

    def job(session: Session, fire_time: datetime, now: datetime) -> None:
        runs.append(fire_time)

    jobs = PeriodicJobs([PeriodicJob("tick", "0 17 * * *", job)])
    sweepers = [Scheduler(db, clock=clock, owner=f"s{i}", handlers={"job": jobs}) for i in (1, 2)]
    for _ in range(2):  # two schedulers ensure the same occurrence
        assert jobs.ensure(db, clock.now()) in (0, 1)
        PeriodicJobs(list(jobs.jobs.values())).ensure(db, clock.now())
    clock.set(datetime(2026, 3, 2, 9, 0, 1, tzinfo=UTC))  # 17:00:01 Beijing
    for sched in sweepers:
        sched.sweep_once()
    assert runs == [datetime(2026, 3, 2, 9, 0, tzinfo=UTC)]
    jobs.ensure(db, clock.now())
    with db.session() as s:
        keys = sorted(s.scalars(select(DueItem.dedupe_key)))
    assert keys == ["job:tick:2026-03-02T09:00:00+00:00", "job:tick:2026-03-03T09:00:00+00:00"]


def test_leader_election_takes_over_a_lapsed_lease(db: Database, clock: ManualClock) -> None:
    a = LeaderLease(db, "worker-a", ttl_seconds=10)
    b = LeaderLease(db, "worker-b", ttl_seconds=10)
    assert a.acquire(clock.now()) and not b.acquire(clock.now())
    clock.advance(timedelta(seconds=5))
    assert a.acquire(clock.now()) and not b.acquire(clock.now())  # renewed
    clock.advance(timedelta(seconds=11))  # a died and stopped renewing
    assert b.acquire(clock.now()) and not a.acquire(clock.now())
    b.release(clock.now())
    assert a.acquire(clock.now())
    assert a.holder() == ("worker-a", clock.now() + timedelta(seconds=10))


def test_run_scheduler_sweeps_until_stopped(db: Database, db_url: str, clock: ManualClock) -> None:
    engine = timer_engine(db, clock)
    engine.start("deadline", "T-4", {}, ALICE)
    clock.advance(timedelta(hours=1, seconds=1))
    stop, swept = threading.Event(), threading.Event()

    def on_tick(stats: SweepStats | None) -> None:
        if stats is not None and stats.fired:
            swept.set()

    settings = Settings(database_url=db_url, poll_interval_seconds=0.05)
    runner = threading.Thread(
        target=run_scheduler,
        args=(settings,),
        kwargs={"clock": clock, "stop_event": stop, "engine": engine, "on_tick": on_tick},
    )
    runner.start()
    try:
        assert swept.wait(timeout=20)
    finally:
        stop.set()
        runner.join(timeout=20)
    assert not runner.is_alive()
    assert instance(db, "T-4").data.get("reminded") is True
    with db.session() as s:  # the logging sender delivered nothing: no notifications here
        assert s.scalar(select(func.count()).select_from(Notification)) == 0
