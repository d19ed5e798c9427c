"""The calendar for operators over HTTP: ``GET /api/v1/admin/calendar``, ``readyz`` warnings, and
provisional due times in the case and task JSON."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from engine.bootstrap import build_engine
from engine.calendar_admin import store_table
from engine.clock import CHINA, ManualClock
from engine.settings import Settings
from engine.storage.models import Case, HumanTask
from engine.supervision import Supervision
from engine.workdays import load_table
from tests.api.conftest import SECRET, World, seed_people

TABLE = Path(__file__).resolve().parents[1] / "fixtures" / "calendar" / "holidays-2027-test.yaml"
OCT_31 = datetime(2026, 10, 31, 23, 0, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def operated(db_url: str) -> Iterator[World]:
    """The engine as ``bihuan serve`` builds it (supervision, calendar), on 31 October."""
    clock = ManualClock(OCT_31)
    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False)
    engine = build_engine(settings, clock=clock)
    seed_people(engine.db, clock)
    app = create_app(settings, engine=engine, clock=clock)
    client = TestClient(app, raise_server_exceptions=False)
    with client:
        yield World(app, client, engine, clock, engine.db, settings)
    engine.db.dispose()


def test_admin_calendar_and_readyz_warn_from_1_november(operated: World) -> None:
    r = operated.get("admin", "/api/v1/admin/calendar")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["today"] == "2026-10-31" and body["warnings"] == []
    assert body["missing_year_policy"] == "provisional"
    assert [(y["year"], y["status"], y["source"]) for y in body["years"]] == [
        (2025, "official", "bundled"),
        (2026, "official", "bundled"),
        (2027, "provisional", "provisional"),
    ]
    ready = operated.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["warnings"] == []

    operated.clock.advance(timedelta(hours=1))  # 1 November, 00:00 in Beijing
    [warning] = operated.get("admin", "/api/v1/admin/calendar").json()["warnings"]
    assert "2027" in warning and "bihuan calendar load FILE" in warning
    ready = operated.client.get("/readyz")
    assert ready.status_code == 200  # a warning, not a failure
    assert ready.json()["status"] == "ready" and ready.json()["warnings"] == [warning]


def test_admin_calendar_is_for_admins_only(operated: World) -> None:
    for user in ("county_staff", "designer", "auditor_county"):
        r = operated.get(user, "/api/v1/admin/calendar")
        assert r.status_code == 403, (user, r.text)
    assert operated.client.get("/api/v1/admin/calendar").status_code == 401


def test_a_table_loaded_by_another_node_ends_the_warning(operated: World) -> None:
    operated.clock.set(datetime(2026, 12, 3, 2, tzinfo=UTC))
    assert operated.client.get("/readyz").json()["warnings"]
    with operated.db.session() as s:  # what `bihuan calendar load` writes, from elsewhere
        store_table(s, load_table(TABLE, "official"), now=operated.clock.now(), actor="ops",
                    source_file=str(TABLE))  # fmt: skip
    supervision = next(x for x in operated.engine.listeners if isinstance(x, Supervision))
    supervision.refresher.every_seconds = 0  # instead of waiting out the refresh interval
    body = operated.get("admin", "/api/v1/admin/calendar").json()
    assert body["warnings"] == []
    assert (2027, "official", "database") in [
        (y["year"], y["status"], y["source"]) for y in body["years"]
    ]
    assert operated.client.get("/readyz").json()["warnings"] == []


def test_provisional_due_times_in_case_and_task_json(world: World) -> None:
    case_no = world.report()
    task_id = world.open_task(case_no)
    r = world.get("county_staff", f"/api/v1/cases/{case_no}")
    assert r.json()["case"]["due_provisional"] is False and r.json()["case"]["due_label"] is None
    due = datetime(2027, 1, 5, tzinfo=CHINA)
    with world.db.session() as s:  # as the supervision service publishes a provisional due
        case = s.get(Case, case_no)
        task = s.get(HumanTask, task_id)
        assert case is not None and task is not None
        case.due_at = task.due_at = due
        case.due_provisional = task.due_provisional = True
    r = world.get("county_staff", f"/api/v1/cases/{case_no}")
    assert r.status_code == 200
    shown = r.json()["case"]
    assert shown["due_provisional"] is True and shown["due_label"] == "暂定（待官方调休安排）"
    [open_task] = r.json()["open_tasks"]
    assert (
        open_task["due_provisional"] is True and open_task["due_label"] == "暂定（待官方调休安排）"
    )
    r = world.get("county_staff", "/api/v1/tasks", params={"scope": "jurisdiction"})
    [listed] = [t for t in r.json()["items"] if t["id"] == task_id]
    assert listed["due_provisional"] is True
    r = world.get("county_staff", "/api/v1/cases")
    [row] = [c for c in r.json()["items"] if c["case_no"] == case_no]
    assert row["due_provisional"] is True and row["due_label"] == "暂定（待官方调休安排）"
