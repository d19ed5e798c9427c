"""A tier's time is up: the supervision ladder tells the workflow, which escalates itself.

A policy with ``dispute.tier_grid: [working_days, 1]`` (domain §5.2: 小事 not resolved within one
working day goes up; the shipped ``deadlines.yaml`` has no tier steps yet). When the scheduler
fires the ``tier_due`` item, the handler delivers message ``tier_timeout`` through the engine; the
interrupting boundary event on 签收/联系当事人/处置 leads to ``record_tier_timeout`` →
``escalate_tier``, and the case goes back to 交办, now owned by the village.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit import Actor
from engine.clock import CHINA, ManualClock
from engine.runtime import Engine
from engine.scheduler import Scheduler
from engine.settings import Settings
from engine.storage.models import DueItem
from engine.supervision import Supervision
from tests.engine.support import case, events, instance
from tests.scenarios.support import GRID_WORKER, counts, details, end_reopen_window, transitions

TIER_GRID = """  dispute.tier_grid:
    title: 网格办理时限
    limits: [working_days, 1]

"""


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    shipped = Settings(database_url=db_url, demo=True)
    policy = tmp_path / "deadlines.yaml"
    text = shipped.deadlines_file.read_text(encoding="utf-8")
    if "dispute.tier_grid:" not in text:  # the shipped policy has it; keep the test explicit
        text = text.replace("steps:\n", "steps:\n" + TIER_GRID, 1)
    policy.write_text(text, encoding="utf-8")
    return Settings(database_url=db_url, demo=True, deadlines_file=policy)


@pytest.fixture
def supervision(dispute: Engine) -> Supervision:
    found = next(x for x in dispute.listeners if isinstance(x, Supervision))
    found.bind(dispute)
    return found


@pytest.fixture
def scheduler(dispute: Engine, supervision: Supervision, clock: ManualClock) -> Scheduler:
    return Scheduler(
        dispute.db,
        engine=dispute,
        clock=clock,
        owner="sweeper",
        handlers=supervision.due_handlers(),
    )


def tier_items(dispute: Engine, case_no: str) -> list[DueItem]:
    with dispute.db.session() as s:
        return list(
            s.scalars(
                select(DueItem)
                .where(DueItem.case_no == case_no, DueItem.kind == "tier_due")
                .order_by(DueItem.due_at)
            )
        )


def test_a_grid_case_not_resolved_in_time_moves_up_to_the_village(
    dispute: Engine, driver: Driver, scheduler: Scheduler, clock: ManualClock
) -> None:
    now = clock.now()
    driver.start("MD-TTO-1", sc.report("MD-TTO-1"), GRID_WORKER)
    driver.run_all("MD-TTO-1", [sc.screen(), sc.dispatch("qs-dc-hp-01"), sc.sign()])
    [item] = tier_items(dispute, "MD-TTO-1")
    assert (item.state, item.payload["tier"], item.payload["step"]) == (
        "pending", "grid", "dispute.tier_grid",
    )  # fmt: skip
    scheduler.sweep_once(item.due_at - timedelta(minutes=1))
    assert case(dispute.db, "MD-TTO-1").tier == "grid"
    clock.set(item.due_at + timedelta(seconds=1))
    scheduler.sweep_once()
    # the workflow escalated itself: 联系当事人 withdrawn, 交办 open at the village
    [task] = driver.open_tasks("MD-TTO-1")
    assert (task.element_id, task.candidate_org, task.candidate_role) == (
        "dispatch_case", "qs-dc-hp", "village_cmte",
    )  # fmt: skip
    c = case(dispute.db, "MD-TTO-1")
    assert (c.tier, c.escalation_count, c.status) == ("village", 1, "REGISTERED")
    data = instance(dispute.db, "MD-TTO-1").data
    assert data["escalation_history"] == [
        {"from": "grid", "to": "village", "kind": "escalate", "reason": data["escalation_reason"]}
    ]
    assert data["escalation_reason"].startswith("超时自动上报")
    assert data["tier_timeout"]["tier"] == "grid"
    [timeout] = details(dispute.db, "MD-TTO-1", "tier_timeout")
    assert (timeout["tier"], timeout["step"]) == ("grid", "dispute.tier_grid")
    [withdrawn] = details(dispute.db, "MD-TTO-1", "task_withdrawn")
    assert withdrawn["element_id"] == "first_contact"
    after = [e.event_type for e in events(dispute.db, "MD-TTO-1")]
    timed_out = after.index("tier_timeout")
    assert timed_out < after.index("message_delivered") < after.index("task_withdrawn")
    assert "tier_escalated" not in after  # the case row is no longer overridden
    assert transitions(dispute.db, "MD-TTO-1", "tier") == ["grid", "village"]
    assert [i.state for i in tier_items(dispute, "MD-TTO-1")] == ["done"]  # no tier_village
    # the village takes it from here and resolves it
    driver.run_all("MD-TTO-1", [*sc.handling("qs-dc-hp", now), *sc.closing(clock.now())])
    assert driver.holders("MD-TTO-1")[3:] == [
        "village01", "village01", "village01", "village01", "village01", "village01", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-TTO-1")
    assert (c.status, c.tier, c.resolved_tier, c.escalation_count) == (
        "CLOSED", "village", "village", 1,
    )  # fmt: skip
    end_reopen_window(dispute, "MD-TTO-1")
    assert counts(dispute.db, "MD-TTO-1", "instance_completed") == {"instance_completed": 1}


def test_a_case_waiting_for_dispatch_is_escalated_once_it_reaches_a_handling_step(
    dispute: Engine, driver: Driver, scheduler: Scheduler, clock: ManualClock
) -> None:
    driver.start("MD-TTO-2", sc.report("MD-TTO-2"), GRID_WORKER)
    driver.run_all("MD-TTO-2", [sc.screen()])
    [item] = tier_items(dispute, "MD-TTO-2")
    clock.set(item.due_at + timedelta(seconds=1))
    scheduler.sweep_once()
    assert case(dispute.db, "MD-TTO-2").tier == "grid"  # 交办 is the village's own step
    [deferred] = details(dispute.db, "MD-TTO-2", "tier_timeout_deferred")
    assert (deferred["tier"], deferred["status"]) == ("grid", "REGISTERED")
    driver.run_all("MD-TTO-2", [sc.dispatch("qs-dc-hp-01")])
    scheduler.sweep_once(clock.now() + timedelta(hours=1, seconds=1))
    c = case(dispute.db, "MD-TTO-2")
    assert (c.tier, c.escalation_count) == ("village", 1)
    assert [t.element_id for t in driver.open_tasks("MD-TTO-2")] == ["dispatch_case"]
    assert counts(dispute.db, "MD-TTO-2", "tier_timeout", "tier_timeout_deferred") == {
        "tier_timeout": 1,
        "tier_timeout_deferred": 1,
    }


def pending_tier_items(dispute: Engine, case_no: str) -> list[DueItem]:
    return [i for i in tier_items(dispute, case_no) if i.state == "pending"]


def test_an_approved_hang_stops_the_tier_clock_and_resume_restores_its_remaining_time(
    dispute: Engine, driver: Driver, scheduler: Scheduler, clock: ManualClock
) -> None:
    """Reproduced in issue 15: the grid's tier timer fired during the 挂账 and the case was
    escalated within two hours of resuming."""
    now = clock.now()
    driver.start("MD-TCH-1", sc.report("MD-TCH-1"), GRID_WORKER)
    driver.run_all("MD-TCH-1", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    [item] = pending_tier_items(dispute, "MD-TCH-1")
    driver.message("MD-TCH-1", "hang_request", {"requested_days": 90, "reason": "待法院判决。"})
    driver.run_all("MD-TCH-1", [sc.approve_hang(True, 90)])
    assert pending_tier_items(dispute, "MD-TCH-1") == []  # the tier clock is stopped
    [stopped] = details(dispute.db, "MD-TCH-1", "tier_clock_suspended")
    assert (stopped["tier"], stopped["due_at"]) == ("grid", item.due_at.isoformat())
    # thirty days of suspension: nothing fires, the case stays with the grid
    clock.advance(timedelta(days=30))
    scheduler.sweep_once()
    assert case(dispute.db, "MD-TCH-1").tier == "grid"
    inst = instance(dispute.db, "MD-TCH-1")
    driver._fresh()
    dispute.resume(inst.id, "判决已下达", Actor("county01", "county_center", "qs-zzzx"))
    [resumed] = pending_tier_items(dispute, "MD-TCH-1")
    assert resumed.due_at > clock.now() + timedelta(hours=2)  # not escalated right after
    assert resumed.due_at - item.due_at >= timedelta(days=30)
    [event] = details(dispute.db, "MD-TCH-1", "tier_clock_resumed")
    assert event["due_before"] == item.due_at.isoformat()
    assert event["due_after"] == resumed.due_at.isoformat()
    scheduler.sweep_once(resumed.due_at - timedelta(minutes=1))
    assert case(dispute.db, "MD-TCH-1").tier == "grid"
    clock.set(resumed.due_at + timedelta(seconds=1))
    scheduler.sweep_once()
    c = case(dispute.db, "MD-TCH-1")
    assert (c.tier, c.escalation_count) == ("village", 1)
    assert counts(dispute.db, "MD-TCH-1", "tier_timeout") == {"tier_timeout": 1}


def test_an_approved_extension_moves_the_tier_deadline_by_the_days_granted(
    dispute: Engine, driver: Driver, scheduler: Scheduler, clock: ManualClock
) -> None:
    """Reproduced in issue 15: a grid case granted 5 days was escalated after 1."""
    now = clock.now()
    driver.start("MD-TCE-1", sc.report("MD-TCE-1"), GRID_WORKER)
    driver.run_all("MD-TCE-1", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    [item] = pending_tier_items(dispute, "MD-TCE-1")
    driver.message("MD-TCE-1", "extension_request", {"requested_days": 5, "reason": "外出务工。"})
    driver.run_all("MD-TCE-1", [sc.approve_extension(True, 5)])
    [moved] = pending_tier_items(dispute, "MD-TCE-1")
    [event] = details(dispute.db, "MD-TCE-1", "tier_deadline_extended")
    assert (event["amount"], event["due_before"]) == (5, item.due_at.isoformat())
    assert event["due_after"] == moved.due_at.isoformat()
    # five more working days: at least a calendar week later, on the working-day calendar
    assert moved.due_at - item.due_at >= timedelta(days=7)
    supervision = next(x for x in dispute.listeners if isinstance(x, Supervision))
    assert supervision.calendar.is_workday(moved.due_at.astimezone(CHINA).date())
    # the old due time passes without escalation; the new one escalates
    clock.set(item.due_at + timedelta(days=1))
    scheduler.sweep_once()
    assert case(dispute.db, "MD-TCE-1").tier == "grid"
    clock.set(moved.due_at + timedelta(seconds=1))
    scheduler.sweep_once()
    c = case(dispute.db, "MD-TCE-1")
    assert (c.tier, c.escalation_count) == ("village", 1)
