"""Working hours are counted within the office hours of the organisation that holds the task
(``attributes.office_hours`` in the organisation file; the calendar's default otherwise)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit.log import Actor
from engine.clock import CHINA, ManualClock
from engine.runtime import Engine
from engine.storage.models import HumanTask, OrgUnit

GRID_WORKER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


def _sign_due(dispute: Engine, case_no: str) -> str:
    with dispute.db.session() as s:
        task = s.scalars(
            select(HumanTask).where(
                HumanTask.case_no == case_no, HumanTask.element_id == "sign_case"
            )
        ).one()
        assert task.due_at is not None
        return task.due_at.astimezone(CHINA).strftime("%m-%d %H:%M")


def test_a_seven_by_twenty_four_unit_counts_the_evening(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    with dispute.db.session() as s:
        unit = s.get(OrgUnit, "qs-dc-hp-01")
        assert unit is not None
        unit.attributes = {**unit.attributes, "office_hours": ["00:00-24:00"]}
    clock.advance(timedelta(hours=8))  # Monday 2026-03-02 17:00 in Beijing
    for case_no, unit_id in (("OH-2026-0001", "qs-dc-hp-01"), ("OH-2026-0002", "qs-dc-hp-02")):
        dispute.start("dispute", case_no, sc.report(case_no, grid=unit_id), GRID_WORKER)
        list(driver.run(case_no, [sc.screen(), sc.handling(unit_id, clock.now())[0]]))
    # blue 签收: 2 working hours. The 7×24 grid: 19:00 the same evening; the other grid keeps
    # the default windows (…–17:30, then 08:30–): half an hour today, 1.5 h tomorrow morning.
    assert _sign_due(dispute, "OH-2026-0001") == "03-02 19:00"
    assert _sign_due(dispute, "OH-2026-0002") == "03-03 10:00"
