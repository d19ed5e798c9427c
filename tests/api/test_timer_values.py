"""Timers through the API (issue 14): each value either runs correctly or is refused — at deploy
when written in the model, with 422 naming the element when computed at run time (nothing
committed) — never a 500. Cycles (``R3/PT1H``) run, bounded by the budget's ``timer_repeats``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from engine.budget import ModelBudget
from engine.scheduler import Scheduler
from engine.storage.models import Case, DueItem
from tests.api.conftest import World

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
"""


def timer_model(kind: str, expression: str, pid: str = "timed") -> bytes:
    """start → a timer catch event ``wait`` (名称 等待) → end; a cycle (which repeats on boundary
    events only) is an interrupting boundary event ``wait`` on a confirmation ``work``."""
    expression = expression.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")
    timer = f"<bpmn:timerEventDefinition><bpmn:{kind}>{expression}</bpmn:{kind}>"
    if kind == "timeCycle":
        event = f"""<bpmn:userTask id="work"/>
    <bpmn:boundaryEvent id="wait" name="等待" attachedToRef="work">
      {timer}</bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="fw" sourceRef="work" targetRef="e"/>"""
    else:
        event = f"""<bpmn:intermediateCatchEvent id="wait" name="等待">
      {timer}</bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>"""
    first = "work" if kind == "timeCycle" else "wait"
    body = f"""  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="{first}"/>
    {event}
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    return (HEAD + body).encode()


def reminder_model(cycle: str) -> bytes:
    """A confirmation task ``confirm`` with a non-interrupting cycle ``remind`` on it."""
    return (
        HEAD
        + f"""  <bpmn:process id="remind" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="confirm"/>
    <bpmn:userTask id="confirm" name="确认"/>
    <bpmn:boundaryEvent id="nudge" name="提醒" cancelActivity="false" attachedToRef="confirm">
      <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="nudge" targetRef="noted"/>
    <bpmn:scriptTask id="noted"><bpmn:script>nudged = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="noted" targetRef="e2"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="confirm" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    ).encode()


def deploy(world: World, content: bytes, name: str = "m.bpmn") -> Any:
    files = [("files", (name, content, "text/xml"))]
    return world.post("designer", "/api/v1/definitions", files=files)


def start(world: World, pid: str, data: dict[str, Any]) -> Any:
    body = {"process_id": pid, "title": "计时", "category": "other", "severity": "yellow",
            "grid_code": "grid_a1", "data": data}  # fmt: skip
    return world.post("grid_a", "/api/v1/cases", json=body)


def cases_of(world: World) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Case)) or 0)


COMPUTED_REFUSED = [
    ("timeDuration", "P999999999Y", "longer than the limit"),
    ("timeDuration", 3600, "must be text"),
    ("timeDuration", ["PT1H"], "must be text"),
    ("timeDuration", "PT-1H", "not an ISO 8601 duration"),
    ("timeDuration", "", "empty"),
    ("timeDate", "2026-W54-1", "can represent"),
    ("timeDate", "2026-W00", "can represent"),
    ("timeDate", "0001-01-01T00:00:00", "can represent"),
    ("timeDate", "9999-12-31T23:59:59+14:00", "years ahead"),
    ("timeDate", {"at": 1}, "must be text"),
    ("timeCycle", "R3/PT0S", "must be positive"),
    ("timeCycle", "R1000000/PT1S", "more than the limit"),
    ("timeCycle", "R/P1Y", "longer than the limit"),
    ("timeCycle", "R2/9999-12-31T00:00:00Z/P1D", "years"),
    ("timeCycle", None, "must be text"),
]


@pytest.mark.parametrize(("kind", "value", "message"), COMPUTED_REFUSED)
def test_a_computed_timer_that_cannot_run_is_422_naming_the_element(
    world: World, kind: str, value: Any, message: str
) -> None:
    assert deploy(world, timer_model(kind, "when")).status_code == 201
    before = cases_of(world)
    r = start(world, "timed", {"when": value})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert "wait" in problem["detail"] and message in problem["detail"], problem
    assert cases_of(world) == before  # nothing committed


