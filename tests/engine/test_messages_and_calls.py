"""Message delivery by correlation key, and call activities."""

from __future__ import annotations

import json

import pytest

from engine.clock import ManualClock
from engine.errors import NotFound
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import (
    ALICE,
    DESIGNER,
    bundle,
    do,
    event_types,
    instance,
    only_task,
    open_tasks,
)


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("message.bpmn"), DESIGNER)
    e.deploy(bundle("parent.bpmn"), DESIGNER)
    return e


def test_a_message_reaches_the_waiting_case(engine: Engine, db: Database) -> None:
    engine.start("feedback", "M-1", {}, ALICE)
    engine.start("feedback", "M-2", {}, ALICE)
    with pytest.raises(NotFound):
        engine.deliver_message("citizen_feedback", "M-404", {}, ALICE)
    with pytest.raises(NotFound):
        engine.deliver_message("other_message", "M-1", {}, ALICE)
    engine.deliver_message("citizen_feedback", "M-1", {"satisfied": False}, ALICE)
    task = only_task(db, "M-1")
    assert task.element_id == "review"
    assert instance(db, "M-1").data["satisfied"] is False
    assert "message_delivered" in event_types(db, "M-1")
    with pytest.raises(NotFound):  # no longer waiting
        engine.deliver_message("citizen_feedback", "M-1", {}, ALICE)
    assert open_tasks(db, "M-2") == []  # M-2 still waits for its own message


def test_call_activity_and_a_loop_around_it(engine: Engine, db: Database) -> None:
    engine.start("parent", "P-1", {}, ALICE)
    for _ in range(5):
        do(engine, only_task(db, "P-1", "c_task"), {"result": "x"})
        do(engine, only_task(db, "P-1", "after"), {"ok": False})
    do(engine, only_task(db, "P-1", "c_task"), {"result": "x"})
    do(engine, only_task(db, "P-1", "after"), {"ok": True})
    assert instance(db, "P-1").status == "completed"
    assert len(json.dumps(instance(db, "P-1").state)) < 20_000
