"""The server-sent event stream: filtered by jurisdiction and candidacy, resumable, finite in
tests through ``until=caught_up`` / ``max_events``."""

from __future__ import annotations

import json
import threading
from typing import Any

from api.sse import _contiguous
from tests.api.conftest import World


def _events(world: World, user: str | None, **params: Any) -> list[dict[str, Any]]:
    headers = world.h(user) if user else {}
    headers.update(params.pop("headers", {}))
    with world.client.stream("GET", "/api/v1/events", params=params, headers=headers) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in fields:
            out.append(
                {"id": int(fields["id"]), "event": fields["event"], **json.loads(fields["data"])}
            )
    return out


def test_stream_is_filtered_for_the_caller(world: World) -> None:
    a = world.report()
    b = world.report(
        "grid_b",
        grid_code="grid_b1",
        data={"rounds": 0, "handler_org": "town_b", "checker_org": "town_b"},
    )
    everything = _events(world, "county_staff", last_event_id=0, until="caught_up")
    assert {e["case_no"] for e in everything} == {a, b}
    assert [e["id"] for e in everything] == sorted(e["id"] for e in everything)
    assert {
        e["case_no"] for e in _events(world, "town_a_staff", last_event_id=0, until="caught_up")
    } == {a}
    assert {e["case_no"] for e in _events(world, "grid_b", last_event_id=0, until="caught_up")} == {
        b
    }
    task_events = [e for e in everything if e["event"] == "task"]
    assert task_events and all("task_id" in e for e in task_events)
    assert _events(world, "designer", last_event_id=0, until="caught_up") == []


def test_candidates_outside_the_subtree_see_their_tasks(world: World) -> None:
    case_no = world.report(data={"rounds": 0, "handler_org": "dept_water", "checker_org": "town_a"})
    seen = _events(world, "dept_user", last_event_id=0, until="caught_up")
    assert [e["event"] for e in seen] == ["task"] and seen[0]["case_no"] == case_no


def test_resume_with_last_event_id(world: World) -> None:
    world.report()
    world.report()
    first = _events(world, "county_staff", last_event_id=0, until="caught_up")
    assert len(first) >= 4
    after = _events(
        world, "county_staff", until="caught_up", headers={"Last-Event-ID": str(first[1]["id"])}
    )
    assert after == first[2:]
    assert _events(world, "county_staff", last_event_id=0, max_events=1) == first[:1]
    # Without a position the stream starts at the newest change.
    assert _events(world, "county_staff", until="caught_up") == []


def test_live_change_reaches_a_waiting_stream(world: World) -> None:
    world.report()
    position = _events(world, "county_staff", last_event_id=0, until="caught_up")[-1]["id"]
    got: list[dict[str, Any]] = []
    reader = threading.Thread(
        target=lambda: got.extend(
            _events(world, "county_staff", last_event_id=position, max_events=1)
        )
    )
    reader.start()
    case_no = world.report()
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert got[0]["case_no"] == case_no and got[0]["id"] > position


def test_token_in_query_for_event_source(world: World) -> None:
    world.report()
    token = world.token("grid_a")
    assert _events(world, None, access_token=token, last_event_id=0, until="caught_up")
    r = world.client.get("/api/v1/events", params={"until": "caught_up"})
    assert r.status_code == 401
    r = world.client.get("/api/v1/events", params={"access_token": "nope", "until": "caught_up"})
    assert r.status_code == 401


def test_gap_detection() -> None:
    assert _contiguous(4, [5, 6, 8]) == 2
    assert _contiguous(4, [6]) == 0
    assert _contiguous(0, []) == 0
