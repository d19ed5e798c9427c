"""Messages, user administration, health, readiness and metrics."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine, files_from_paths
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import DueItem
from tests.api.conftest import FIXTURES, SECRET, World
from tests.conftest import START


def _deploy_feedback(world: World) -> None:
    world.engine.deploy(
        files_from_paths(
            [FIXTURES / "bpmn" / "message.bpmn", FIXTURES / "forms" / "check.schema.json"]
        ),
        Actor("designer", "designer", "county"),
    )


def test_deliver_message(world: World) -> None:
    _deploy_feedback(world)
    case_no = world.report(process_id="feedback")
    body = {"name": "citizen_feedback", "correlation_key": case_no, "payload": {"note": "满意"}}
    assert world.post("auditor_a", "/api/v1/messages", json=body).status_code == 403
    assert world.post("grid_b", "/api/v1/messages", json=body).status_code == 404
    r = world.post("town_a_staff", "/api/v1/messages", json=body)
    assert r.status_code == 200 and r.json() == {"delivered": True, "case_no": case_no}
    detail = world.get("town_a_staff", f"/api/v1/cases/{case_no}").json()
    assert detail["case"]["status"] == "REVISIT"
    assert world.post("town_a_staff", "/api/v1/messages", json=body).status_code == 404
    body["correlation_key"] = "NO-SUCH-CASE"
    assert world.post("town_a_staff", "/api/v1/messages", json=body).status_code == 404


def test_users_admin(world: World) -> None:
    r = world.get("admin", "/api/v1/users")
    assert r.status_code == 200
    assert "grid_a" in {u["user_id"] for u in r.json()}
    body = {
        "id": "new.worker",
        "display_name": "新网格员",
        "password": "long-enough-1",
        "roles": [{"role": "grid_worker", "org_id": "grid_b1"}],
    }
    r = world.post("admin", "/api/v1/users", json=body)
    assert r.status_code == 201 and r.json()["grants"][0]["org_path"] == "/county/town_b/grid_b1/"
    assert world.post("admin", "/api/v1/users", json=body).status_code == 409
    token = world.client.post(
        "/api/v1/auth/token", json={"username": "new.worker", "password": "long-enough-1"}
    )
    assert token.status_code == 200
    for bad in (
        {**body, "id": "a", "password": "short"},
        {**body, "id": "b", "roles": [{"role": "pope", "org_id": "county"}]},
        {**body, "id": "c", "roles": [{"role": "grid_worker", "org_id": "nowhere"}]},
        {**body, "id": "bad id!"},
    ):
        assert world.post("admin", "/api/v1/users", json=bad).status_code == 422, bad
    for user in ("county_staff", "designer", "auditor_county"):
        assert world.get(user, "/api/v1/users").status_code == 403
        assert world.post(user, "/api/v1/users", json={**body, "id": "z"}).status_code == 403


def test_health_readiness_metrics(world: World) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    r = world.client.get("/readyz")
    assert r.status_code == 200 and r.json()["migrations_at_head"] is True
    case_no = world.report()
    world.get("grid_a", f"/api/v1/cases/{case_no}")
    with world.db.session() as s:
        s.add(
            DueItem(
                kind="job",
                dedupe_key="job:x",
                due_at=world.clock.now(),
                state="pending",
                payload={},
                created_at=world.clock.now(),
            )
        )
    from datetime import timedelta

    world.clock.advance(timedelta(seconds=90))
    text = world.client.get("/metrics").text
    assert "bihuan_open_tasks 1" in text
    assert "bihuan_overdue_tasks 0" in text
    assert "bihuan_timer_lag_seconds 90.000" in text
    assert 'route="/api/v1/cases/{case_no}"' in text
    assert 'bihuan_cases{status="IN_PROGRESS"} 1' in text
    assert "bihuan_http_request_duration_seconds_bucket" in text


def test_not_ready_without_migrations(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    settings = Settings(database_url=db.url, secret_key=SECRET)
    app = create_app(settings, engine=Engine(db, clock=ManualClock(START)))
    with TestClient(app) as client:
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json() == {
            "status": "not_ready",
            "database": True,
            "migrations_at_head": False,
            "warnings": [],
        }
    db.dispose()
