"""Human-task operations and their error cases; the projection and the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.errors import (
    Conflict,
    FormInvalid,
    InputInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    TaskAlreadyClaimed,
    TaskNotOpen,
)
from engine.reads import element_states
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import Definition, HumanTask, Instance, TaskComment
from tests.engine.support import (
    ALICE,
    BOB,
    DESIGNER,
    bundle,
    case,
    do,
    event_types,
    events,
    instance,
    only_task,
)


def overlay(engine: Engine, db: Database, inst: Instance) -> dict[str, str]:
    """The case detail's diagram overlay of the instance."""
    with db.session() as s:
        definition = s.get(Definition, inst.definition_id)
        assert definition is not None
        return element_states(engine, definition, inst)


def only_task_any(db: Database, case_no: str) -> HumanTask:
    """The case's one task row, whatever its state."""
    with db.session() as s:
        return s.scalars(select(HumanTask).where(HumanTask.case_no == case_no)).one()


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("loop.bpmn"), DESIGNER)
    return e


def test_start_steps_until_a_human_task_waits(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0, "title": "邻里纠纷"}, ALICE)
    task = only_task(db, "C-1")
    assert (task.element_id, task.name, task.lane, task.state) == (
        "handle",
        "处置",
        "handler",
        "open",
    )
    assert (task.form_ref, task.ui_form_ref, task.priority) == (
        "handle.schema.json",
        "handle.uischema.json",
        70,
    )
    assert task.candidate_role == "handler"
    c = case(db, "C-1")
    assert (c.status, c.title) == ("IN_PROGRESS", "邻里纠纷")
    assert event_types(db, "C-1") == ["instance_started", "task_created", "case_updated"]
    started = events(db, "C-1")[0]
    # what the engine ran on its own is listed in the command's event (no row of its own)
    assert started.details["ran"] == ["start"] and started.instance_id is not None
    created = events(db, "C-1")[-1]
    assert created.data_before == {}
    assert created.data_after is not None and created.data_after["status"] == "IN_PROGRESS"


def test_duplicate_case_number_is_refused(engine: Engine) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    with pytest.raises(Conflict, match="already exists"):
        engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    with pytest.raises(InputInvalid):
        engine.start("loop", "", {"rounds": 0}, ALICE)
    with pytest.raises(NotFound):
        engine.start("nope", "C-2", {}, ALICE)


