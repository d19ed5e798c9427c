"""The inbox's merged page (one statement for every branch) against a plain reference order.

The inbox reads each branch of the caller's scope (unit + role, unit without role, tasks with
no unit under an operator grant) in index order, merges them and cuts the page in SQL. These
tests build a queue with every kind of task, compare each page with the same tasks sorted in
Python, and check that the number of statements does not grow with the number of branches.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select

from engine.clock import as_utc
from engine.storage.models import HumanTask, UserRole
from tests.api.conftest import World

FAR = datetime.max.replace(tzinfo=UTC)


@contextmanager
def statements(world: World) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if not statement.startswith("BEGIN"):  # SQLite's BEGIN IMMEDIATE: not a query
            sent.append(statement)

    event.listen(world.db.engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(world.db.engine, "before_cursor_execute", count)


def _queue(world: World, n: int = 9) -> None:
    """``n`` open tasks handler_a is a candidate for, of every branch and order key: tasks of
    the unit with and without a role, tasks with no unit (by jurisdiction), ties on the due
    time broken by priority, and tasks without a due time."""
    for _ in range(n):
        world.report()
    now = world.clock.now()
    with world.db.session() as s:
        tasks = list(s.scalars(select(HumanTask).order_by(HumanTask.case_no)))
        assert len(tasks) == n
        for i, task in enumerate(tasks):
            task.due_at = None if i % 4 == 3 else now + timedelta(hours=(i * 7) % 5)
            task.priority = (i * 37) % 100
            task.created_at = now - timedelta(minutes=(i * 11) % 13)
            if i % 3 == 1:
                task.candidate_role = None  # unit branch without a role
            elif i % 3 == 2:
                task.candidate_org = None  # operator branch: by the case's place
                task.candidate_role = None if i % 2 else "handling_unit"


def _reference(world: World, sort: str) -> list[str]:
    with world.db.session() as s:
        rows = [
            (t.id, t.due_at, t.priority, t.created_at)
            for t in s.scalars(select(HumanTask).where(HumanTask.state == "open"))
        ]

    def key(r: tuple[Any, ...]) -> tuple[Any, ...]:
        ident, due, priority, created = r
        if sort == "due":
            return (due is None, due or FAR, -priority, ident)
        if sort == "priority":
            return (-priority, due is None, due or FAR, ident)
        return (-as_utc(created).timestamp(), ident)  # stored naive values are UTC

    return [r[0] for r in sorted(rows, key=key)]


def _page(world: World, user: str, scope: str = "candidate", **params: Any) -> dict[str, Any]:
    r = world.get(user, "/api/v1/tasks", params={"scope": scope, **params})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize("sort", ["due", "priority", "created"])
def test_every_page_is_the_reference_order(world: World, sort: str) -> None:
    _queue(world)
    expected = _reference(world, sort)
    assert len(expected) == 9
    pages = ((50, 0), (2, 0), (2, 2), (4, 3), (3, 6), (3, 8), (5, 9), (5, 30))
    for user, scope in (("handler_a", "candidate"), ("county_staff", "jurisdiction")):
        for limit, offset in pages:
            page = _page(world, user, scope, sort=sort, limit=limit, offset=offset)
            got = [t["id"] for t in page["items"]]
            assert got == expected[offset : offset + limit], (scope, limit, offset)
            assert page["total"] == 9, (scope, limit, offset)


def test_overlapping_grants_list_a_task_once(world: World) -> None:
    """Two operator roles in one unit both reach the tasks with no unit: each is listed once,
    and counted once."""
    _queue(world)
    with world.db.session() as s:
        s.add(UserRole(user_id="handler_a", role="case_leader", org_id="town_a"))
    expected = _reference(world, "due")
    page = _page(world, "handler_a", limit=50)
    assert [t["id"] for t in page["items"]] == expected and page["total"] == 9
    page = _page(world, "handler_a", limit=2, offset=1)
    assert [t["id"] for t in page["items"]] == expected[1:3] and page["total"] == 9


def test_statements_do_not_grow_with_the_branches(world: World) -> None:
    """One statement for the caller, one for the page (every branch), one for the capped
    count when the queue is longer than the page: 3, with 3 branches (one grant: unit + role,
    unit without role, no unit) or with 9 (four grants). The branches used to be read one
    statement each, and counted one each: 9 and 13 statements."""
    _queue(world)
    world.token("handler_a")  # issued before counting (the fixture reads the user to sign it)
    with statements(world) as one_grant:
        page = _page(world, "handler_a", limit=2)
    assert page["total"] == 9
    with world.db.session() as s:
        for role in ("case_leader", "mediator", "revisit_agent"):
            s.add(UserRole(user_id="handler_a", role=role, org_id="town_a"))
    with statements(world) as four_grants:
        page = _page(world, "handler_a", limit=2)
    assert page["total"] == 9
    assert len(one_grant) == 3, one_grant
    assert len(four_grants) == 3, four_grants
    # a page that holds the whole queue knows its total without counting
    with statements(world) as whole:
        assert _page(world, "handler_a", limit=50)["total"] == 9
    assert len(whole) == 2, whole
