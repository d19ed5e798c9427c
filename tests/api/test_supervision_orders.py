"""Human 督办 through the API, on the demo county: issuing (who may), the unit's answer
(情况说明, validated by the form), the ladder of an unanswered order, 约谈 → 督查, circulars;
notices listed, read and acknowledged by their recipients."""

from __future__ import annotations

from datetime import datetime, timedelta

from engine.notify import DEAD, enqueue
from engine.scheduler import Scheduler
from engine.supervision import Supervision
from tests.api.conftest import World
from tests.engine.support import events

ORDERS = "/api/v1/supervision/orders"
ANSWER = {"explanation": "已约见双方当事人，正在核实工资发放记录。", "progress": "in_progress",
          "responsible_person": "高警官"}  # fmt: skip


def sweeper(demo: World) -> Scheduler:
    found = next(x for x in demo.engine.listeners if isinstance(x, Supervision))
    return Scheduler(demo.db, engine=demo.engine, clock=demo.clock, owner="t",
                     handlers=found.due_handlers())  # fmt: skip


def issue(demo: World, user: str = "super01", **body: object) -> dict[str, object]:
    r = demo.post(user, ORDERS, json={"title": "欠薪纠纷久拖未决", "target_org": "qs-dc-pcs",
                                      "limit_days": 2, **body})  # fmt: skip
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_an_order_is_issued_by_a_supervisor_and_answered_by_the_unit(demo: World) -> None:
    refused = demo.post("grid01", ORDERS, json={"title": "x", "target_org": "qs-dc-pcs"})
    assert refused.status_code == 403
    # a township centre issues within its own area only
    other = demo.post("town02", ORDERS, json={"title": "x", "target_org": "qs-dc-pcs"})
    assert other.status_code == 403
    assert issue(demo, "town01", title="东城街道督办")["issued_by"] == "town01"
    assert (
        demo.post("super01", ORDERS, json={"title": "x", "target_org": "nowhere"}).status_code
        == 404
    )
    order = issue(demo)
    assert (order["state"], order["kind"], order["level"], order["rung"]) == (
        "open", "order", 1, "警示",
    )  # fmt: skip
    assert order["due_at"] and order["limit_days"] == 2
    mine = demo.get("police01", ORDERS, params={"mine": "true", "state": "open"}).json()["items"]
    assert order["id"] in [o["id"] for o in mine] and len(mine) == 2
    assert demo.get("police02", ORDERS, params={"mine": "true"}).json()["items"] == []
    url = f"{ORDERS}/{order['id']}/answer"
    assert demo.post("police02", url, json=ANSWER).status_code == 403  # not their unit
    bad = demo.post("police01", url, json={"progress": "in_progress"})
    assert bad.status_code == 422 and "explanation" in bad.text
    done = demo.post("police01", url, json=ANSWER)
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["answered_by"]) == ("answered", "police01")
    assert demo.post("police01", url, json=ANSWER).status_code == 409  # answered once
    # the issuer is told; the answer is in the order's audit chain
    notes = demo.get("super01", "/api/v1/notifications").json()["items"]
    assert any(n["kind"] == "supervision_order" and n["payload"]["order_id"] == order["id"]
               and n["title"].startswith("【督办回复】") for n in notes)  # fmt: skip
    kinds = [e.event_type for e in events(demo.db, str(order["id"]))]  # the order's own chain
    assert kinds == ["supervision_order_issued", "supervision_order_answered"]
    assert demo.get("auditor", "/api/v1/audit/verify").json()["ok"] is True


def test_an_unanswered_order_climbs_the_ladder(demo: World) -> None:
    order = issue(demo)
    due = order["due_at"]
    assert isinstance(due, str)
    scheduler = sweeper(demo)
    at = datetime.fromisoformat(due)
    scheduler.sweep_once(at - timedelta(minutes=1))
    assert demo.get("super01", f"{ORDERS}/{order['id']}").json()["level"] == 1
    demo.clock.set(at + timedelta(seconds=1))
    demo.tokens.clear()  # issued two working days ago: expired
    scheduler.sweep_once()
    after = demo.get("super01", f"{ORDERS}/{order['id']}").json()
    assert (after["level"], after["rung"], after["state"]) == (2, "通报", "open")
    assert after["due_at"] > due  # the next rung after another limit
    scheduler.sweep_once()  # firing again changes nothing
    assert demo.get("super01", f"{ORDERS}/{order['id']}").json()["level"] == 2
    # the unit's leader (the street's 包案领导, leader02) has the copy
    notes = demo.get("leader02", "/api/v1/notifications").json()["items"]
    assert any(n["kind"] == "supervision_order_cc" and "通报" in n["title"] for n in notes)


