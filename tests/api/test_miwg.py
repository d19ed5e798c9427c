"""The OMG MIWG reference models (tests/fixtures/miwg/, CC BY 3.0) through the API.

Each file deploys, or is refused only for elements the engine cannot run — every refusal names
the element and says why, and the refusals are listed here with their reason. Every process
that deploys is started as a case and driven to its end: user tasks (no form: confirmations)
completed with no data, due timers fired by the scheduler, waiting messages delivered.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from lxml import etree
from sqlalchemy import select

from engine.clock import ManualClock
from engine.scheduler import Scheduler
from engine.storage.models import Case, Instance
from tests.api.conftest import FIXTURES, World, make_world

MIWG = FIXTURES / "miwg"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
FILES = sorted(MIWG.glob("*.bpmn")) + sorted((MIWG / "bpmnio").glob("*.bpmn"))

REASONS = {
    "service": "service tasks are not supported",
    "link": "link events are not supported",
    "compensation": "compensation events are not supported",
    "juel": "expression refused",
    "called": "is not in the bundle",
    "no called process": "call activity names no called process",
    "decision": "business rule task names no decision",
    "data store": "data stores are not supported",
    "no condition": "has no condition and is not the default flow",
    "no start": "Exactly one start event is required",
    "no timer": "timer event has no timeDate, timeDuration or timeCycle",
    "association": "association points at something the engine cannot resolve",
}
# What the engine truly cannot run in each refused file (reasons above), and why:
# service tasks need connectors bihuan does not have; JUEL/EL conditions (${…}) are not Python;
# a call activity or business rule task needs its process or decision in the bundle; an exclusive
# gateway whose flows have no conditions cannot choose; a sub-process needs a start event; a timer
# needs a date, duration or cycle; a data association needs a target the engine can resolve.
REFUSED = {
    "A.2.0.bpmn": {"no condition"},
    "A.2.1.bpmn": {"no condition"},
    "A.3.0.bpmn": {"no start"},
    "B.1.0.bpmn": {"called", "data store", "service", "no timer"},
    "B.2.0.bpmn": {"called", "data store", "link", "service", "no timer"},
    "C.1.0.bpmn": {"juel", "service", "no timer"},
    "C.1.1.bpmn": {"data store", "juel", "service"},
    "C.3.0.bpmn": {"juel"},
    "C.4.0.bpmn": {"data store", "service"},
    "C.5.0.bpmn": {"data store"},
    "C.6.0.bpmn": {"compensation", "service", "no timer"},
    "C.7.0.bpmn": {"decision", "service"},
    "C.8.0.bpmn": {"juel", "decision", "service"},
    "C.8.1.bpmn": {"juel", "decision", "service"},
    "C.9.0.bpmn": {"called", "juel", "decision", "service"},
    "C.9.2.bpmn": {"called", "juel"},
    "A.2.0-export.bpmn": {"no condition"},
    "A.2.1-export.bpmn": {"no condition"},
    "A.3.0-export.bpmn": {"no start"},
    "B.1.0-export.bpmn": {"no called process", "service", "no timer"},
    "B.2.0-export.bpmn": {"link", "no called process", "service", "no timer"},
    "C.1.0-export.bpmn": {"service", "no timer"},
    "C.1.1-export.bpmn": {"service"},
    "C.3.0-export.bpmn": {"no timer"},
    "C.4.0-export.bpmn": {"association"},
    "C.5.0-export.bpmn": {"no called process"},
    "C.6.0-export.bpmn": {"compensation", "service", "no timer"},
    "C.7.0-export.bpmn": {"decision", "service"},
    "C.8.0-export.bpmn": {"decision", "service"},
    "C.8.1-export.bpmn": {"decision", "service"},
    "C.9.0-export.bpmn": {"no called process", "decision", "service"},
    "C.9.1-export.bpmn": {"no timer"},
    "C.9.2-export.bpmn": {"no called process", "no timer"},
}


@pytest.fixture
def world(db_url: str, clock: ManualClock, tmp_path: Path) -> Iterator[World]:
    """The API world, with every message of the MIWG models deliverable by the county centre
    (the message file is deny-by-default: docs/api.md)."""
    names: set[str] = set()
    for path in FILES:
        root = etree.parse(str(path)).getroot()
        for message in root.iter(f"{BPMN}message"):
            names.update(filter(None, (message.get("name"), message.get("id"))))
        for definition in root.iter(f"{BPMN}messageEventDefinition"):  # named by their event
            event = definition.getparent()
            names.update(filter(None, (event.get("name"), event.get("id"))))
    policy = {"version": 1, "messages": {n: {"roles": ["county_center"]} for n in names}}
    messages_file = tmp_path / "messages.yaml"
    messages_file.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    w, db = make_world(db_url, clock, settings_kw={"messages_file": messages_file})
    with w.client:
        yield w
    db.dispose()


def _deploy(world: World, path: Path) -> tuple[int, dict | list]:  # type: ignore[type-arg]
    files = [("files", (path.name, path.read_bytes(), "text/xml"))]
    r = world.post("designer", "/api/v1/definitions", files=files)
    return r.status_code, r.json()


def _drive(world: World, case_no: str, scheduler: Scheduler) -> dict:  # type: ignore[type-arg]
    """Run the case to its end the way people and the scheduler would; the final detail."""
    for _ in range(60):
        r = world.get("county_staff", f"/api/v1/cases/{case_no}")
        assert r.status_code == 200, r.text
        detail = r.json()
        if detail["instance_status"] != "running":
            return dict(detail)
        tasks = detail["open_tasks"]
        if tasks:
            task = tasks[0]["id"]
            assert world.post("county_staff", f"/api/v1/tasks/{task}/claim").status_code == 200
            r = world.post("county_staff", f"/api/v1/tasks/{task}/complete", json={"data": {}})
            assert r.status_code == 200, r.text
            continue
        world.clock.advance(timedelta(days=1, seconds=1))
        world.tokens.clear()  # tokens expire as days pass
        stats = scheduler.sweep_once(world.clock.now())
        assert not stats.errors, stats.errors
        if stats.fired:
            continue
        with world.db.session() as s:
            case = s.scalar(select(Case).where(Case.case_no == case_no))
            assert case is not None
            waits = s.get(Instance, case.instance_id).waits or {}  # type: ignore[union-attr]
        names = waits.get("messages") or []
        if not names:
            return dict(detail)
        body = {"name": names[0], "correlation_key": case_no, "payload": {}}
        r = world.post("county_staff", "/api/v1/messages", json=body)
        assert r.status_code == 200, r.text
    raise AssertionError(f"case {case_no} did not end")


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_miwg_reference_model(world: World, path: Path) -> None:
    status, body = _deploy(world, path)
    if path.name in REFUSED:
        assert status == 422, body
        problems = body["problems"]  # type: ignore[call-overload]
        found = {key for key, text in REASONS.items() for p in problems if text in p["message"]}
        assert found == REFUSED[path.name], problems
        for p in problems:  # each names its element (or the file and line it sits on)
            assert p["element_id"] or p["line"], p
        return
    assert status == 201, body
    assert isinstance(body, list) and body
    scheduler = Scheduler(world.db, engine=world.engine, clock=world.clock)
    ended = []
    for version in body:
        r = world.post(
            "grid_a",
            "/api/v1/cases",
            json={"process_id": version["process_id"], "title": path.name, "category": "other",
                  "severity": "yellow", "grid_code": "grid_a1", "data": {}},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        detail = _drive(world, r.json()["case"]["case_no"], scheduler)
        ended.append((version["process_id"], detail["instance_status"]))
    assert all(status == "completed" for _, status in ended), ended


def test_miwg_warnings_list_confirmations_and_non_executable_processes(world: World) -> None:
    status, body = _deploy(world, MIWG / "C.9.1.bpmn")
    assert status == 201
    [version] = body
    warnings = {w["element_id"]: w["message"] for w in version["warnings"]}
    assert "user task has no form" in warnings["UserTask_CallCustomer"]
    status, body = _deploy(world, MIWG / "A.1.0.bpmn")
    assert status == 201
    assert "isExecutable" in body[0]["warnings"][0]["message"]


STANDARD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" targetNamespace="t">
  <bpmn:process id="standard" isExecutable="false">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="visit"/>
    <bpmn:subProcess id="visit" name="逐户走访">
      <bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="vs"><bpmn:outgoing>vf</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="vf" sourceRef="vs" targetRef="ok"/>
      <bpmn:userTask id="ok" name="确认走访"><bpmn:incoming>vf</bpmn:incoming></bpmn:userTask>
      <bpmn:sequenceFlow id="vg" sourceRef="ok" targetRef="ve"/>
      <bpmn:endEvent id="ve"/>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="visit" targetRef="a"/>
    <bpmn:sequenceFlow id="f2" sourceRef="visit" targetRef="b"/>
    <bpmn:scriptTask id="a"><bpmn:script>left = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:scriptTask id="b"><bpmn:script>right = 1</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="a" targetRef="j"/>
    <bpmn:sequenceFlow id="f4" sourceRef="b" targetRef="j"/>
    <bpmn:parallelGateway id="j"/>
    <bpmn:sequenceFlow id="f5" sourceRef="j" targetRef="e"/>
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def test_a_modelers_multi_instance_sub_process_and_implicit_split_run(world: World) -> None:
    files = [("files", ("standard.bpmn", STANDARD, "text/xml"))]
    r = world.post("designer", "/api/v1/definitions", files=files)
    assert r.status_code == 201, r.text
    warned = {w["element_id"] for w in r.json()[0]["warnings"]}
    assert {"ok", "standard"} <= warned  # a confirmation task; a non-executable process
    r = world.post("grid_a", "/api/v1/cases", json={
        "process_id": "standard", "title": "走访", "category": "other", "severity": "yellow",
        "grid_code": "grid_a1", "data": {}})  # fmt: skip
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    scheduler = Scheduler(world.db, engine=world.engine, clock=world.clock)
    confirmations = 0
    for _ in range(5):
        detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
        if detail["instance_status"] != "running":
            break
        [task] = detail["open_tasks"]
        assert task["element_id"] == "ok"
        assert world.post("county_staff", f"/api/v1/tasks/{task['id']}/claim").status_code == 200
        r = world.post("county_staff", f"/api/v1/tasks/{task['id']}/complete", json={"data": {}})
        assert r.status_code == 200, r.text
        confirmations += 1
    assert _drive(world, case_no, scheduler)["instance_status"] == "completed"
    assert confirmations == 3  # one per instance of the multi-instance sub-process
    detail = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    elements = detail["elements"]
    assert elements["a"] == elements["b"] == elements["j"] == "completed", elements  # both branches
