"""The periodic reports and the grid worker's 零报告 over HTTP: opened by the scheduler's job on
working days only, attested by the worker (never by the system), missing ones named in the
日排查, and every report read within the caller's jurisdiction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from engine.storage.models import ZeroReport
from engine.supervision.reports import daily_screening
from engine.supervision.zero_reports import zero_report_job
from engine.workdays import WorkCalendar
from tests.api.conftest import World

HOLIDAY = datetime(2026, 10, 3, 23, tzinfo=UTC)  # 07:00 Beijing, Oct 4: 国庆节 (a Sunday too)
WORKDAY = datetime(2026, 10, 11, 23, tzinfo=UTC)  # 07:00 Beijing, Monday Oct 12
EVENING = WORKDAY + timedelta(hours=10)  # 17:00 Beijing: the 日排查


def open_attestations(w: World) -> None:
    w.clock.set(WORKDAY + timedelta(hours=7))  # 14:00 Beijing, before any token is issued
    job = zero_report_job(WorkCalendar.load())
    with w.db.session() as s:
        job(s, HOLIDAY, HOLIDAY)
        assert s.scalar(select(func.count()).select_from(ZeroReport)) == 0  # not a working day
        job(s, WORKDAY, WORKDAY)
        job(s, WORKDAY, WORKDAY)  # a retried run opens nothing twice


def test_zero_report_attested_by_the_worker_and_missing_ones_in_the_daily_report(
    world: World,
) -> None:
    w = world
    open_attestations(w)
    mine = w.get("grid_a", "/api/v1/zero-reports").json()
    assert [(z["org_id"], z["day"], z["open"]) for z in mine] == [("grid_a1", "2026-10-12", True)]
    zid = mine[0]["id"]
    url = f"/api/v1/zero-reports/{zid}/attest"
    # another worker's attestation is not theirs to give
    assert w.post("grid_b", url, json={"nothing_to_report": True}).status_code == 404
    # the form names what is wrong
    bad = w.post("grid_a", url, json={"nothing_to_report": False, "extra": 1})
    assert bad.status_code == 422, bad.text
    assert "nothing_to_report" in bad.text and "extra" in bad.text
    ok = w.post("grid_a", url, json={"nothing_to_report": True, "note": "已走访全部楼栋。"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["open"] is False and ok.json()["note"] == "已走访全部楼栋。"
    again = w.post("grid_a", url, json={"nothing_to_report": True})
    assert again.status_code == 409
    assert w.get("grid_a", "/api/v1/zero-reports").json() == []
    assert len(w.get("grid_a", "/api/v1/zero-reports?state=all").json()) == 1
    with w.db.session() as s:
        daily_screening(s, EVENING, EVENING)
    found = w.get("county_staff", "/api/v1/reports?kind=daily_screening").json()
    daily = {r["org_id"]: r for r in found if r["period"] == "2026-10-12"}
    a = w.get("county_staff", f"/api/v1/reports/{daily['grid_a1']['id']}").json()["content"]
    assert (a["zero_report"], a["missing"], [x["user_id"] for x in a["attested"]]) == (
        True,
        [],
        ["grid_a"],
    )
    b = w.get("county_staff", f"/api/v1/reports/{daily['grid_b1']['id']}").json()["content"]
    assert (b["zero_report"], b["missing"], b["attested"]) == (False, ["grid_b"], [])
    # the next day grid_b's is closed: no longer listed, no late attestation
    late = w.get("grid_b", "/api/v1/zero-reports?state=all").json()
    w.clock.set(WORKDAY + timedelta(hours=26))  # Oct 13, 09:00 Beijing
    w.tokens.clear()
    assert w.get("grid_b", "/api/v1/zero-reports").json() == []
    refused = w.post("grid_b", f"/api/v1/zero-reports/{late[0]['id']}/attest",
                     json={"nothing_to_report": True})  # fmt: skip
    assert refused.status_code == 409 and "2026-10-12" in refused.text


def test_reports_are_read_within_the_jurisdiction(world: World) -> None:
    w = world
    open_attestations(w)
    with w.db.session() as s:
        daily_screening(s, EVENING, EVENING)

    def orgs(user: str) -> set[str]:
        r = w.get(user, "/api/v1/reports")
        assert r.status_code == 200, r.text
        return {x["org_id"] for x in r.json()}

    assert orgs("county_staff") == {"grid_a1", "grid_b1"}
    assert orgs("town_a_staff") == orgs("grid_a") == orgs("village_a") == {"grid_a1"}
    other = next(
        x for x in w.get("county_staff", "/api/v1/reports").json() if x["org_id"] == "grid_b1"
    )
    assert w.get("grid_a", f"/api/v1/reports/{other['id']}").status_code == 404
    assert w.get("handler_a", "/api/v1/reports").status_code == 403
    assert w.get("county_staff", "/api/v1/reports/999999").status_code == 404
    assert w.get("county_staff", "/api/v1/reports?kind=yearly").status_code == 422


def test_kpis_by_handling_unit_with_the_ranking(world: World) -> None:
    r = world.get("county_staff", "/api/v1/kpis", params={"period": "2026-03", "org": "county"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {"handlers", "ranking", "units"} <= set(body)
    rates = body["total"]["rates"]
    assert {"化解率", "按期办结率", "响应率", "协议履行率", "红案清零率"} <= set(rates)
