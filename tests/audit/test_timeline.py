"""Case timelines and diagram state, from a case the real engine ran and from written events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.audit.log import SYSTEM, Actor, AuditLog
from engine.audit.timeline import case_timeline, render_text
from engine.audit.verification import verify
from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import ALICE, BOB, DESIGNER, bundle, do, only_task

KEY = "k" * 40


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("loop.bpmn"), DESIGNER)
    return e


def test_a_run_case_has_a_timeline_and_a_verified_chain(
    engine: Engine, db: Database, clock: ManualClock
) -> None:
    engine.start("loop", "L-1", {"rounds": 0}, ALICE)
    task = only_task(db, "L-1", "handle")
    engine.claim(task.id, ALICE)
    engine.comment(task.id, "已联系双方当事人", ALICE)
    clock.advance(timedelta(hours=2))
    engine.complete(task.id, {"result": "第一次处置"}, ALICE)
    do(engine, only_task(db, "L-1", "check"), {"ok": False}, BOB)  # 返工
    do(engine, only_task(db, "L-1", "handle"), {"result": "第二次处置"})
    do(engine, only_task(db, "L-1", "check"), {"ok": True}, BOB)

    with db.session() as s:
        assert verify(s, KEY, case_no="L-1").ok  # the runtime's chain verifies
        timeline = case_timeline(s, "L-1")
    kinds = [step.event_type for step in timeline.steps]
    assert kinds[0] == "instance_started"
    assert kinds.count("task_completed") == 4
    comment = next(step for step in timeline.steps if step.event_type == "comment_added")
    assert (comment.comment, comment.actor, comment.org) == ("已联系双方当事人", "alice", "org-a")
    completed = next(step for step in timeline.steps if step.event_type == "task_completed")
    assert completed.title == "办理完成：处置"
    assert [(c.field, c.before, c.after) for c in completed.changes] == [
        ("result", None, "第一次处置")
    ]
    assert completed.at - timeline.steps[0].at == timedelta(hours=2)
    status = [step.title for step in timeline.steps if step.event_type == "case_updated"]
    assert any("状态：" in t and "已办结" in t for t in status), status
    handle = timeline.elements["handle"]
    assert (handle.status, handle.visits, handle.name) == ("completed", 2, "处置")
    assert timeline.elements["check"].visits == 2
    text = render_text(timeline)
    assert "已联系双方当事人" in text and "办理完成：核查" in text


def test_due_times_ladder_rungs_and_escalations(db: Database) -> None:
    t0 = datetime(2026, 10, 8, 1, 0, tzinfo=UTC)  # 09:00 Beijing
    grid = Actor("wang", "grid_worker", "grid-1")
    with db.session() as s:
        log = AuditLog(s, "D-1", None, t0, "/c/t/v/")
        log.add("instance_started", grid, data_after={"title": "邻里噪音"})
        log.add(
            "case_updated",
            grid,
            data_before={"status": "REPORTED", "tier": None},
            data_after={
                "status": "DISPATCHED",
                "tier": "village",
                "due_at": "2026-10-10T09:00:00+00:00",
            },
        )
        log.add(
            "task_created",
            SYSTEM,
            task_id="t1",
            element_id="sign_case",
            element_name="签收",
            due_at="2026-10-08T03:00:00+00:00",
        )
        log.flush()
    with db.session() as s:
        log = AuditLog(s, "D-1", None, t0 + timedelta(hours=5), "/c/t/v/")
        log.add(
            "task_completed",
            grid,
            task_id="t1",
            element_id="sign_case",
            element_name="签收",
            data_before={},
            data_after={},
            late=True,
            due_at="2026-10-08T03:00:00+00:00",
        )
        log.add(
            "case_updated",
            SYSTEM,
            data_before={"ladder_level": -1, "tier": "village", "escalation_count": 0},
            data_after={"ladder_level": 1, "tier": "township", "escalation_count": 1},
        )
        log.flush()
    with db.session() as s:
        timeline = case_timeline(s, "D-1")
    sign = timeline.steps[3]
    assert (sign.on_time, sign.due_at) == (False, datetime(2026, 10, 8, 3, 0, tzinfo=UTC))
    dispatched = timeline.steps[1]
    assert dispatched.title == (
        "状态：已上报 → 已交办；办理层级：— → 村(社区)；办理时限：— → 2026-10-10 17:00"
    )
    rung = timeline.steps[4]
    assert (rung.ladder, rung.escalation) == ("警示", "上报：村(社区) → 乡镇(街道)")
    assert timeline.elements["sign_case"].late
    with db.session() as s:
        log = AuditLog(s, "D-1", None, t0 + timedelta(days=3), "/c/t/v/")
        log.add("ladder_circular", SYSTEM, rung="circular", label="通报", level=2)
        log.add("tier_escalated", SYSTEM, tier_before="township", tier_after="county")
        log.flush()
    with db.session() as s:
        timeline = case_timeline(s, "D-1")
    circular, escalated = timeline.steps[-2:]
    assert (circular.title, circular.ladder) == ("督办：通报", "通报")
    assert escalated.escalation == "上报：乡镇(街道) → 县(区)"
    text = render_text(timeline)
    assert "时限 2026-10-08 11:00，超时" in text
    assert "督办等级：警示" in text and "上报：村(社区) → 乡镇(街道)" in text
