"""The deadline race: an interrupting timer that came due wins over a late submission;
a late submission on a task with only a reminder timer is accepted and recorded as late."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.errors import DeadlinePassed
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import DueItem, HumanTask
from tests.engine.support import ALICE, DESIGNER, bundle, events, instance, only_task


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("deadline.bpmn"), DESIGNER)
    return e


def test_timers_are_due_rows(engine: Engine, db: Database, clock: ManualClock) -> None:
    engine.start("deadline", "D-1", {}, ALICE)
    with db.session() as s:
        rows = s.scalars(select(DueItem).where(DueItem.case_no == "D-1")).all()
    due = sorted(
        (r.payload["element_id"], r.due_at - clock.now(), r.payload["interrupting"]) for r in rows
    )
    assert due == [
        ("soft_timer", timedelta(hours=1), False),
        ("strict_timer", timedelta(hours=2), True),
    ]


def test_late_submission_after_an_interrupting_timer_is_refused_consistently(
    engine: Engine, db: Database, clock: ManualClock
) -> None:
    for n in range(5):
        key = f"D-{n}"
        engine.start("deadline", key, {}, ALICE)
        task = only_task(db, key, "strict_task")
        engine.claim(task.id, ALICE)
        clock.advance(timedelta(hours=2, seconds=1))
        # Nobody swept the timers: the submission itself must let the timer win.
        with pytest.raises(DeadlinePassed):
            engine.complete(task.id, {"result": "迟到的提交"}, ALICE)
        inst = instance(db, key)
        assert inst.data.get("escalated") is True
        with db.session() as s:
            row = s.get(HumanTask, task.id)
            assert row is not None and row.state == "cancelled"
        refused = [e for e in events(db, key) if e.event_type == "submission_refused"]
        assert len(refused) == 1 and refused[0].data_after == {"result": "迟到的提交"}
        assert "result" not in inst.data


def test_late_submission_on_a_reminder_only_task_is_accepted_and_marked_late(
    engine: Engine, db: Database, clock: ManualClock
) -> None:
    engine.start("deadline", "D-9", {}, ALICE)
    task = only_task(db, "D-9", "soft_task")
    with db.session() as s:
        row = s.get(HumanTask, task.id)
        assert row is not None
        row.due_at = clock.now() + timedelta(minutes=30)
    engine.claim(task.id, ALICE)
    clock.advance(timedelta(hours=1, minutes=1))
    done = engine.complete(task.id, {"result": "晚了但有效"}, ALICE)
    assert done.state == "completed" and done.late is True
    fired = [e.element_id for e in events(db, "D-9") if e.event_type == "timer_fired"]
    assert fired == ["soft_timer"]  # the reminder fired first; the task stayed open
    completed = [e for e in events(db, "D-9") if e.event_type == "task_completed"]
    assert completed[0].details["late"] is True


def test_the_sweep_fires_an_interrupting_timer(
    engine: Engine, db: Database, clock: ManualClock
) -> None:
    engine.start("deadline", "D-5", {}, ALICE)
    inst = instance(db, "D-5")
    clock.advance(timedelta(minutes=30))
    assert engine.fire_due_timers(inst.id) is False
    clock.advance(timedelta(hours=2))
    assert engine.fire_due_timers(inst.id) is True
    assert instance(db, "D-5").data.get("escalated") is True
    fired = [e.element_id for e in events(db, "D-5") if e.event_type == "timer_fired"]
    assert sorted(fired) == ["soft_timer", "strict_timer"]
    with db.session() as s:
        states = {r.payload["element_id"]: r.state for r in s.scalars(select(DueItem))}
    assert states == {"soft_timer": "done", "strict_timer": "done"}
