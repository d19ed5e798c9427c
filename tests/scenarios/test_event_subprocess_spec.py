"""A triggered event sub-process leaves the shared process spec as it was.

The engine restores one spec per definition version and every instance of that version runs on
it. SpiffWorkflow 3.2.0, when a message starts an event sub-process, wires the sub-process into
the spec itself (``Start`` gains it as an output): every workflow started afterwards in the same
process then spawns that sub-process at its start, waiting for a message that never comes, and
never completes. And a spec restored afresh (a restart, another worker) lacked that wiring, so
an extension requested before the restart failed when it was approved after it ("No input task
connected"). These cases run one after the other in one engine, as a server runs them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit import Actor
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.runtime import Engine
from engine.runtime.definitions import latest, list_definitions
from engine.settings import Settings
from engine.spiff import RestoredSpec
from tests.engine.support import case, instance
from tests.scenarios.support import GRID_WORKER, counts, end_reopen_window


@pytest.fixture(params=["reload", "cached"])
def driver(request: pytest.FixtureRequest, dispute: Engine) -> Driver:
    return Driver(dispute, reload=request.param == "reload")


def start(driver: Driver, case_no: str) -> None:
    driver.start(case_no, sc.report(case_no), GRID_WORKER)


def extension_approved(driver: Driver, case_no: str, now: datetime) -> None:
    """The case is handled up to 处置 and gets a 5-day 延期申请 approved beside the main path."""
    start(driver, case_no)
    driver.run_all(case_no, [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    driver.message(case_no, "extension_request", {"requested_days": 5, "reason": "外出务工。"})
    driver.run_all(case_no, [sc.approve_extension(True, 5)])
    assert counts(driver.engine.db, case_no, "deadline_extended") == {"deadline_extended": 1}


def hang_approved_and_resumed(driver: Driver, case_no: str, clock: ManualClock) -> None:
    """The case gets a 挂账 approved (which suspends it) and is resumed by the centre."""
    start(driver, case_no)
    driver.run_all(case_no, [sc.screen(), *sc.handling("qs-dc-hp-01", clock.now())[:3]])
    driver.message(case_no, "hang_request", {"requested_days": 90, "reason": "待法院判决。"})
    driver.run_all(case_no, [sc.approve_hang(True, 90)])
    county = Actor("county01", "county_center", "qs-zzzx")
    driver.engine.resume(instance(driver.engine.db, case_no).id, "判决已下达", county)


def finish(driver: Driver, case_no: str, now: datetime) -> None:
    driver.run_all(case_no, [sc.handle(), sc.feedback(), *sc.closing(now)])


def assert_completed(engine: Engine, case_no: str) -> None:
    c = case(engine.db, case_no)
    assert (c.status, c.closed_at is not None) == ("CLOSED", True)
    end_reopen_window(engine, case_no)
    assert instance(engine.db, case_no).status == "completed"
    assert counts(engine.db, case_no, "instance_completed") == {"instance_completed": 1}


def cached_spec(engine: Engine) -> RestoredSpec:
    with engine.db.session() as s:
        return engine.cache.spec(latest(s, "dispute"))


def test_a_later_case_completes_after_an_approved_extension(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    extension_approved(driver, "MD-EXT-A", now)
    start(driver, "MD-EXT-B")
    driver.run_all("MD-EXT-B", sc.main_path(now))
    assert_completed(dispute, "MD-EXT-B")
    assert driver.open_tasks("MD-EXT-B") == []
    # and A itself still runs to its end in the same engine
    finish(driver, "MD-EXT-A", now)
    assert_completed(dispute, "MD-EXT-A")


def test_the_extended_case_completes_in_a_fresh_engine(
    dispute: Engine, driver: Driver, clock: ManualClock, settings: Settings
) -> None:
    now = clock.now()
    extension_approved(driver, "MD-EXT-A", now)
    # A fresh engine: its own spec cache restores the definition again (a restart, or another
    # worker). A's end, another case's extension and a case started after it all run there.
    fresh = build_engine(settings, clock=clock)
    try:
        other = Driver(fresh, reload=driver.reload)
        finish(other, "MD-EXT-A", now)
        assert_completed(fresh, "MD-EXT-A")
        extension_approved(other, "MD-EXT-C", now)
        start(other, "MD-EXT-D")
        other.run_all("MD-EXT-D", sc.main_path(now))
        finish(other, "MD-EXT-C", now)
        for case_no in ("MD-EXT-C", "MD-EXT-D"):
            assert_completed(fresh, case_no)
    finally:
        fresh.db.dispose()


def test_an_extension_requested_before_a_restart_is_approved_after_it(
    dispute: Engine, driver: Driver, clock: ManualClock, settings: Settings
) -> None:
    now = clock.now()
    start(driver, "MD-EXT-A")
    driver.run_all("MD-EXT-A", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    driver.message("MD-EXT-A", "extension_request", {"requested_days": 5, "reason": "外出务工。"})
    # the approval waits; the engine restarts with a fresh spec cache (or another worker takes it)
    fresh = build_engine(settings, clock=clock)
    try:
        other = Driver(fresh, reload=driver.reload)
        other.run_all("MD-EXT-A", [sc.approve_extension(True, 5)])
        assert counts(fresh.db, "MD-EXT-A", "deadline_extended") == {"deadline_extended": 1}
        finish(other, "MD-EXT-A", now)
        assert_completed(fresh, "MD-EXT-A")
    finally:
        fresh.db.dispose()


def _shape(restored: RestoredSpec) -> dict[str, Any]:
    """What a run could change in a restored spec: every task spec's inputs and outputs."""
    specs = [restored.spec, *restored.subprocess_specs.values()]
    return {
        f"{spec.name}/{name}": (
            sorted(s.name for s in task_spec.inputs),
            sorted(s.name for s in task_spec.outputs),
        )
        for spec in specs
        for name, task_spec in spec.task_specs.items()
    }


def test_every_event_subprocess_leaves_the_cached_specs_as_restored(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    with dispute.db.session() as s:
        definitions = list_definitions(s)
    cached = {d.process_id: dispute.cache.spec(d) for d in definitions}
    fresh = {name: RestoredSpec(restored.stored) for name, restored in cached.items()}
    triggers = {name: list(r.spec.start.trigger_specs) for name, r in fresh.items()}
    # every shipped event sub-process is run below
    assert {name: t for name, t in triggers.items() if t} == {
        "dispute": ["esp_extension", "esp_hang"]
    }
    outputs = [s.name for s in fresh["dispute"].spec.start.outputs]
    extension_approved(driver, "MD-EXT-A", clock.now())
    hang_approved_and_resumed(driver, "MD-HNG-A", clock)
    finish(driver, "MD-EXT-A", clock.now())
    finish(driver, "MD-HNG-A", clock.now())
    for case_no in ("MD-EXT-A", "MD-HNG-A"):
        assert_completed(dispute, case_no)
    assert cached_spec(dispute) is cached["dispute"]  # the cases ran on this very spec
    assert [s.name for s in cached["dispute"].spec.start.outputs] == outputs
    for name, restored in cached.items():
        assert restored.spec.start.trigger_specs == triggers[name]
        assert _shape(restored) == _shape(fresh[name]), name
