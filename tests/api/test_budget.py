"""The command budget over HTTP: a command over its work budget answers 422 naming the element
and the limit and changes nothing; one over its wall time answers 503 and its worker keeps
serving others meanwhile (sign-in, reads and another report on a real uvicorn server, SQLite
included)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx2 as httpx
import pytest

from engine.audit.log import Actor
from engine.budget import ModelBudget
from engine.clock import ManualClock
from engine.runtime import files_from_paths
from engine.sandbox import Limits
from engine.spiff import BundleFile
from tests.api.conftest import FIXTURES, PASSWORD, World, case_body, make_world
from tests.live_server import live_server

DESIGNER = Actor("designer", "designer", "county")


def _bundle(started: bool = False) -> list[BundleFile]:
    files = files_from_paths(
        [
            FIXTURES / "bpmn" / "budget_spin.bpmn",
            FIXTURES / "bpmn" / "budget_loops.bpmn",
            FIXTURES / "forms" / "handle.schema.json",
        ]
    )
    if started:  # the warm-up script tells the test it runs
        spin = files[0]
        files[0] = BundleFile(spin.filename, spin.content.replace(b"n = 0\n", b"n = started()\n"))
    return files


def _report(world: World, process_id: str, data: dict[str, Any]) -> httpx.Response:
    body = case_body(process_id=process_id)
    body["data"] = {**body["data"], **data}
    return world.post("grid_a", "/api/v1/cases", json=body)


@pytest.fixture
def budgeted(world: World) -> World:
    world.engine.budget = ModelBudget(engine_steps=200, loop_maximum=50, mi_cardinality=20)
    world.engine.deploy(_bundle(), DESIGNER)
    return world


@pytest.mark.parametrize(
    ("process_id", "data", "element", "limit"),
    [
        ("budget_spin", {"warm": 0, "stop": 10**9}, "again", "engine_steps"),
        (
            "budget_loops",
            {"kind": "standard", "done": 0, "rounds": 10**9},
            "repeat",
            "loop_maximum",
        ),
        ("budget_loops", {"kind": "parallel", "copies": 10**7}, "fan", "mi_cardinality"),
        ("budget_loops", {"kind": "sequential", "copies": 10**7}, "chain", "mi_cardinality"),
    ],
)
def test_a_command_over_budget_answers_422_and_changes_nothing(
    budgeted: World, process_id: str, data: dict[str, Any], element: str, limit: str
) -> None:
    world = budgeted
    case_no = str(_report(world, process_id, data).json()["case"]["case_no"])
    task = world.open_task(case_no, "go")
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    before = world.get("handler_a", f"/api/v1/cases/{case_no}").json()
    task_before = world.get("handler_a", f"/api/v1/tasks/{task}").json()
    r = world.post("handler_a", f"/api/v1/tasks/{task}/complete", json={"data": {"result": "x"}})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "budget_exceeded"
    assert body["limit"] == limit and isinstance(body["limit_value"], int)
    assert body["element_name"]
    if limit == "engine_steps":
        assert body["element_id"] in ("tick", "again")
    else:
        assert body["element_id"] == element
    assert world.get("handler_a", f"/api/v1/cases/{case_no}").json() == before
    assert world.get("handler_a", f"/api/v1/tasks/{task}").json() == task_before


@pytest.fixture
def slow_live(db_url: str, clock: ManualClock) -> Iterator[tuple[World, str, threading.Event]]:
    world, db = make_world(db_url, clock)
    started = threading.Event()

    def mark_started() -> int:
        started.set()
        return 0

    engine = world.engine
    engine.budget = ModelBudget(command_seconds=3.0)
    # Only the command's wall-time budget can stop the warm-up loop.
    engine.sandbox.limits = Limits(timeout_seconds=600, max_steps=10**12)
    engine.sandbox.helpers["started"] = mark_started
    engine.deploy(_bundle(started=True), DESIGNER)
    with live_server(world.app) as base:
        yield world, base, started
    db.dispose()


def test_a_stuck_command_answers_503_and_the_worker_keeps_serving(
    slow_live: tuple[World, str, threading.Event],
) -> None:
    world, base, started = slow_live
    answers: dict[str, httpx.Response] = {}
    body = case_body(process_id="budget_spin")
    body["data"] = {**body["data"], "warm": 10**12, "stop": 1}

    def bad_request() -> None:
        with httpx.Client(base_url=base, timeout=60) as client:
            answers["bad"] = client.post("/api/v1/cases", json=body, headers=world.h("grid_a"))

    worker = threading.Thread(target=bad_request)
    worker.start()
    assert started.wait(timeout=30), "the bad request never reached the engine"
    with httpx.Client(base_url=base, timeout=60) as client:
        signed_in = client.post(
            "/api/v1/auth/token", data={"username": "handler_a", "password": PASSWORD}
        )
        health = client.get("/healthz")
        token = signed_in.json().get("access_token", "")
        me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        # A write too: the stuck start holds no write transaction while its engine work runs.
        other = client.post(
            "/api/v1/cases", json=case_body(grid_code="grid_b1"), headers=world.h("grid_b")
        )
        during = worker.is_alive()
    worker.join(timeout=60)
    assert signed_in.status_code == 200, signed_in.text
    assert health.status_code == 200 and me.status_code == 200, me.text
    assert me.json()["user_id"] == "handler_a"
    assert other.status_code == 201, other.text
    assert during, "the other requests were only answered after the stuck one"
    bad = answers["bad"]
    assert bad.status_code == 503, bad.text
    assert bad.json()["code"] == "command_timeout"
    assert bad.json()["element_id"] == "warmup"
    # Nothing of the stopped case was kept; the server still starts cases.
    cases = world.get("county_staff", "/api/v1/cases", params={"scope": "jurisdiction"}).json()
    assert [c["case_no"] for c in cases["items"]] == [other.json()["case"]["case_no"]]
    body["data"]["warm"] = 5
    with httpx.Client(base_url=base, timeout=60) as client:
        ok = client.post("/api/v1/cases", json=body, headers=world.h("grid_a"))
    assert ok.status_code == 201, ok.text