def test_claim_unclaim_assign_complete_and_their_errors(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    task = only_task(db, "C-1")
    with pytest.raises(PermissionDenied):  # not claimed yet
        engine.complete(task.id, {"result": "x"}, ALICE)
    engine.claim(task.id, ALICE)
    engine.claim(task.id, ALICE)  # claiming again is harmless for the same person
    with pytest.raises(TaskAlreadyClaimed):
        engine.claim(task.id, BOB)
    with pytest.raises(PermissionDenied):
        engine.unclaim(task.id, BOB)
    with pytest.raises(PermissionDenied):
        engine.complete(task.id, {"result": "x"}, BOB)
    engine.unclaim(task.id, ALICE)
    with pytest.raises(TaskNotOpen):
        engine.unclaim(task.id, ALICE)
    with pytest.raises(InputInvalid):
        engine.assign(task.id, "bob", "", ALICE)
    engine.assign(task.id, "bob", "休假，转交 (on leave)", ALICE)
    assert only_task(db, "C-1").assignee == "bob"
    engine.complete(task.id, {"result": "已调解"}, BOB)
    with pytest.raises(TaskNotOpen):
        engine.complete(task.id, {"result": "again"}, BOB)
    with pytest.raises(TaskNotOpen):
        engine.claim(task.id, ALICE)
    with pytest.raises(NotFound):
        engine.claim("no-such-task", ALICE)
    nxt = only_task(db, "C-1")
    assert nxt.element_id == "check"
    types = event_types(db, "C-1")
    for expected in ("task_claimed", "task_unclaimed", "task_assigned", "task_completed"):
        assert expected in types


def test_invalid_form_data_is_refused_with_field_paths_and_nothing_changes(
    engine: Engine, db: Database
) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    task = only_task(db, "C-1")
    engine.claim(task.id, ALICE)
    before = event_types(db, "C-1")
    with pytest.raises(FormInvalid) as caught:
        engine.complete(task.id, {"round": -1, "extra": 1}, ALICE)
    paths = {e.path for e in caught.value.errors}
    assert paths == {"/result", "/round", "/extra"}
    assert only_task(db, "C-1").state == "claimed"
    assert event_types(db, "C-1") == before


def test_completion_records_data_before_and_after(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    do(engine, only_task(db, "C-1"), {"result": "第一次"})
    done = next(e for e in events(db, "C-1") if e.event_type == "task_completed")
    assert done.actor_user == "alice" and done.actor_role == "handler" and done.actor_org == "org-a"
    # an empty value before is left out (a reader's before.get() is None all the same)
    assert done.data_before == {} and done.data_after == {"result": "第一次"}
    assert done.element_id == "handle"


def test_comments(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    task = only_task(db, "C-1")
    made = engine.comment(task.id, "已电话联系当事人", BOB)
    assert isinstance(made, TaskComment) and made.author == "bob"
    with pytest.raises(InputInvalid):
        engine.comment(task.id, "   ", BOB)
    assert "comment_added" in event_types(db, "C-1")


def test_suspend_resume_cancel(engine: Engine, db: Database) -> None:
    inst = engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    task = only_task(db, "C-1")
    with pytest.raises(InputInvalid):
        engine.suspend(inst.id, "", ALICE)
    engine.suspend(inst.id, "等待鉴定结论 (waiting for an expert report)", ALICE)
    assert case(db, "C-1").status == "SUSPENDED"
    with pytest.raises(InstanceNotActive):  # no work on a suspended case: not even a claim
        engine.claim(task.id, ALICE)
    engine.comment(task.id, "挂账期间跟进 (follow-up while suspended)", ALICE)
    engine.resume(inst.id, None, ALICE)
    engine.claim(task.id, ALICE)
    engine.suspend(inst.id, "再次挂账 (suspended again)", ALICE)
    with pytest.raises(InstanceNotActive):
        engine.complete(task.id, {"result": "x"}, ALICE)
    with pytest.raises(InstanceNotActive):
        engine.suspend(inst.id, "again", ALICE)
    engine.resume(inst.id, None, ALICE)
    assert case(db, "C-1").status == "IN_PROGRESS"
    engine.cancel(inst.id, "当事人撤回 (withdrawn)", ALICE)
    assert case(db, "C-1").status == "CANCELLED"
    assert only_task.__name__  # the open task was withdrawn:
    from tests.engine.support import open_tasks

    assert open_tasks(db, "C-1") == []
    with pytest.raises(InstanceNotActive):
        engine.resume(inst.id, None, ALICE)
    types = event_types(db, "C-1")
    assert {"instance_suspended", "instance_resumed", "instance_cancelled"} <= set(types)


def test_closing_the_loop_sets_the_terminal_status(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    do(engine, only_task(db, "C-1"), {"result": "调解成功"})
    do(engine, only_task(db, "C-1"), {"ok": True})
    c = case(db, "C-1")
    assert c.status == "CLOSED" and c.closed_at is not None
    assert event_types(db, "C-1")[-2:] == ["instance_completed", "case_updated"]
    last_completion = [e for e in events(db, "C-1") if e.event_type == "task_completed"][-1]
    assert last_completion.details["ran"] == ["count", "gw", "close", "end"]
    assert "engine_transitions" not in event_types(db, "C-1")
    closing = events(db, "C-1")[-1]
    assert closing.data_before is not None and closing.data_before["status"] == "VERIFYING"
    assert closing.data_after is not None and closing.data_after["status"] == "CLOSED"


def test_a_finished_instance_keeps_its_overlay_not_its_state(engine: Engine, db: Database) -> None:
    engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    running = instance(db, "C-1")
    assert running.state and running.element_states is None
    assert overlay(engine, db, running) == {"handle": "active", "start": "completed"}
    do(engine, only_task(db, "C-1"), {"result": "调解成功"})
    do(engine, only_task(db, "C-1"), {"ok": True})
    done = instance(db, "C-1")
    assert done.status == "completed" and done.state == {}
    assert done.data["result"] == "调解成功"  # the data stays
    assert overlay(engine, db, done) == {
        e: "completed" for e in ("check", "close", "count", "end", "gw", "handle", "start")
    }
    # a finished instance is never loaded again: every command refuses it first
    with pytest.raises(InstanceNotActive):
        engine.fire_due_timers(done.id)
    # a closed task keeps who, when and how; not its lane or deadline explanation
    with db.session() as s:
        closed = s.scalars(select(HumanTask).where(HumanTask.case_no == "C-1")).all()
    assert {(t.state, t.lane, t.due_rule) for t in closed} == {("completed", None, None)}
    assert all(t.completed_by and t.completed_at and t.element_id for t in closed)


def test_a_cancelled_instance_keeps_its_overlay(engine: Engine, db: Database) -> None:
    inst = engine.start("loop", "C-1", {"rounds": 0}, ALICE)
    engine.cancel(inst.id, "重复上报 (reported twice)", ALICE)
    done = instance(db, "C-1")
    assert done.status == "cancelled" and done.state == {}
    assert overlay(engine, db, done) == {"start": "completed"}  # as the cancelled workflow shows
    withdrawn = only_task_any(db, "C-1")
    assert (withdrawn.state, withdrawn.lane) == ("cancelled", None)
