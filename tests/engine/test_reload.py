"""Save → reload at every wait state: a new engine (nothing cached) continues every instance."""

from __future__ import annotations

from datetime import timedelta

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import (
    ALICE,
    DESIGNER,
    bundle,
    do,
    fresh_engine,
    instance,
    only_task,
    open_tasks,
)


def test_every_wait_state_survives_a_restart(db: Database, db_url: str, clock: ManualClock) -> None:
    Engine(db, clock=clock).deploy(
        bundle("loop.bpmn") + [f for f in bundle("message.bpmn") if f.filename == "message.bpmn"]
        + [f for f in bundle("deadline.bpmn") if f.filename == "deadline.bpmn"]
        + [f for f in bundle("parent.bpmn") if f.filename == "parent.bpmn"],
        DESIGNER,
    )  # fmt: skip
    fresh_engine(db_url, clock).start("loop", "A", {"rounds": 0}, ALICE)
    do(fresh_engine(db_url, clock), only_task(db, "A", "handle"), {"result": "x"})
    do(fresh_engine(db_url, clock), only_task(db, "A", "check"), {"ok": False})
    do(fresh_engine(db_url, clock), only_task(db, "A", "handle"), {"result": "y"})
    do(fresh_engine(db_url, clock), only_task(db, "A", "check"), {"ok": True})
    assert instance(db, "A").status == "completed"

    fresh_engine(db_url, clock).start("feedback", "B", {}, ALICE)
    fresh_engine(db_url, clock).deliver_message("citizen_feedback", "B", {"ok": 1}, ALICE)
    do(fresh_engine(db_url, clock), only_task(db, "B", "review"), {"ok": True})
    assert instance(db, "B").status == "completed"

    fresh_engine(db_url, clock).start("deadline", "C", {}, ALICE)
    clock.advance(timedelta(hours=3))
    assert fresh_engine(db_url, clock).fire_due_timers(instance(db, "C").id)
    do(fresh_engine(db_url, clock), only_task(db, "C", "soft_task"), {"result": "z"})
    assert instance(db, "C").status == "completed"

    fresh_engine(db_url, clock).start("parent", "D", {}, ALICE)
    do(fresh_engine(db_url, clock), only_task(db, "D", "c_task"), {"result": "x"})
    do(fresh_engine(db_url, clock), only_task(db, "D", "after"), {"ok": False})
    do(fresh_engine(db_url, clock), only_task(db, "D", "c_task"), {"result": "x"})
    do(fresh_engine(db_url, clock), only_task(db, "D", "after"), {"ok": True})
    assert instance(db, "D").status == "completed" and open_tasks(db, "D") == []
