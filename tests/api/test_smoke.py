from __future__ import annotations

from tests.api.conftest import World


def test_a_caseworker_loop(world: World) -> None:
    case_no = world.report()
    assert case_no.startswith("BH-2026-")
    r = world.get("handler_a", "/api/v1/tasks", params={"scope": "candidate"})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [t["element_id"] for t in items] == ["handle"]
    task_id = items[0]["id"]
    r = world.post("handler_a", f"/api/v1/tasks/{task_id}/claim")
    assert r.status_code == 200, r.text
    r = world.get("handler_a", f"/api/v1/tasks/{task_id}")
    assert r.status_code == 200, r.text
    assert r.json()["form_schema"]["title"] == "处置"
    r = world.post("handler_a", f"/api/v1/tasks/{task_id}/complete", json={"data": {"result": "调解成功"}})
    assert r.status_code == 200, r.text
    r = world.get("town_a_staff", f"/api/v1/cases/{case_no}")
    assert r.status_code == 200, r.text
    print(r.json())