@pytest.mark.parametrize(
    ("kind", "value", "due_in"),
    [
        ("timeDuration", "PT2H", timedelta(hours=2)),
        ("timeDuration", " pt2h\n", timedelta(hours=2)),  # blanks and lower case
        ("timeCycle", " R1/PT3H ", timedelta(hours=3)),
        ("timeDuration", "P0D", timedelta(0)),
        ("timeDate", "2026-03-02T13:00:00", timedelta(hours=4)),  # no offset: Beijing time
        ("timeDate", "2026-03-02T05:00:00Z", timedelta(hours=4)),
        ("timeDate", "2026-W10-2", timedelta(hours=15)),  # Tuesday 3 March, 00:00 Beijing
        ("timeDate", "0001-01-01T00:00:00+00:00", None),  # long past: due at once
    ],
)
@pytest.mark.clock
def test_a_valid_timer_runs_to_its_end(
    world: World, kind: str, value: str, due_in: timedelta | None
) -> None:
    assert world.clock.now().isoformat() == "2026-03-02T01:00:00+00:00"  # 09:00 Beijing
    assert deploy(world, timer_model(kind, "when")).status_code == 201
    r = start(world, "timed", {"when": value})
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    with world.db.session() as s:
        dues = s.scalars(select(DueItem.due_at).where(DueItem.case_no == case_no)).all()
    if due_in is not None and due_in > timedelta(0):
        assert [d.replace(tzinfo=None) for d in dues] == [
            (world.clock.now() + due_in).replace(tzinfo=None)
        ]
    world.clock.advance(max(due_in or timedelta(0), timedelta(0)) + timedelta(seconds=1))
    Scheduler(world.db, engine=world.engine, clock=world.clock).sweep_once(world.clock.now())
    world.tokens.clear()
    detail = world.get("grid_a", f"/api/v1/cases/{case_no}").json()
    assert detail["instance_status"] == "completed", detail


