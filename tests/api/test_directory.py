"""The forms' pickers: ``GET /orgs`` and ``GET /directory/users`` within the caller's reach.

The fixture's tree (tests/api/conftest.py) plus a second county of our own, which nobody in the
first may see or pick.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.storage.models import OrgUnit, User, UserRole
from tests.api.conftest import UNITS, USERS, World

ALL_COUNTY = [u[0] for u in sorted(UNITS, key=lambda u: u[3])]


@pytest.fixture
def other_county(world: World) -> World:
    with world.db.session() as s:
        s.add(OrgUnit(id="other", name="邻县", kind="county", tier="county", parent_id=None,
                      path="/other/"))  # fmt: skip
        s.add(OrgUnit(id="other_dept", name="邻县水务局", kind="department", tier="county",
                      parent_id="other", path="/other/other_dept/"))  # fmt: skip
        s.flush()
        s.add(User(id="other_user", display_name="邻县 甲", password_hash=None, active=True,
                   created_at=world.clock.now()))  # fmt: skip
        s.add(User(id="gone", display_name="离职 乙", password_hash=None, active=False,
                   created_at=world.clock.now()))  # fmt: skip
        s.flush()
        s.add(UserRole(user_id="other_user", role="handling_unit", org_id="other_dept"))
        s.add(UserRole(user_id="gone", role="handling_unit", org_id="town_a"))
    return world


def orgs(world: World, user: str, **params: Any) -> list[str]:
    r = world.get(user, "/api/v1/orgs", params=params)
    assert r.status_code == 200, r.text
    return [o["id"] for o in r.json()]


def users(world: World, user: str, **params: Any) -> list[tuple[str, str, list[str]]]:
    r = world.get(user, "/api/v1/directory/users", params=params)
    assert r.status_code == 200, r.text
    return [(u["username"], u["org_id"], u["roles"]) for u in r.json()]


def test_orgs_answer_the_pickers_shape(world: World) -> None:
    r = world.get("town_a_staff", "/api/v1/orgs", params={"kind": "village"})
    assert r.status_code == 200
    assert r.json() == [
        {"id": "village_a1", "name": "village_a1", "kind": "village", "tier": "village",
         "parent_id": "town_a"},
    ]  # fmt: skip


def test_jurisdiction_is_the_subtree_of_ones_units(other_county: World) -> None:
    w = other_county
    assert orgs(w, "grid_a") == ["grid_a1"]
    assert orgs(w, "grid_a", kind="grid", scope="mine") == ["grid_a1"]
    assert orgs(w, "town_a_staff") == ["town_a", "village_a1", "grid_a1"]
    assert orgs(w, "town_a_staff", scope="tier", kind=["village", "grid"]) == [
        "village_a1",
        "grid_a1",
    ]
    assert orgs(w, "town_b_staff", kind="grid") == ["grid_b1"]
    assert orgs(w, "county_staff") == ALL_COUNTY
    assert orgs(w, "dept_user") == ["dept_water"]


def test_county_scope_reaches_the_whole_county_and_no_other(other_county: World) -> None:
    w = other_county
    assert orgs(w, "grid_a", scope="county") == ALL_COUNTY
    assert orgs(w, "town_a_staff", scope="county", kind="department") == ["dept_water"]
    assert "other_dept" not in orgs(w, "county_staff", scope="county")
    assert orgs(w, "other_user", scope="county") == ["other", "other_dept"]


def test_search_and_lookup_by_id(other_county: World) -> None:
    w = other_county
    assert orgs(w, "town_a_staff", scope="county", q="WATER") == ["dept_water"]
    assert orgs(w, "town_a_staff", scope="county", q="%") == []  # a literal, not a wildcard
    assert orgs(w, "town_a_staff", id=["grid_a1", "grid_b1"]) == ["grid_a1"]
    assert orgs(w, "town_a_staff", scope="county", id=["grid_a1", "grid_b1"]) == [
        "grid_a1",
        "grid_b1",
    ]
    assert orgs(w, "county_staff", scope="county", id="other_dept") == []
    assert len(orgs(w, "county_staff", limit=2)) == 2


def test_bad_parameters_are_named(world: World) -> None:
    r = world.get("town_a_staff", "/api/v1/orgs", params={"kind": "planet"})
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_input" and "planet" in r.json()["detail"]
    assert r.json()["field"] == "kind"
    r = world.get("town_a_staff", "/api/v1/orgs", params={"scope": "world"})
    assert r.status_code == 422
    assert any("scope" in e["path"] for e in r.json()["errors"])
    r = world.get("town_a_staff", "/api/v1/directory/users", params={"role": "king"})
    assert r.status_code == 422 and r.json()["field"] == "role"
    assert world.client.get("/api/v1/orgs").status_code == 401
    assert world.client.get("/api/v1/directory/users").status_code == 401


def test_users_holding_a_role_in_reach(other_county: World) -> None:
    w = other_county
    assert users(w, "town_a_staff", role="handling_unit", org="town_a") == [
        ("handler_a", "town_a", ["handling_unit"]),
        ("handler_a2", "town_a", ["handling_unit"]),
    ]  # the deactivated user is not offered
    leaders = users(w, "town_b_staff", role="case_leader")
    assert leaders == [("leader_a", "town_a", ["case_leader"])]  # county scope by default
    assert users(w, "town_b_staff", role="case_leader", scope="jurisdiction") == []
    assert users(w, "town_a_staff", q="HANDLER_A2") == [("handler_a2", "town_a", ["handling_unit"])]
    everyone = users(w, "grid_a")
    assert {u for u, _, _ in everyone} == set(USERS)  # the county; not other_user, not gone


def test_a_unit_out_of_reach_is_not_found(other_county: World) -> None:
    w = other_county
    r = w.get("county_staff", "/api/v1/directory/users", params={"org": "other_dept"})
    assert r.status_code == 404
    r = w.get("grid_a", "/api/v1/directory/users", params={"org": "nowhere"})
    assert r.status_code == 404
    r = w.get(
        "grid_a", "/api/v1/directory/users", params={"org": "town_b", "scope": "jurisdiction"}
    )
    assert r.status_code == 404


def test_no_password_data_is_answered(world: World) -> None:
    r = world.get("county_staff", "/api/v1/directory/users")
    assert r.status_code == 200 and r.json()
    for entry in r.json():
        assert set(entry) == {"username", "display_name", "org_id", "roles"}
    assert "argon2" not in r.text


def test_a_user_holding_several_roles_in_one_unit_is_one_entry(world: World) -> None:
    with world.db.session() as s:
        s.add(UserRole(user_id="town_a_staff", role="supervisor", org_id="town_a"))
    assert users(world, "county_staff", org="town_a", q="town_a_staff") == [
        ("town_a_staff", "town_a", ["supervisor", "township_center"])
    ]


def test_every_role_reaches_its_own_units_only(other_county: World) -> None:
    """The directory rows of the permission matrix: every user × both endpoints."""
    w = other_county
    paths = {uid: path for uid, _, _, path in UNITS}
    wrong = []
    for user, grants in USERS.items():
        roots = [paths[org] for _, org in grants]
        mine = [u for u in ALL_COUNTY if any(paths[u].startswith(r) for r in roots)]
        got = orgs(w, user)
        if got != mine:
            wrong.append(f"{user}: jurisdiction {got} want {mine}")
        if orgs(w, user, scope="county") != ALL_COUNTY:
            wrong.append(f"{user}: county scope")
        if {u for u, _, _ in users(w, user)} != set(USERS):
            wrong.append(f"{user}: users")
    assert not wrong, "\n".join(wrong)
