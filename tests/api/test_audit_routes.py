"""Auditor endpoints: event search and streamed export, timelines, verification, KPIs —
within jurisdiction, never outside it."""

from __future__ import annotations

import csv
import io
import json

from sqlalchemy import text

from tests.api.conftest import World


def _closed_case(world: World) -> str:
    case_no = world.report("grid_a")
    for element, data in (("handle", {"result": "调解成功"}), ("check", {"ok": True})):
        task = world.open_task(case_no, element)
        user = "handler_a" if element == "handle" else "town_a_staff"
        assert world.post(user, f"/api/v1/tasks/{task}/claim").status_code == 200
        r = world.post(user, f"/api/v1/tasks/{task}/complete", json={"data": data})
        assert r.status_code == 200, r.text
    return case_no


def test_event_search_pages_within_jurisdiction(world: World) -> None:
    case_no = _closed_case(world)
    r = world.get("auditor_a", "/api/v1/audit/events", params={"case_no": case_no, "limit": 5})
    assert r.status_code == 200, r.text
    first = r.json()
    assert [e["seq"] for e in first["items"]] == [1, 2, 3, 4, 5]
    assert first["next_cursor"]
    rest = world.get(
        "auditor_a", "/api/v1/audit/events",
        params={"case_no": case_no, "limit": 1000, "after": first["next_cursor"]},
    ).json()  # fmt: skip
    assert rest["items"][0]["seq"] == 6 and rest["next_cursor"] is None
    done = world.get(
        "auditor_a", "/api/v1/audit/events",
        params={"event_type": "task_completed", "actor": "handler_a"},
    ).json()["items"]  # fmt: skip
    assert [(e["case_no"], e["element_id"]) for e in done] == [(case_no, "handle")]
    # town_b's auditor: the case is not theirs, and town_a is not their unit.
    assert world.get("auditor_b", f"/api/v1/audit/events?case_no={case_no}").status_code == 404
    assert world.get("auditor_b", "/api/v1/audit/events?org=town_a").status_code == 404
    # a caseworker reads no audit record
    assert world.get("handler_a", "/api/v1/audit/events").status_code == 403


def test_export_streams_csv_and_json_lines(world: World) -> None:
    case_no = _closed_case(world)
    r = world.get("auditor_a", "/api/v1/audit/export", params={"format": "csv"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows and "\ufeff" not in "".join(rows[0])
    assert {row["case_no"] for row in rows} == {case_no} and len(rows) >= 8
    r = world.get("auditor_a", "/api/v1/audit/export", params={"format": "jsonl"})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))


def test_timeline_in_chinese_with_elements(world: World) -> None:
    case_no = _closed_case(world)
    r = world.get("auditor_a", f"/api/v1/cases/{case_no}/timeline")
    assert r.status_code == 200, r.text
    body = r.json()
    actors = [s["actor"] for s in body["steps"] if s["event_type"] == "task_completed"]
    assert actors == ["handler_a", "town_a_staff"]
    assert body["elements"]["handle"]["status"] == "completed"
    assert world.get("auditor_b", f"/api/v1/cases/{case_no}/timeline").status_code == 404


def test_verify_names_the_first_broken_event(world: World) -> None:
    case_no = _closed_case(world)
    ok = world.get("auditor_a", "/api/v1/audit/verify", params={"case_no": case_no})
    assert ok.status_code == 200 and ok.json() == {"ok": True, "problems": []}
    with world.db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET session_replication_role = replica"))
        else:
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_events_no_update")
        conn.execute(
            text("UPDATE audit_events SET reason = 'forged' WHERE case_no = :c AND seq = 3"),
            {"c": case_no},
        )
    bad = world.get("auditor_a", "/api/v1/audit/verify", params={"case_no": case_no}).json()
    assert bad["ok"] is False
    assert (bad["problems"][0]["case_no"], bad["problems"][0]["seq"]) == (case_no, 3)
    assert world.get("handler_a", "/api/v1/audit/verify").status_code == 403


def test_kpis_for_a_dashboard(world: World) -> None:
    _closed_case(world)
    r = world.get("county_staff", "/api/v1/kpis", params={"period": "2026-03", "org": "county"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["period"] == "2026-03" and body["total"]["counts"]["registered"] >= 0
    assert "办结率" in body["total"]["rates"]
    assert world.get("auditor_b", "/api/v1/kpis?period=2026-03&org=town_a").status_code == 404
    assert world.get("county_staff", "/api/v1/kpis?period=2026-13").status_code == 422
