"""What a request costs the database, and that the cheaper paths still read the caller fresh.

Each pooled connection checkout is a transaction of its own (on PostgreSQL a ping, BEGIN and
COMMIT round trips besides the statements). The hot task requests were cut to: the inbox one
transaction, a claim two (the caller and the check, then the command), a complete with an
``Idempotency-Key`` three (the caller and a read of the key; the reservation; then the check, the
command and the answer stored for retries in one transaction). The caller is still read from the database on every request: a role
taken away or a deactivated user takes effect on the next request, on every path.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import delete, event, func, select

from engine.storage.models import IdempotencyRecord, User, UserRole
from tests.api.conftest import World


@contextmanager
def checkouts(world: World) -> Iterator[list[int]]:
    seen: list[int] = []

    def count(*_a: Any) -> None:
        seen.append(1)

    event.listen(world.db.engine, "checkout", count)
    try:
        yield seen
    finally:
        event.remove(world.db.engine, "checkout", count)


def _claimable(world: World) -> str:
    case_no = world.report()
    task = world.open_task(case_no)
    world.token("handler_a")  # issued before counting (the fixture reads the user to sign it)
    return task


def test_transactions_per_request(world: World) -> None:
    task = _claimable(world)
    with checkouts(world) as inbox:
        assert world.get("handler_a", "/api/v1/tasks").status_code == 200
    with checkouts(world) as claim:
        assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 200
    key = {"Idempotency-Key": "done-1"}
    body = {"data": {"result": "已处置"}}
    with checkouts(world) as complete:
        first = world.post("handler_a", f"/api/v1/tasks/{task}/complete", json=body, headers=key)
    assert first.status_code == 200, first.text
    assert (len(inbox), len(claim), len(complete)) == (1, 2, 3)
    # the answer stored with the route's last read is what a retry gets
    with checkouts(world) as retry:
        again = world.post("handler_a", f"/api/v1/tasks/{task}/complete", json=body, headers=key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.content == first.content
    assert len(retry) == 1


def test_a_revoked_role_takes_effect_on_the_next_request(world: World) -> None:
    task = _claimable(world)
    assert [t["id"] for t in world.get("handler_a", "/api/v1/tasks").json()["items"]] == [task]
    with world.db.session() as s:
        s.execute(delete(UserRole).where(UserRole.user_id == "handler_a"))
    assert world.get("handler_a", "/api/v1/tasks").json()["items"] == []
    r = world.post("handler_a", f"/api/v1/tasks/{task}/claim")
    assert r.status_code == 404  # no longer in their jurisdiction: not found
    r = world.post("handler_a", f"/api/v1/tasks/{task}/claim", headers={"Idempotency-Key": "c1"})
    assert r.status_code == 404
    with world.db.session() as s:
        s.add(UserRole(user_id="handler_a", role="handling_unit", org_id="town_a"))
    r = world.post("handler_a", f"/api/v1/tasks/{task}/claim", headers={"Idempotency-Key": "c2"})
    assert r.status_code == 200 and r.json()["assignee"] == "handler_a"


def test_a_deactivated_user_is_refused_on_every_path(world: World) -> None:
    task = _claimable(world)
    with world.db.session() as s:
        user = s.get(User, "handler_a")
        assert user is not None
        user.active = False
    assert world.get("handler_a", "/api/v1/tasks").status_code == 401
    assert world.post("handler_a", f"/api/v1/tasks/{task}/claim").status_code == 401
    r = world.post("handler_a", f"/api/v1/tasks/{task}/claim", headers={"Idempotency-Key": "k"})
    assert r.status_code == 401
    with world.db.session() as s:  # nothing was reserved for the refused request
        assert s.scalar(select(func.count()).select_from(IdempotencyRecord)) == 0
