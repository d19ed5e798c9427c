"""The ladder's rule triggers act, exactly once (issue 15): an improper 退单 → 通报; ≥3 overdue
cases of a unit in a month → 通报; a major risk unresolved past its limit → 督查. And the copy of
a 警示 reaches a real user: the unit's leader (the street's 包案领导)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.access import load_principal
from engine.clock import ManualClock
from engine.notify import list_notices
from engine.runtime import Engine
from engine.scheduler import Scheduler
from engine.storage.models import Case, SupervisionOrder
from engine.supervision import Supervision
from tests.engine.support import case, events
from tests.scenarios.support import GRID_WORKER

LEADER02 = [("qs-dc", "case_leader")]


@pytest.fixture
def supervision(dispute: Engine) -> Supervision:
    found = next(x for x in dispute.listeners if isinstance(x, Supervision))
    found.bind(dispute)
    return found


def orders(dispute: Engine, trigger: str) -> list[SupervisionOrder]:
    with dispute.db.session() as s:
        q = select(SupervisionOrder).where(SupervisionOrder.trigger == trigger)
        return list(s.scalars(q.order_by(SupervisionOrder.issued_at)))


def run_triggers(dispute: Engine, supervision: Supervision, clock: ManualClock) -> int:
    with dispute.db.session() as s:
        return supervision.run_triggers(s, clock.now())


def test_an_improper_return_is_circulated_once(
    dispute: Engine, driver: Driver, supervision: Supervision
) -> None:
    driver.start("MD-IRT-1", sc.report("MD-IRT-1"), GRID_WORKER)
    driver.run_all("MD-IRT-1", [sc.screen(), sc.dispatch("qs-dc-pcs"), sc.request_return()])
    assert orders(dispute, "improper_return") == []
    driver.run_all("MD-IRT-1", [sc.review_return(False)])
    [circular] = orders(dispute, "improper_return")
    assert (circular.kind, circular.target_org, circular.case_no) == (
        "circular", "qs-dc-pcs", "MD-IRT-1",
    )  # fmt: skip
    assert "理由不成立" in circular.body
    kinds = [e.event_type for e in events(dispute.db, "MD-IRT-1")]
    assert kinds.count("supervision_circular_issued") == 1


def test_a_proper_return_is_not_circulated(dispute: Engine, driver: Driver) -> None:
    driver.start("MD-IRT-2", sc.report("MD-IRT-2"), GRID_WORKER)
    driver.run_all("MD-IRT-2", [sc.screen(), sc.dispatch("qs-dc-pcs"), sc.request_return(),
                                sc.review_return(True)])  # fmt: skip
    assert orders(dispute, "improper_return") == []


@pytest.mark.clock
def test_three_overdue_cases_of_a_unit_in_a_month_make_one_circular(
    dispute: Engine, driver: Driver, supervision: Supervision, clock: ManualClock
) -> None:
    now = clock.now()
    for n in (1, 2, 3):
        no = f"MD-OVD-{n}"
        driver.start(no, sc.report(no), GRID_WORKER)
        driver.run_all(no, [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    due = max(case(dispute.db, f"MD-OVD-{n}").due_at or now for n in (1, 2, 3))
    with dispute.db.session() as s:  # two overdue: not yet
        first = s.get(Case, "MD-OVD-1")
        assert first is not None and first.handling_unit == "qs-dc-hp-01"
    clock.set(due - timedelta(minutes=1))
    assert run_triggers(dispute, supervision, clock) == 0
    clock.set(due + timedelta(hours=1))
    assert run_triggers(dispute, supervision, clock) == 1
    assert run_triggers(dispute, supervision, clock) == 0  # exactly once a month
    [circular] = orders(dispute, "overdue_cases")
    assert (circular.kind, circular.target_org, circular.case_no) == (
        "circular", "qs-dc-hp-01", None,
    )  # fmt: skip
    assert "3 件" in circular.title


def test_a_major_risk_unresolved_past_its_limit_calls_an_inspection_once(
    dispute: Engine, driver: Driver, supervision: Supervision, clock: ManualClock
) -> None:
    now = clock.now()
    driver.start("MD-MRK-1", sc.report("MD-MRK-1", risk_flags=["criminal_risk"]), GRID_WORKER)
    driver.start("MD-MRK-2", sc.report("MD-MRK-2"), GRID_WORKER)
    for no in ("MD-MRK-1", "MD-MRK-2"):
        driver.run_all(no, [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    due = case(dispute.db, "MD-MRK-1").due_at
    assert due is not None
    clock.set(due - timedelta(minutes=1))
    run_triggers(dispute, supervision, clock)
    assert orders(dispute, "major_risk") == []
    clock.set(due + timedelta(minutes=1))
    run_triggers(dispute, supervision, clock)
    run_triggers(dispute, supervision, clock)
    [inspection] = orders(dispute, "major_risk")
    assert (inspection.kind, inspection.case_no, inspection.state) == (
        "inspection", "MD-MRK-1", "scheduled",
    )  # fmt: skip


def test_the_copy_of_a_warning_reaches_the_units_leader(
    dispute: Engine, driver: Driver, supervision: Supervision, clock: ManualClock
) -> None:
    now = clock.now()
    driver.start("MD-CC-1", sc.report("MD-CC-1"), GRID_WORKER)
    driver.run_all("MD-CC-1", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    due = case(dispute.db, "MD-CC-1").due_at
    assert due is not None
    scheduler = Scheduler(dispute.db, engine=dispute, clock=clock, owner="t",
                          handlers=supervision.due_handlers())  # fmt: skip
    clock.set(due + timedelta(minutes=1))
    scheduler.sweep_once()
    with dispute.db.session() as s:
        seen = list_notices(s, "leader02", LEADER02, case_no="MD-CC-1")["items"]
        stranger = list_notices(s, "leader03", [("qs-xh", "case_leader")], case_no="MD-CC-1")
    assert "ladder_warning_cc" in [n["kind"] for n in seen]
    [cc] = [n for n in seen if n["kind"] == "ladder_warning_cc"]
    assert (cc["recipient_org"], cc["recipient_role"]) == ("qs-dc", "case_leader")
    assert stranger["items"] == []


def test_a_listed_case_unanswered_goes_straight_to_inspection_in_the_cases_chain(
    dispute: Engine, driver: Driver, supervision: Supervision, clock: ManualClock
) -> None:
    driver.start("MD-LST-1", sc.report("MD-LST-1"), GRID_WORKER)
    driver.run_all("MD-LST-1", [sc.screen(), sc.dispatch("qs-dc-pcs")])
    with dispute.db.session() as s:
        boss = load_principal(s, "super01")
    assert boss is not None
    listed = supervision.issue_order(boss, kind="listed", case_no="MD-LST-1", title="挂牌督办",
                                     limit_days=1)  # fmt: skip
    assert (listed["target_org"], listed["level"]) == ("qs-dc-pcs", 1)
    due = datetime.fromisoformat(str(listed["due_at"]))
    scheduler = Scheduler(dispute.db, engine=dispute, clock=clock, owner="t",
                          handlers=supervision.due_handlers())  # fmt: skip
    clock.set(due + timedelta(seconds=1))
    scheduler.sweep_once()
    after = supervision.get_order(boss, str(listed["id"]))
    assert (after["level"], after["rung"], after["state"]) == (4, "督查", "open")
    kinds = [e.event_type for e in events(dispute.db, "MD-LST-1")]
    assert kinds.count("supervision_listed_issued") == 1
    assert kinds.count("supervision_order_escalated") == 1
    clock.advance(timedelta(days=30))
    scheduler.sweep_once()  # at 督查 it climbs no further
    assert [e.event_type for e in events(dispute.db, "MD-LST-1")].count(
        "supervision_order_escalated"
    ) == 1
