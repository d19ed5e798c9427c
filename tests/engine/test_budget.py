"""The work budget of one command: a loop with no wait, a standard loop that never ends, a
multi-instance cardinality of 10**7 and a command that runs too long are each stopped with an
error naming the element and the limit; nothing is committed and the case stays as it was (also
after a reload on a fresh engine). Budgets within the limits run as before."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from engine.budget import ModelBudget
from engine.clock import ManualClock
from engine.errors import BudgetExceeded, CommandTimedOut
from engine.runtime import Engine
from engine.sandbox import Limits
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, HumanTask, Instance
from tests.engine.support import (
    ALICE,
    DESIGNER,
    bundle,
    do,
    fresh_engine,
    instance,
    only_task,
)

BUDGET = ModelBudget(engine_steps=200, loop_maximum=50, mi_cardinality=20)


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock, budget=BUDGET)
    e.deploy(bundle("budget_spin.bpmn", "budget_loops.bpmn"), DESIGNER)
    return e


def _snapshot(db: Database, case_no: str) -> dict[str, Any]:
    with db.session() as s:
        inst = s.scalars(select(Instance).where(Instance.business_key == case_no)).one()
        tasks = s.scalars(select(HumanTask).where(HumanTask.case_no == case_no)).all()
        return {
            "version": inst.version,
            "status": inst.status,
            "state": inst.state,
            "data": inst.data,
            "tasks": sorted((t.element_id, t.state) for t in tasks),
            "events": s.scalar(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.case_no == case_no)
            ),
        }


def _over_budget(engine: Engine, db: Database, case_no: str) -> BudgetExceeded:
    task = only_task(db, case_no, "go")
    engine.claim(task.id, ALICE)
    before = _snapshot(db, case_no)
    with pytest.raises(BudgetExceeded) as caught:
        engine.complete(task.id, {"result": "开始"}, ALICE)
    assert _snapshot(db, case_no) == before  # nothing committed
    return caught.value


@pytest.mark.parametrize(
    ("data", "element", "limit", "value"),
    [
        ({"kind": "standard", "done": 0, "rounds": 10**9}, "repeat", "loop_maximum", 50),
        ({"kind": "parallel", "copies": 10**7}, "fan", "mi_cardinality", 20),
        ({"kind": "sequential", "copies": 10**7}, "chain", "mi_cardinality", 20),
    ],
)
def test_loops_and_instances_over_budget_are_refused_and_nothing_changes(
    engine: Engine,
    db: Database,
    db_url: str,
    clock: ManualClock,
    data: dict[str, Any],
    element: str,
    limit: str,
    value: int,
) -> None:
    engine.start("budget_loops", "B-1", data, ALICE)
    error = _over_budget(engine, db, "B-1")
    assert error.status == 422
    assert error.details["element_id"] == element
    assert error.details["element_name"]  # the element's name, for the designer
    assert error.details["limit"] == limit and error.details["limit_value"] == value
    assert element in error.message and str(value) in error.message
    # A fresh engine (nothing cached) sees the case as it was, and refuses again.
    again = fresh_engine(db_url, clock)
    again.budget = BUDGET
    with pytest.raises(BudgetExceeded):
        again.complete(only_task(db, "B-1", "go").id, {"result": "开始"}, ALICE)
    assert instance(db, "B-1").status == "running"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"kind": "standard", "done": 0, "rounds": 50}, {"done": 50}),
        ({"kind": "parallel", "copies": 20}, {}),
        ({"kind": "sequential", "copies": 20}, {}),
    ],
)
def test_loops_and_instances_within_budget_run(
    engine: Engine, db: Database, data: dict[str, Any], expected: dict[str, Any]
) -> None:
    engine.start("budget_loops", "B-2", data, ALICE)
    do(engine, only_task(db, "B-2", "go"), {"result": "开始"})
    inst = instance(db, "B-2")
    assert inst.status == "completed"
    assert expected.items() <= inst.data.items()


def test_a_loop_with_no_wait_is_stopped_at_the_step_budget(
    engine: Engine, db: Database, db_url: str, clock: ManualClock
) -> None:
    engine.start("budget_spin", "S-1", {"warm": 0, "stop": 10**9}, ALICE)
    error = _over_budget(engine, db, "S-1")
    assert error.details["limit"] == "engine_steps" and error.details["limit_value"] == 200
    assert error.details["element_id"] in ("tick", "again")
    assert "200" in error.message
    # Reloaded on a fresh engine (nothing cached) the case is as it was, and refused again.
    runner = fresh_engine(db_url, clock)
    runner.budget = BUDGET
    task = only_task(db, "S-1", "go")
    assert task.state == "claimed"
    with pytest.raises(BudgetExceeded):
        runner.complete(task.id, {"result": "开始"}, ALICE)
    assert instance(db, "S-1").status == "running"


def test_a_short_loop_with_no_wait_runs(engine: Engine, db: Database) -> None:
    engine.start("budget_spin", "S-2", {"warm": 0, "stop": 30}, ALICE)
    do(engine, only_task(db, "S-2", "go"), {"result": "开始"})
    inst = instance(db, "S-2")
    assert inst.status == "completed" and inst.data["n"] == 30


def test_a_loop_with_no_wait_deeper_than_the_engine_follows_is_stopped(
    db: Database, clock: ManualClock
) -> None:
    # Under a step budget the loop cannot reach, SpiffWorkflow stops walking the task tree at
    # 1,000 levels: the loop used to stop there silently, the case "running" with nothing to do.
    engine = Engine(db, clock=clock, budget=ModelBudget(engine_steps=100_000, command_seconds=600))
    engine.deploy(bundle("budget_spin.bpmn"), DESIGNER)
    engine.start("budget_spin", "S-3", {"warm": 0, "stop": 10**9}, ALICE)
    error = _over_budget(engine, db, "S-3")
    assert error.details["limit"] == "engine_steps"
    assert error.details["element_id"] in ("tick", "again")
    assert "without waiting" in error.message


def test_a_command_over_its_wall_time_is_stopped_and_leaves_no_case(
    db: Database, clock: ManualClock
) -> None:
    # The script's own limits are generous: only the command's 0.2 s budget can stop it.
    slow = Engine(
        db,
        clock=clock,
        limits=Limits(timeout_seconds=600, max_steps=10**12),
        budget=ModelBudget(command_seconds=0.2),
    )
    slow.deploy(bundle("budget_spin.bpmn"), DESIGNER)
    with pytest.raises(CommandTimedOut) as caught:
        slow.start("budget_spin", "T-1", {"warm": 10**12, "stop": 1}, ALICE)
    assert caught.value.status == 503
    assert caught.value.details["limit"] == "command_seconds"
    assert caught.value.details["element_id"] == "warmup"
    with db.session() as s:
        assert s.get(Case, "T-1") is None
        assert s.scalar(select(func.count()).select_from(Instance)) == 0
    # The engine keeps serving: the same start with little work succeeds.
    slow.start("budget_spin", "T-2", {"warm": 10, "stop": 1}, ALICE)
    assert instance(db, "T-2").status == "running"


def test_the_budget_comes_from_settings() -> None:
    from pydantic import ValidationError

    from engine.bootstrap import budget_from
    from engine.settings import Settings

    settings = Settings(
        budget_engine_steps=7,
        budget_loop_maximum=8,
        budget_mi_cardinality=9,
        budget_command_seconds=1.5,
    )
    budget = budget_from(settings)
    assert (budget.engine_steps, budget.loop_maximum, budget.mi_cardinality) == (7, 8, 9)
    assert budget.command_seconds == 1.5
    with pytest.raises(ValidationError):
        Settings(budget_engine_steps=0)
    with pytest.raises(ValueError):
        ModelBudget(mi_cardinality=-1)