@pytest.mark.parametrize(
    ("cycle", "fires"),
    [("R3/PT1H", 3), ("'R2/PT30M'", 2), ("R/PT1H", 6), ("R2/2026-03-03T02:00:00Z/PT1H", 2)],
)
def test_a_cycle_fires_each_repetition_then_stops(world: World, cycle: str, fires: int) -> None:
    if cycle == "R/PT1H":  # unbounded: as many repetitions as the budget allows
        world.engine.script_engine.budget = ModelBudget(timer_repeats=fires)
    r = deploy(world, reminder_model(cycle))
    assert r.status_code == 201, r.text
    assert r.json()[0]["warnings"]  # the confirmation task has no form
    r = start(world, "remind", {})
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    scheduler = Scheduler(world.db, engine=world.engine, clock=world.clock)
    fired = 0
    step = timedelta(minutes=31 if "PT30M" in cycle else 61)  # one repetition a sweep
    for _ in range(40):  # past every repetition of each cycle here
        world.clock.advance(step)
        stats = scheduler.sweep_once(world.clock.now())
        assert not stats.errors, stats.errors
        fired += stats.fired
    assert fired == fires
    with world.db.session() as s:
        pending = s.scalar(select(func.count()).select_from(DueItem).where(
            DueItem.case_no == case_no, DueItem.state == "pending"))  # fmt: skip
    assert pending == 0  # the cycle is spent
    world.tokens.clear()
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    assert detail["instance_status"] == "running"
    [task] = [t["id"] for t in detail["open_tasks"]]
    assert world.post("county_staff", f"/api/v1/tasks/{task}/claim").status_code == 200
    r = world.post("county_staff", f"/api/v1/tasks/{task}/complete", json={"data": {"x": 1}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"  # a confirmation: no data
    r = world.post("county_staff", f"/api/v1/tasks/{task}/complete", json={"data": {}})
    assert r.status_code == 200, r.text
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    assert detail["instance_status"] == "completed", detail


@pytest.mark.parametrize(
    ("kind", "value"),
    [("timeDuration", "P999999999Y"), ("timeCycle", "R3/PT1H/PT2H"), ("timeDate", "2026-W54-1"),
     ("timeDuration", "'P20Y'"), ("timeCycle", "R2000/PT1M")],
)  # fmt: skip
def test_a_literal_timer_that_cannot_run_is_refused_at_deploy(
    world: World, kind: str, value: str
) -> None:
    content = timer_model(kind, value)
    r = deploy(world, content)
    assert r.status_code == 422, r.text
    [problem] = r.json()["problems"]
    line = 1 + content[: content.index(f"<bpmn:{kind}>".encode())].count(b"\n")
    assert problem["element_id"] == "wait" and problem["line"] == line, problem
    assert kind in problem["message"]


#: A script ``plan`` computes ``when`` from ``years``; the timer ``wait`` waits that long; end.
PLAN_THEN_WAIT = """    <bpmn:scriptTask id="plan"><bpmn:script>when = "P" + str(years) + "Y"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="plan" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="等待">
      <bpmn:timerEventDefinition><bpmn:timeDuration>when</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def confirm_then_wait() -> bytes:
    """A confirmation ``confirm``, then a timer ``wait`` whose value a script computes."""
    return (
        HEAD
        + """  <bpmn:process id="later" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="confirm"/>
    <bpmn:userTask id="confirm" name="确认"/>
    <bpmn:sequenceFlow id="f1" sourceRef="confirm" targetRef="plan"/>
"""
        + PLAN_THEN_WAIT
    ).encode()


@pytest.mark.parametrize("years", [999999999, 11])
def test_a_timer_computed_by_a_later_command_fails_that_command(world: World, years: int) -> None:
    assert deploy(world, confirm_then_wait()).status_code == 201
    r = start(world, "later", {"years": years})
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    [task] = world.get("county_staff", f"/api/v1/cases/{case_no}").json()["open_tasks"]
    url = f"/api/v1/tasks/{task['id']}"
    assert world.post("county_staff", f"{url}/claim").status_code == 200
    r = world.post("county_staff", f"{url}/complete", json={"data": {}})
    assert r.status_code == 422, r.text
    assert "wait" in r.json()["detail"] and "longer than the limit" in r.json()["detail"]
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()  # nothing committed
    assert [t["id"] for t in detail["open_tasks"]] == [task["id"]]
    assert detail["elements"].get("plan") is None


def first_timer_then_computed() -> bytes:
    """A timer ``first`` (one hour), then a timer ``wait`` whose value a script computes: the
    scheduler's firing of ``first`` is the command that meets the bad value."""
    return (
        HEAD
        + """  <bpmn:process id="chained" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="first"/>
    <bpmn:intermediateCatchEvent id="first" name="先等一小时">
      <bpmn:timerEventDefinition><bpmn:timeDuration>"PT1H"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="first" targetRef="plan"/>
"""
        + PLAN_THEN_WAIT
    ).encode()


def test_a_timer_the_scheduler_cannot_fire_becomes_an_incident_not_a_retry(world: World) -> None:
    """The model's error meets the scheduler, not a client: the due item fails for good (no
    endless retries), the case's chain records ``timer_failed`` naming the element, /metrics
    counts it, and nothing of the failed firing is committed."""
    assert deploy(world, first_timer_then_computed()).status_code == 201
    r = start(world, "chained", {"years": 999999999})
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    scheduler = Scheduler(world.db, engine=world.engine, clock=world.clock)
    world.clock.advance(timedelta(hours=1, seconds=1))
    assert scheduler.sweep_once(world.clock.now()).failed == 1
    with world.db.session() as s:
        [item] = s.scalars(select(DueItem).where(DueItem.case_no == case_no)).all()
        assert item.state == "failed" and "wait" in (item.last_error or "")
    world.clock.advance(timedelta(days=2))  # past any backoff: it is not tried again
    assert scheduler.sweep_once(world.clock.now()).claimed == 0
    world.tokens.clear()
    history = world.get("county_staff", f"/api/v1/cases/{case_no}/history").json()["items"]
    failed = [e for e in history if e["event_type"] == "timer_failed"]
    assert len(failed) == 1 and failed[0]["element_id"] == "wait"
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    assert detail["elements"].get("plan") is None  # the failed firing changed nothing
    assert "bihuan_failed_due_items 1" in world.client.get("/metrics").text
    r = world.get("auditor_a", "/api/v1/audit/verify", params={"case_no": case_no})
    assert r.json()["ok"] is True, r.text
