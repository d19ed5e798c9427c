"""The dispute loop's edge paths as practice runs them (issue 15), through the engine on both
databases; the driver reloads every step from the database (save → reload at each wait)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.clock import ManualClock
from engine.runtime import Engine
from tests.engine.support import case, instance
from tests.scenarios.support import GRID_WORKER

pytestmark = pytest.mark.clock


def start(driver: Driver, case_no: str, grid: str = "qs-dc-hp-01", **report: object) -> None:
    driver.start(case_no, sc.report(case_no, grid, **report), GRID_WORKER)


def open_ids(driver: Driver, case_no: str) -> list[str]:
    return sorted(t.element_id for t in driver.open_tasks(case_no))


def mediated_with_jc(driver: Driver, case_no: str, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, case_no)
    steps = [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3], sc.handle("mediate")]
    steps.append(sc.mediate(now.date().isoformat(), jc_requested=True))
    driver.run_all(case_no, steps)


def test_parties_who_applied_on_day_25_are_recorded_and_the_case_waits_for_the_ruling(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    mediated_with_jc(driver, "MD-JC25-1", clock)
    clock.advance(timedelta(days=25))
    assert not driver.fire_timers("MD-JC25-1")
    driver.run_all("MD-JC25-1", [sc.judicial_confirmation(clock.now())])
    assert open_ids(driver, "MD-JC25-1") == ["jc_ruling"]
    clock.advance(timedelta(days=10))  # day 35: the application window is over, the ruling not
    assert not driver.fire_timers("MD-JC25-1")
    assert open_ids(driver, "MD-JC25-1") == ["jc_ruling"]
    assert instance(dispute.db, "MD-JC25-1").data["jc_result"] == ""
    driver.run_all("MD-JC25-1", [sc.jc_ruling(clock.now()), sc.feedback()])
    data = instance(dispute.db, "MD-JC25-1").data
    assert (data["jc_result"], data["jc_ruling_no"]) == ("confirmed", "(2026)青西民特1号")
    assert open_ids(driver, "MD-JC25-1") == ["review_result"]


def test_without_an_application_the_window_expires_on_day_31_not_before(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    mediated_with_jc(driver, "MD-JC31-1", clock)
    clock.advance(timedelta(days=30))  # still day 30 in Beijing (the clock starts at 09:00)
    assert not driver.fire_timers("MD-JC31-1")
    assert open_ids(driver, "MD-JC31-1") == ["judicial_confirmation"]
    clock.advance(timedelta(days=1))  # day 31
    assert driver.fire_timers("MD-JC31-1")
    assert open_ids(driver, "MD-JC31-1") == ["feedback_result"]
    assert instance(dispute.db, "MD-JC31-1").data["jc_result"] == "expired"
    assert case(dispute.db, "MD-JC31-1").status == "FEEDBACK"
