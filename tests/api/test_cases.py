"""Reporting, listing, detail, history, and the centre's suspend / resume / cancel."""

from __future__ import annotations

from datetime import timedelta

from engine.storage.models import Case
from tests.api.conftest import World, case_body


def test_report_numbers_cases_per_year(world: World) -> None:
    assert world.report() == "BH-2026-000001"
    assert world.report() == "BH-2026-000002"
    assert world.report(case_no="CUSTOM-1") == "CUSTOM-1"
    r = world.post("grid_a", "/api/v1/cases", json=case_body(case_no="CUSTOM-1"))
    assert r.status_code == 409 and r.json()["code"] == "conflict"


def test_report_defaults_to_own_unit_and_stays_in_jurisdiction(world: World) -> None:
    r = world.post("grid_a", "/api/v1/cases", json=case_body(grid_code=None))
    assert r.status_code == 201
    assert r.json()["case"]["org_path"] == "/county/town_a/village_a1/grid_a1/"
    r = world.post("grid_a", "/api/v1/cases", json=case_body(grid_code="grid_b1"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = world.post("grid_a", "/api/v1/cases", json=case_body(grid_code="no_such_grid"))
    assert r.status_code == 422
    r = world.post("county_staff", "/api/v1/cases", json=case_body(grid_code="grid_b1"))
    assert r.status_code == 201


def test_report_errors(world: World) -> None:
    r = world.post("grid_a", "/api/v1/cases", json=case_body(process_id="not_deployed"))
    assert r.status_code == 404
    r = world.post("grid_a", "/api/v1/cases", json={"title": ""})
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"
    assert any(e["path"] == "/body/title" for e in r.json()["errors"])
    r = world.post("grid_a", "/api/v1/cases", json=case_body(unknown_field=1))
    assert r.status_code == 422
    for user in ("handler_a", "auditor_a", "designer", "admin"):
        assert world.post(user, "/api/v1/cases", json=case_body()).status_code == 403, user


def test_detail_shows_tasks_and_diagram_states(world: World) -> None:
    case_no = world.report(description="楼上装修噪音")
    r = world.get("grid_a", f"/api/v1/cases/{case_no}")
    assert r.status_code == 200
    detail = r.json()
    assert detail["case"]["status"] == "IN_PROGRESS"
    assert detail["case"]["severity"] == "yellow"
    assert detail["fields"]["description"] == "楼上装修噪音"
    assert [t["element_id"] for t in detail["open_tasks"]] == ["handle"]
    assert detail["elements"] == {"start": "completed", "handle": "active"}
    assert world.get("grid_b", f"/api/v1/cases/{case_no}").status_code == 404
    assert world.get("grid_a", "/api/v1/cases/NOPE").status_code == 404


def test_history_is_the_audit_timeline(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    world.post("handler_a", f"/api/v1/tasks/{task}/claim")
    r = world.get("auditor_a", f"/api/v1/cases/{case_no}/history")
    assert r.status_code == 200
    events = [e["event_type"] for e in r.json()["items"]]
    assert events[0] == "instance_started" and events[-1] == "task_claimed"
    assert [e["seq"] for e in r.json()["items"]] == list(range(1, len(events) + 1))
    assert world.get("grid_b", f"/api/v1/cases/{case_no}/history").status_code == 404


def test_list_filters_and_paging(world: World) -> None:
    a1 = world.report(title="土地承包纠纷", severity="red", category="land")
    a2 = world.report(title="噪音", severity="blue")
    world.clock.advance(timedelta(days=2))
    b1 = world.report(
        "grid_b",
        grid_code="grid_b1",
        title="欠薪",
        category="wages",
        data={"rounds": 0, "handler_org": "town_b", "checker_org": "town_b"},
    )
    with world.db.session() as s:
        case = s.get(Case, a2)
        assert case is not None
        case.due_at = world.clock.now() - timedelta(hours=1)

    def nos(user: str, **params: object) -> list[str]:
        r = world.get(user, "/api/v1/cases", params=params)
        assert r.status_code == 200, r.text
        return [c["case_no"] for c in r.json()["items"]]

    assert nos("county_staff") == [b1, a2, a1]
    assert nos("town_a_staff") == [a2, a1]
    assert nos("grid_b") == [b1]
    assert nos("county_staff", severity="red") == [a1]
    assert nos("county_staff", category="wages") == [b1]
    assert nos("county_staff", org="town_b") == [b1]
    assert nos("county_staff", org="town_a") == [a2, a1]
    assert nos("county_staff", overdue=True) == [a2]
    assert nos("county_staff", overdue=False) == [b1, a1]
    assert nos("county_staff", text="土地") == [a1]
    assert nos("county_staff", text=a1.lower()) == [a1]
    assert nos("county_staff", status="IN_PROGRESS") == [b1, a2, a1]
    assert nos("county_staff", reported_from=world.clock.now().isoformat()) == [b1]
    assert nos("county_staff", reported_to=(world.clock.now() - timedelta(days=1)).isoformat()) == [
        a2,
        a1,
    ]
    page = world.get("county_staff", "/api/v1/cases", params={"limit": 2, "offset": 1}).json()
    assert page["total"] == 3 and [c["case_no"] for c in page["items"]] == [a2, a1]
    assert world.get("county_staff", "/api/v1/cases", params={"limit": 0}).status_code == 422


def test_departments_see_the_cases_they_work_on(world: World) -> None:
    case_no = world.report(data={"rounds": 0, "handler_org": "dept_water", "checker_org": "town_a"})
    r = world.get("dept_user", f"/api/v1/cases/{case_no}")
    assert r.status_code == 200
    assert [c["case_no"] for c in world.get("dept_user", "/api/v1/cases").json()["items"]] == [
        case_no
    ]
    assert world.get("handler_b", f"/api/v1/cases/{case_no}").status_code == 404


def test_suspend_resume_cancel(world: World) -> None:
    case_no = world.report()
    url = f"/api/v1/cases/{case_no}"
    assert world.post("town_a_staff", f"{url}/suspend", json={}).status_code == 422
    r = world.post("town_a_staff", f"{url}/suspend", json={"reason": "当事人住院"})
    assert r.status_code == 200 and r.json()["case"]["status"] == "SUSPENDED"
    assert r.json()["instance_status"] == "suspended"
    r = world.post("town_a_staff", f"{url}/suspend", json={"reason": "again"})
    assert r.status_code == 409 and r.json()["code"] == "instance_not_active"
    task = world.open_task(case_no)
    world.post("handler_a", f"/api/v1/tasks/{task}/claim")
    r = world.post("handler_a", f"/api/v1/tasks/{task}/complete", json={"data": {"result": "x"}})
    assert r.status_code == 409 and r.json()["code"] == "instance_not_active"
    assert r.json()["context"] == {"status": "suspended"}
    r = world.post("town_a_staff", f"{url}/resume")
    assert r.status_code == 200 and r.json()["case"]["status"] == "IN_PROGRESS"
    r = world.post("county_staff", f"{url}/cancel", json={"reason": "重复上报"})
    assert r.status_code == 200 and r.json()["case"]["status"] == "CANCELLED"
    assert r.json()["open_tasks"] == []
    assert world.post("county_staff", f"{url}/resume", json={"reason": "x"}).status_code == 409


def test_only_centre_staff_control_cases(world: World) -> None:
    case_no = world.report()
    url = f"/api/v1/cases/{case_no}/suspend"
    for user in ("grid_a", "handler_a", "auditor_a", "auditor_county"):
        assert world.post(user, url, json={"reason": "x"}).status_code == 403, user
    for user in ("town_b_staff", "grid_b", "designer", "admin"):
        assert world.post(user, url, json={"reason": "x"}).status_code == 404, user
