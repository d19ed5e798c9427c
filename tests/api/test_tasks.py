"""The inbox, task detail with its form, and the task commands."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from engine.storage.models import HumanTask
from tests.api.conftest import World


def test_inbox_scopes(world: World) -> None:
    a = world.report()
    b = world.report(
        "grid_b",
        grid_code="grid_b1",
        data={"rounds": 0, "handler_org": "town_b", "checker_org": "town_b"},
    )

    def cases(user: str, scope: str, **params: object) -> list[str]:
        r = world.get(user, "/api/v1/tasks", params={"scope": scope, **params})
        assert r.status_code == 200, r.text
        return [t["case_no"] for t in r.json()["items"]]

    assert cases("handler_a", "candidate") == [a]
    assert cases("handler_b", "candidate") == [b]
    assert cases("town_a_staff", "candidate") == []  # a different role at the same unit
    assert cases("grid_a", "candidate") == []
    assert cases("handler_a", "mine") == []
    task = world.open_task(a)
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    assert cases("handler_a", "mine") == [a]
    assert cases("handler_a", "candidate") == []
    assert cases("handler_a2", "candidate") == []
    assert sorted(cases("county_staff", "jurisdiction")) == sorted([a, b])
    assert cases("auditor_a", "jurisdiction") == [a]
    assert cases("county_staff", "jurisdiction", state="claimed") == [a]
    assert world.get("handler_a", "/api/v1/tasks", params={"scope": "all"}).status_code == 422


def test_inbox_sorting(world: World) -> None:
    first, second, third = world.report(), world.report(), world.report()
    now = world.clock.now()
    with world.db.session() as s:
        for case_no, due, priority in ((first, 5, 10), (second, 1, 20), (third, None, 90)):
            task = s.query(HumanTask).filter_by(case_no=case_no).one()
            task.due_at = now + timedelta(hours=due) if due else None
            task.priority = priority
    r = world.get("handler_a", "/api/v1/tasks", params={"sort": "due"}).json()
    assert [t["case_no"] for t in r["items"]] == [second, first, third]
    r = world.get("handler_a", "/api/v1/tasks", params={"sort": "priority"}).json()
    assert [t["case_no"] for t in r["items"]] == [third, second, first]
    world.clock.advance(timedelta(hours=2))
    r = world.get("handler_a", "/api/v1/tasks", params={"limit": 1}).json()
    assert r["total"] == 3 and r["items"][0]["overdue"] is True


def test_task_detail_has_form_ui_schema_and_data(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    r = world.get("handler_a", f"/api/v1/tasks/{task}")
    assert r.status_code == 200
    detail = r.json()
    assert detail["task"]["name"] == "处置" and detail["task"]["priority"] == 70
    assert detail["form_schema"]["required"] == ["result"]
    assert detail["ui_schema"] == {"result": {"ui:widget": "textarea"}}
    assert detail["data"]["title"] == "邻里噪音纠纷" and detail["data"]["case_no"] == case_no
    assert world.get("handler_b", f"/api/v1/tasks/{task}").status_code == 404
    assert world.get("handler_a", "/api/v1/tasks/no-such-task").status_code == 404


def test_claim_complete_and_the_loop_moves_on(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    url = f"/api/v1/tasks/{task}"
    r = world.post("handler_a", f"{url}/complete", json={"data": {"result": "x"}})
    assert r.status_code == 403  # not claimed yet
    r = world.post("handler_a", f"{url}/claim")
    assert r.json()["state"] == "claimed" and r.json()["assignee"] == "handler_a"
    assert world.post("handler_a", f"{url}/claim").status_code == 200  # idempotent for the holder
    r = world.post("handler_a2", f"{url}/claim")
    assert r.status_code == 409 and r.json()["code"] == "already_claimed"
    r = world.post("handler_a", f"{url}/complete", json={"data": {"result": ""}})
    assert r.status_code == 422 and r.json()["code"] == "form_invalid"
    assert r.json()["errors"][0]["path"] == "/result"
    r = world.post("handler_a", f"{url}/complete", json={"data": {"result": "已调解"}})
    assert r.status_code == 200 and r.json()["state"] == "completed"
    r = world.post("handler_a", f"{url}/complete", json={"data": {"result": "again"}})
    assert r.status_code == 409 and r.json()["code"] == "task_not_open"
    check = world.open_task(case_no, "check")
    assert world.post("town_a_staff", f"/api/v1/tasks/{check}/claim").status_code == 200
    r = world.post("town_a_staff", f"/api/v1/tasks/{check}/complete", json={"data": {"ok": True}})
    assert r.status_code == 200
    r = world.get("grid_a", f"/api/v1/cases/{case_no}").json()
    assert r["case"]["status"] == "CLOSED" and r["instance_status"] == "completed"
    assert r["elements"]["end"] == "completed"


def test_stale_expected_version_is_409(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    world.post("handler_a", f"/api/v1/tasks/{task}/claim")
    version = world.get("handler_a", f"/api/v1/tasks/{task}").json()["instance_version"]
    r = world.post(
        "handler_a",
        f"/api/v1/tasks/{task}/complete",
        json={"data": {"result": "x"}, "expected_version": version + 5},
    )
    assert r.status_code == 409 and r.json()["code"] == "stale_version"


def test_unclaim_and_assign(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    url = f"/api/v1/tasks/{task}"
    world.post("handler_a", f"{url}/claim")
    assert world.post("handler_a2", f"{url}/unclaim").status_code == 403
    r = world.post("handler_a", f"{url}/unclaim")
    assert r.status_code == 200 and r.json()["state"] == "open"
    assert world.post("handler_a", f"{url}/unclaim").status_code == 409
    body = {"assignee": "handler_a2", "reason": "熟悉情况"}
    assert world.post("handler_a", f"{url}/assign", json=body).status_code == 403
    r = world.post("town_a_staff", f"{url}/assign", json=body)
    assert r.status_code == 200 and r.json()["assignee"] == "handler_a2"
    r = world.post("handler_a2", f"{url}/assign", json={"assignee": "handler_a", "reason": "出差"})
    assert r.status_code == 200 and r.json()["assignee"] == "handler_a"
    r = world.post("town_a_staff", f"{url}/assign", json={"assignee": "grid_a", "reason": "x"})
    assert r.status_code == 422  # not a candidate
    r = world.post("town_a_staff", f"{url}/assign", json={"assignee": "ghost", "reason": "x"})
    assert r.status_code == 422
    assert (
        world.post("town_a_staff", f"{url}/assign", json={"assignee": "handler_a"}).status_code
        == 422
    )
    r = world.post("town_a_staff", f"{url}/unclaim")  # centre staff take it back
    assert r.status_code == 200 and r.json()["assignee"] is None


def test_comments(world: World) -> None:
    case_no = world.report()
    task = world.open_task(case_no)
    url = f"/api/v1/tasks/{task}/comments"
    r = world.post("handler_a", url, json={"text": "已联系双方"})
    assert r.status_code == 201 and r.json()["author"] == "handler_a"
    assert world.post("town_a_staff", url, json={"text": "请尽快"}).status_code == 201
    assert world.post("auditor_a", url, json={"text": "x"}).status_code == 403
    assert world.post("handler_b", url, json={"text": "x"}).status_code == 404
    assert world.post("handler_a", url, json={"text": ""}).status_code == 422
    comments = world.get("auditor_a", f"/api/v1/tasks/{task}").json()["comments"]
    assert [c["text"] for c in comments] == ["已联系双方", "请尽快"]


def _race(world: World, task: str, users: list[str]) -> dict[str, int]:
    """Every user claims the task at the same moment (each in its own thread)."""
    headers = {u: world.h(u) for u in users}
    results: dict[str, int] = {}
    barrier = threading.Barrier(len(users))

    def claim(user: str) -> None:
        barrier.wait()
        r = world.client.post(f"/api/v1/tasks/{task}/claim", headers=headers[user])
        results[user] = r.status_code

    threads = [threading.Thread(target=claim, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_concurrent_claims_one_wins(world: World) -> None:
    for _ in range(3):
        task = world.open_task(world.report())
        results = _race(world, task, ["handler_a", "handler_a2"])
        assert sorted(results.values()) == [200, 409], results
        winner = next(u for u, code in results.items() if code == 200)
        assert world.get(winner, f"/api/v1/tasks/{task}").json()["task"]["assignee"] == winner


def test_tasks_carry_their_cases_severity_and_tier(world: World) -> None:
    """The inbox filters 红/黄/蓝 and tier on these (the console's chips)."""
    case_no = world.report("grid_a", severity="red", tier="township")
    task = world.open_task(case_no)
    [item] = [
        t
        for t in world.get(
            "county_staff", "/api/v1/tasks", params={"scope": "jurisdiction"}
        ).json()["items"]
        if t["id"] == task
    ]
    assert (item["severity"], item["tier"]) == ("red", "township")
    detail = world.get("handler_a", f"/api/v1/tasks/{task}").json()
    assert (detail["task"]["severity"], detail["task"]["tier"]) == ("red", "township")
    claimed = world.post("handler_a", f"/api/v1/tasks/{task}/claim").json()
    assert (claimed["severity"], claimed["tier"]) == ("red", "township")
    unclaimed = world.post("handler_a", f"/api/v1/tasks/{task}/unclaim").json()
    assert (unclaimed["severity"], unclaimed["tier"]) == ("red", "township")
    case = world.get("county_staff", f"/api/v1/cases/{case_no}").json()
    assert [(t["severity"], t["tier"]) for t in case["open_tasks"]] == [("red", "township")]


def test_the_inbox_filters_on_the_cases_severity_tier_and_overdue(world: World) -> None:
    red = world.report("grid_a", severity="red", tier="township")
    blue = world.report("grid_a", severity="blue", tier="grid")
    world.open_task(red)
    with world.db.session() as s:  # the loop's tasks have no deadline: give the blue one an hour
        task = s.get(HumanTask, world.open_task(blue))
        assert task is not None
        task.due_at = world.clock.now() + timedelta(hours=1)

    def cases(**params: Any) -> list[str]:
        """The cases of the filtered tasks, the same for a candidate and for centre staff."""
        seen = []
        for user, scope in (("handler_a", "candidate"), ("county_staff", "jurisdiction")):
            r = world.get(user, "/api/v1/tasks", params={"scope": scope, **params})
            assert r.status_code == 200, r.text
            found = sorted(t["case_no"] for t in r.json()["items"])
            assert r.json()["total"] == len(found)
            seen.append(found)
        assert seen[0] == seen[1], seen
        return seen[0]

    assert cases() == sorted([red, blue])
    assert cases(severity="red") == [red]
    assert cases(severity="blue", tier="grid") == [blue]
    assert cases(severity="red", tier="grid") == []
    assert cases(tier="township") == [red]
    everything = world.get("county_staff", "/api/v1/tasks", params={"scope": "jurisdiction"})
    assert not any(t["overdue"] for t in everything.json()["items"])
    assert cases(overdue="true") == []
    world.clock.advance(timedelta(hours=2))
    late = sorted(
        t["case_no"]
        for t in world.get(
            "county_staff", "/api/v1/tasks", params={"scope": "jurisdiction"}
        ).json()["items"]
        if t["overdue"]
    )
    assert late == [blue]
    assert cases(overdue="true") == [blue]
    assert cases(overdue="true", severity="blue") == [blue]
    assert cases(overdue="true", severity="red") == []
