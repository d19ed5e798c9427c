"""The shipped dispute loop, resolved at the grid, driven through the engine as real users."""

from __future__ import annotations

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine
from tests.engine.support import case, event_types
from tests.scenarios.support import end_reopen_window

GRID_WORKER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


def test_resolved_at_the_grid_and_closed_after_a_satisfied_revisit(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    dispute.start("dispute", "MD-2026-0001", sc.report("MD-2026-0001"), GRID_WORKER)
    assert case(dispute.db, "MD-2026-0001").status == "SCREENING"
    holders = [a.user_id for a in driver.run("MD-2026-0001", sc.main_path(clock.now()))]
    assert holders == [
        "town01", "village01", "grid01", "grid01", "grid01", "grid01", "village01", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-2026-0001")
    assert (c.status, c.tier, c.resolved_tier, c.satisfaction, c.eval_excluded) == (
        "CLOSED", "grid", "grid", 4, False,
    )  # fmt: skip
    assert c.org_path == "/qs/qs-dc/qs-dc-hp/qs-dc-hp-01/"
    types = event_types(dispute.db, "MD-2026-0001")
    assert types.count("task_completed") == 8
    # 办结: the case is closed; the instance waits out the 30-day reopening window, then ends
    assert "instance_completed" not in types
    end_reopen_window(dispute, "MD-2026-0001")
    assert event_types(dispute.db, "MD-2026-0001")[-2:] == ["timer_fired", "instance_completed"]
