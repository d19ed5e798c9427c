"""Idempotency keys, size limit, media types, unknown routes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import func, select

from engine.storage.models import AuditEvent, Case, IdempotencyRecord
from tests.api.conftest import World, case_body


def _count(world: World, model: type) -> int:
    with world.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_retry_returns_first_response_and_changes_nothing(world: World) -> None:
    key = {"Idempotency-Key": "report-1"}
    first = world.post("grid_a", "/api/v1/cases", json=case_body(), headers=key)
    assert first.status_code == 201
    events = _count(world, AuditEvent)
    again = world.post("grid_a", "/api/v1/cases", json=case_body(), headers=key)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert _count(world, Case) == 1 and _count(world, AuditEvent) == events
    other = world.post("grid_a", "/api/v1/cases", json=case_body(title="另一件事"), headers=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Keys belong to a principal: the same key from someone else is a new request.
    r = world.post("county_staff", "/api/v1/cases", json=case_body(), headers=key)
    assert r.status_code == 201 and _count(world, Case) == 2


def test_errors_are_replayed_too(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    world.post("handler_a", f"/api/v1/tasks/{task}/claim")
    key = {"Idempotency-Key": "claim-1"}
    r = world.post("handler_a2", f"/api/v1/tasks/{task}/claim", headers=key)
    assert r.status_code == 409
    world.post("handler_a", f"/api/v1/tasks/{task}/unclaim")
    r = world.post("handler_a2", f"/api/v1/tasks/{task}/claim", headers=key)
    assert r.status_code == 409 and r.headers["idempotent-replayed"] == "true"


def test_multipart_retry_with_a_new_boundary_matches(world: World) -> None:
    from tests.api.conftest import loop_bundle

    files = [
        ("files", (f.filename, f.content, "application/octet-stream")) for f in loop_bundle("m")
    ]
    key = {"Idempotency-Key": "deploy-1"}
    first = world.post("designer", "/api/v1/definitions", files=files, headers=key)
    again = world.post("designer", "/api/v1/definitions", files=files, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"


def test_in_progress_and_bad_keys(world: World) -> None:
    with world.db.session() as s:
        s.add(
            IdempotencyRecord(
                principal="grid_a",
                key="busy",
                method="POST",
                path="/api/v1/cases",
                request_hash="?",
                created_at=world.clock.now(),
                owner="elsewhere:1:x",  # another host's process, running
                lease_until=world.clock.now() + timedelta(seconds=15),
            )
        )
    r = world.post("grid_a", "/api/v1/cases", json=case_body(), headers={"Idempotency-Key": "busy"})
    assert r.status_code == 422  # different hash
    import json

    from api.idempotency import request_hash

    body = json.dumps(case_body()).encode()
    with world.db.session() as s:
        row = s.get(IdempotencyRecord, ("grid_a", "busy"))
        assert row is not None
        row.request_hash = request_hash("POST", "/api/v1/cases", b"", "application/json", body)
    r = world.client.post(
        "/api/v1/cases",
        content=body,
        headers={
            **world.h("grid_a"),
            "Idempotency-Key": "busy",
            "Content-Type": "application/json",
        },
    )
    assert r.status_code == 409 and r.json()["code"] == "request_in_progress"
    assert r.headers["Retry-After"] == "1"
    r = world.post(
        "grid_a", "/api/v1/cases", json=case_body(), headers={"Idempotency-Key": "k" * 201}
    )
    assert r.status_code == 422
    # Without valid credentials the key is ignored and the route answers 401.
    r = world.client.post("/api/v1/cases", json=case_body(), headers={"Idempotency-Key": "x"})
    assert r.status_code == 401


def test_size_limit(world: World) -> None:
    big = {"data": {"blob": "x" * (300 * 1024)}}
    r = world.post("grid_a", "/api/v1/cases", json=case_body(**big))
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(300):
            yield b"x" * 1024
        yield b'"}'

    r = world.client.post(
        "/api/v1/cases",
        content=chunks(),
        headers={**world.h("grid_a"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    r = world.post(
        "grid_a", "/api/v1/cases", json=case_body(**big), headers={"Idempotency-Key": "big"}
    )
    assert r.status_code == 413


def test_media_types_and_unknown_routes(world: World) -> None:
    r = world.client.post(
        "/api/v1/cases",
        content=b"title=x",
        headers={**world.h("grid_a"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415 and r.json()["accepted"] == ["application/json"]
    r = world.client.post(
        "/api/v1/cases",
        content=b"{",
        headers={**world.h("grid_a"), "Content-Type": "application/json"},
    )
    assert r.status_code == 400
    r = world.client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert world.client.delete("/api/v1/cases").status_code == 405