def test_an_interview_without_improvement_calls_an_inspection(demo: World) -> None:
    interview = issue(demo, kind="interview", title="约谈东城派出所负责人")
    assert interview["state"] == "scheduled"
    url = f"{ORDERS}/{interview['id']}/outcome"
    assert demo.post("police01", url, json={"outcome": "x", "improved": False}).status_code == 403
    r = demo.post("county01", url, json={"outcome": "整改措施不到位。", "improved": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["outcome"]) == ("recorded", "整改措施不到位。")
    follow = body["follow_up"]
    assert (follow["kind"], follow["trigger"], follow["parent_id"]) == (
        "inspection", "interview_no_improvement", interview["id"],
    )  # fmt: skip
    assert demo.post("county01", url, json={"outcome": "y", "improved": True}).status_code == 409


def test_a_circular_reaches_the_unit_and_its_superior_and_is_listed(demo: World) -> None:
    circular = issue(demo, kind="circular", title="十一月超期案件通报", target_org="qs-dc-hp")
    assert circular["state"] == "published" and circular["case_no"] is None
    listed = demo.get("county01", "/api/v1/supervision/circulars").json()["items"]
    assert [c["id"] for c in listed] == [circular["id"]]
    for user in ("village01", "leader02"):  # the community and the street above it
        notes = demo.get(user, "/api/v1/notifications").json()["items"]
        assert any(n["payload"].get("order_id") == circular["id"] for n in notes), user


def test_notices_are_read_and_acknowledged_by_their_recipients_only(demo: World) -> None:
    issue(demo)
    page = demo.get("police01", "/api/v1/notifications").json()
    [note] = [n for n in page["items"] if n["kind"] == "supervision_order"]
    assert page["unread"] >= 1 and page["unacked"] >= 1
    assert demo.get("grid01", f"/api/v1/notifications/{note['id']}").status_code == 404
    read = demo.get("police01", f"/api/v1/notifications/{note['id']}").json()
    assert read["read_at"] and read["acked_at"] is None
    acked = demo.post("police01", f"/api/v1/notifications/{note['id']}/ack").json()
    assert acked["acked_at"]
    after = demo.get("police01", "/api/v1/notifications", params={"unacked": "true"}).json()
    assert note["id"] not in [n["id"] for n in after["items"]]
    assert after["unacked"] == page["unacked"] - 1
    assert demo.get("police01", "/api/v1/notifications/outbox").status_code == 403


def test_dead_letters_are_listed_and_requeued_by_an_operator(demo: World) -> None:
    with demo.db.session() as s:
        row = enqueue(s, now=demo.clock.now(), kind="ladder_warning", title="【警示】",
                      recipient_org="qs-dc-pcs")  # fmt: skip
        row.state, row.attempts, row.payload = DEAD, 8, {"last_error": "gateway answered 503"}
        s.flush()
        dead_id = row.id
    assert demo.get("police01", "/api/v1/notifications/outbox").status_code == 403
    dead = demo.get("admin", "/api/v1/notifications/outbox").json()
    assert [(d["id"], d["delivery"]) for d in dead] == [
        (dead_id, {"state": "dead", "attempts": 8, "last_error": "gateway answered 503"})
    ]
    again = demo.post("admin", f"/api/v1/notifications/{dead_id}/requeue")
    assert again.status_code == 200 and again.json()["delivery"]["state"] == "pending"
    assert demo.get("admin", "/api/v1/notifications/outbox").json() == []
    assert demo.post("admin", f"/api/v1/notifications/{dead_id}/requeue").status_code == 409
