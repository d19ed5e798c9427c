"""engine.orgs: the organisation file, the tree, loading into the database, lane resolution."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select

from engine.orgs import (
    ROLES,
    LaneConfig,
    LaneResolutionError,
    LaneResolver,
    OrgConfigError,
    OrgTree,
    UnknownOrg,
    argon2_hasher,
    load_org_config,
    load_organisations,
    next_tier,
    parse_lane_config,
    parse_org_config,
    tier_rank,
)
from engine.runtime import Candidate
from engine.storage.database import Database
from engine.storage.models import OrgUnit, User, UserRole

ROOT = Path(__file__).resolve().parent.parent
ORGS = ROOT / "processes" / "organisations.yaml"
LANES = ROOT / "processes" / "lanes.yaml"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def fake_hash(password: str) -> str:
    return f"plain${password}"


@pytest.fixture(scope="module")
def tree() -> OrgTree:
    return OrgTree.load(ORGS)


@pytest.fixture(scope="module")
def resolver(tree: OrgTree) -> LaneResolver:
    return LaneResolver(tree, LaneConfig.load(LANES))


def doc() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ORGS.read_text(encoding="utf-8"))
    return copy.deepcopy(loaded)


def problems(source: dict[str, Any]) -> list[str]:
    with pytest.raises(OrgConfigError) as info:
        parse_org_config(source)
    return info.value.problems


# ============================================================================ the demo tree


def test_demo_tree_has_the_promised_shape(tree: OrgTree) -> None:
    kinds = {k: len(tree.units_of_kind(k)) for k in ("county", "township", "village", "grid")}
    assert kinds == {"county": 1, "township": 2, "village": 4, "grid": 8}
    assert len(tree.units_of_kind("centre")) == 3
    names = {u.name for u in tree.units_of_kind("department")}
    for needle in (
        "派出所",
        "司法所",
        "人民法庭",
        "信访办",
        "人力资源和社会保障局",
        "住房和城乡建设局",
    ):
        assert any(needle in n for n in names), needle
    for village in tree.units_of_kind("village"):
        assert len(tree.children(village.id, kind="grid")) == 2
    for township in tree.units_of_kind("township"):
        assert len(tree.children(township.id, kind="village")) == 2
        assert tree.centre_of(township.id) is not None


def test_demo_users_cover_every_role_with_ascii_ids(tree: OrgTree) -> None:
    held = {g.role for u in tree.users.values() for g in u.roles}
    assert held == set(ROLES)
    for user in tree.users.values():
        assert user.id.isascii() and user.id == user.id.lower()
        assert any(ord(c) > 0x2E7F for c in user.display_name), user.id
    for uid in ("grid01", "village01", "town01", "county01", "police01", "leader01", "revisit01"):
        assert uid in tree.users
    config = load_org_config(ORGS)
    assert {u.password for u in config.users} == {"demo"}
    for grid in tree.units_of_kind("grid"):
        assert tree.users_with_role(grid.id, "grid_worker"), grid.id


def test_roles_match_the_access_rules() -> None:
    from engine.access import ROLES as ACCESS_ROLES

    assert set(ACCESS_ROLES) == set(ROLES)


def test_paths_tiers_and_ancestors(tree: OrgTree) -> None:
    assert tree.path("qs-dc-hp-01") == "/qs/qs-dc/qs-dc-hp/qs-dc-hp-01/"
    assert [u.id for u in tree.ancestors("qs-dc-hp-01")] == ["qs-dc-hp", "qs-dc", "qs"]
    assert tree.ancestors("qs-dc-hp-01", include_self=True)[0].id == "qs-dc-hp-01"
    assert tree.parent("qs") is None
    assert [u.id for u in tree.roots] == ["qs"]
    assert tree.tier_of("qs-dc-hp-01") == "grid"
    assert tree.tier_of("qs-dc-pcs") == "township"  # a department takes its area's tier
    assert tree.tier_of("qs-rsj") == "county"
    assert tree.tier_of("qs-xh-zzzx") == "township"
    assert tree.is_within("qs-xh-lt-02", "qs-xh")
    assert not tree.is_within("qs-xh-lt-02", "qs-dc")
    assert tree.is_within("qs-xh", "qs-xh")
    below = {u.id for u in tree.descendants("qs-dc-hp")}
    assert below == {"qs-dc-hp-01", "qs-dc-hp-02"}
    assert len(tree.descendants("qs")) == len(tree) - 1
    for unit in tree:
        if unit.parent_id:
            assert unit.path.startswith(tree.path(unit.parent_id))


def test_areas_and_centres_above_a_grid(tree: OrgTree) -> None:
    grid = "qs-xh-sq-02"
    area = tree.area(grid, "village")
    assert area is not None and area.id == "qs-xh-sq"
    township = tree.area(grid, "township")
    assert township is not None and township.id == "qs-xh"
    centre = tree.centre_above(grid, "township")
    assert centre is not None and centre.id == "qs-xh-zzzx"
    county_centre = tree.centre_above(grid, "county")
    assert county_centre is not None and county_centre.id == "qs-zzzx"
    assert tree.centre_above(grid, "village") is None  # villages have no centre unit here
    assert tree.area("qs-rsj", "township") is None
    with pytest.raises(UnknownOrg):
        tree.get("nowhere")
    assert tree.find("nowhere") is None and tree.find(None) is None


def test_tier_helpers() -> None:
    assert [next_tier(t) for t in ("grid", "village", "township", "county")] == [
        "village",
        "township",
        "county",
        None,
    ]
    assert tier_rank("grid") < tier_rank("county")


def test_users_and_their_units(tree: OrgTree) -> None:
    assert [u.id for u in tree.units_of_user("leader01", "case_leader")] == ["qs"]
    assert tree.units_of_user("leader01", "admin") == []
    assert tree.units_of_user("nobody") == []
    assert [u.id for u in tree.users_with_role("qs-zzzx", "county_center")] == ["county01"]
    user = tree.user("town02")
    assert user is not None and user.display_name.startswith("西河镇")


# ============================================================================ validation


def test_a_valid_copy_parses() -> None:
    config = parse_org_config(doc())
    assert len(config.units) == len(OrgTree.load(ORGS))


def test_errors_name_the_key_and_are_all_reported_at_once() -> None:
    d = doc()
    county = d["units"][0]
    county["children"].append({"id": "qs-new", "name": "新单位", "kind": "centre-ish"})
    dongcheng = next(c for c in county["children"] if c["id"] == "qs-dc")
    dongcheng["children"].append({"id": "qs-dc-99", "name": "错放的网格", "kind": "grid"})
    dongcheng["children"].append({"id": "qs-dc-pcs", "name": "重复", "kind": "department"})
    dongcheng["children"].append({"id": "Bad Id", "name": "x", "kind": "department"})
    d["users"][0]["roles"][0]["role"] = "king"
    d["users"][1]["roles"][0]["org"] = "nowhere"
    d["users"][2]["colour"] = "blue"
    d["users"].append({"id": "grid01", "name": "重复用户", "roles": []})
    found = problems(d)
    text = "\n".join(found)
    assert (
        f"units[0].children[{len(county['children']) - 1}].kind: unknown kind 'centre-ish'" in text
    )
    assert "a grid cannot stand under township" in text
    assert "duplicate unit id 'qs-dc-pcs'" in text
    assert "'Bad Id' is not a valid id" in text
    assert "users[0].roles[0].role: unknown role 'king'" in text
    assert "users[1].roles[0].org: unknown organisation unit 'nowhere'" in text
    assert "users[2].colour: unknown key" in text
    assert f"users[{len(d['users']) - 1}].id: duplicate user id 'grid01'" in text
    assert len(found) == 8


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(units=[]), "units: expected a non-empty list"),
        (lambda d: d.update(version=2), "version: unsupported version 2"),
        (lambda d: d.update(extra=1), "extra: unknown key"),
        (lambda d: d["units"][0].pop("name"), "units[0].name: a unit needs a name"),
        (lambda d: d["units"][0].update(kind="township"), "a township cannot stand under"),
        (lambda d: d["users"][0].update(active="yes"), "users[0].active: expected true or false"),
        (lambda d: d["users"][0].update(name=""), "users[0].name: a user needs a display name"),
        (lambda d: d["defaults"].update(password=1), "defaults.password: expected a string"),
        (
            lambda d: d["units"][0]["children"][0].update(children=[{"id": "x", "name": "x"}]),
            "a centre cannot have child units",
        ),
        (
            lambda d: d["users"][0]["roles"].append(dict(d["users"][0]["roles"][0])),
            "the same role in the same unit is given twice",
        ),
    ],
)
def test_single_mistakes(mutate: Any, message: str) -> None:
    d = doc()
    mutate(d)
    assert any(message in p for p in problems(d)), problems(d)


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(OrgConfigError, match="cannot read the file"):
        load_org_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("units: [\n  - id: x\n", encoding="utf-8")
    with pytest.raises(OrgConfigError, match="not valid YAML"):
        load_org_config(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n", encoding="utf-8")
    with pytest.raises(OrgConfigError, match="expected a mapping"):
        load_org_config(scalar)


def test_the_error_is_an_input_error_with_details() -> None:
    d = doc()
    d["units"][0]["kind"] = "galaxy"
    with pytest.raises(OrgConfigError) as info:
        parse_org_config(d, source="orgs.yaml")
    err = info.value
    assert err.code == "invalid_input"
    assert err.to_dict()["source"] == "orgs.yaml"
    assert str(err).startswith("orgs.yaml: ")


# ============================================================================ database


def _counts(db: Database) -> tuple[int, int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(OrgUnit)) or 0,
            s.scalar(select(func.count()).select_from(User)) or 0,
            s.scalar(select(func.count()).select_from(UserRole)) or 0,
        )


def test_load_into_the_database_and_reload(db: Database, tree: OrgTree) -> None:
    with db.session() as s:
        loaded = load_organisations(s, ORGS, hash_password=fake_hash, now=NOW)
    assert len(loaded) == len(tree)
    grants = sum(len(u.roles) for u in tree.users.values())
    assert _counts(db) == (len(tree), len(tree.users), grants)
    with db.session() as s:
        grid = s.get(OrgUnit, "qs-dc-hp-01")
        assert grid is not None
        assert (grid.kind, grid.tier, grid.parent_id) == ("grid", "grid", "qs-dc-hp")
        assert grid.path == "/qs/qs-dc/qs-dc-hp/qs-dc-hp-01/"
        user = s.get(User, "county01")
        assert user is not None and user.password_hash == "plain$demo"
        assert user.created_at == NOW and user.active
        roles = s.scalars(select(UserRole).where(UserRole.user_id == "county01")).all()
        assert [(r.org_id, r.role) for r in roles] == [("qs-zzzx", "county_center")]
        # a password changed since the first load survives a reload
        user.password_hash = "changed"
    with db.session() as s:
        load_organisations(s, ORGS, hash_password=fake_hash, now=lambda: NOW)
    assert _counts(db) == (len(tree), len(tree.users), grants)
    with db.session() as s:
        user = s.get(User, "county01")
        assert user is not None and user.password_hash == "changed"


def test_reload_replaces_a_listed_users_roles(db: Database, tmp_path: Path) -> None:
    with db.session() as s:
        load_organisations(s, ORGS, hash_password=fake_hash, now=NOW)
    d = doc()
    county01 = next(u for u in d["users"] if u["id"] == "county01")
    county01["roles"] = [{"org": "qs-zzzx", "role": "supervisor"}]
    county01["name"] = "县综治中心 何主任(督办)"
    d["users"] = [county01]
    path = tmp_path / "orgs.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
    with db.session() as s:
        load_organisations(s, path, hash_password=fake_hash, now=NOW)
    with db.session() as s:
        roles = s.scalars(select(UserRole).where(UserRole.user_id == "county01")).all()
        assert [(r.org_id, r.role) for r in roles] == [("qs-zzzx", "supervisor")]
        user = s.get(User, "county01")
        assert user is not None and user.display_name.endswith("(督办)")
        # users not in the second file keep everything
        assert s.scalars(select(UserRole).where(UserRole.user_id == "town01")).all()


def test_real_argon2_hashes_verify(db: Database, tmp_path: Path) -> None:
    from argon2 import PasswordHasher

    small = {
        "version": 1,
        "units": [{"id": "c", "name": "县", "kind": "county"}],
        "users": [{"id": "u1", "name": "用户", "password": "secret-demo", "roles": []}],
    }
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small, allow_unicode=True), encoding="utf-8")
    with db.session() as s:
        load_organisations(s, path, hash_password=argon2_hasher(), now=NOW)
    with db.session() as s:
        user = s.get(User, "u1")
        assert user is not None and user.password_hash is not None
        assert user.password_hash.startswith("$argon2")
        assert PasswordHasher().verify(user.password_hash, "secret-demo")


def test_naive_now_is_refused(db: Database) -> None:
    with db.session() as s, pytest.raises(ValueError, match="aware"):
        load_organisations(s, ORGS, hash_password=fake_hash, now=datetime(2026, 1, 1))


# ============================================================================ lanes


def resolve(r: LaneResolver, lane: str | None, element: str = "task", **data: Any) -> Candidate:
    return r.resolve(lane=lane, element_id=element, properties={}, data=data)


def test_fixed_tier_lanes_follow_the_grid(resolver: LaneResolver) -> None:
    g = "qs-xh-lt-01"
    assert resolve(resolver, "网格员", grid_code=g) == Candidate(g, "grid_worker")
    assert resolve(resolver, "村(社区)", grid_code=g) == Candidate("qs-xh-lt", "village_cmte")
    assert resolve(resolver, "乡镇(街道)综治中心", grid_code=g) == Candidate(
        "qs-xh-zzzx", "township_center"
    )
    assert resolve(resolver, "县级综治中心", grid_code=g) == Candidate("qs-zzzx", "county_center")
    assert resolve(resolver, "回访员", grid_code=g) == Candidate("qs-zzzx", "revisit_agent")


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("grid", Candidate("qs-dc-yq", "village_cmte")),
        ("village", Candidate("qs-dc-yq", "village_cmte")),
        ("township", Candidate("qs-dc-zzzx", "township_center")),
        ("county", Candidate("qs-zzzx", "county_center")),
        ("", Candidate("qs-dc-zzzx", "township_center")),  # before routing
    ],
)
def test_the_tier_centre_follows_escalation(
    resolver: LaneResolver, tier: str, expected: Candidate
) -> None:
    assert resolve(resolver, "当前层级综治中心", grid_code="qs-dc-yq-02", tier=tier) == expected


@pytest.mark.parametrize(
    ("unit", "role"),
    [
        ("qs-dc-pcs", "handling_unit"),
        ("qs-rsj", "handling_unit"),
        ("qs-dc-hp-01", "grid_worker"),
        ("qs-dc-hp", "village_cmte"),
        ("qs-dc-zzzx", "township_center"),
        ("qs-zzzx", "county_center"),
    ],
)
def test_the_handling_unit_lane_goes_to_the_chosen_unit(
    resolver: LaneResolver, unit: str, role: str
) -> None:
    got = resolve(resolver, "承办单位/职能部门", grid_code="qs-dc-hp-01", handling_unit=unit)
    assert got == Candidate(unit, role)


def test_case_leader_is_assigned_by_name(resolver: LaneResolver) -> None:
    assert resolve(resolver, "包案领导", grid_code="qs-dc-hp-01", case_leader="leader01") == (
        Candidate("qs", "case_leader", "leader01")
    )
    assert resolve(resolver, "包案领导", grid_code="qs-dc-hp-01", case_leader="leader02") == (
        Candidate("qs-dc", "case_leader", "leader02")
    )
    # an unknown or missing leader falls back to the county centre (首问负责), unassigned
    for leader in ("ghost", None):
        assert resolve(resolver, "包案领导", grid_code="qs-dc-hp-01", case_leader=leader) == (
            Candidate("qs-zzzx", "county_center")
        )


def test_whistled_departments_report_in_themselves(resolver: LaneResolver) -> None:
    lane = "职能部门(吹哨报到)"
    for dept in ("qs-xh-pcs", "qs-zjj", "qs-xh-fating"):
        got = resolve(resolver, lane, grid_code="qs-xh-sq-01", whistle_department=dept)
        assert got == Candidate(dept, "handling_unit")


def test_missing_data_falls_back_to_the_county_centre(resolver: LaneResolver) -> None:
    assert resolve(resolver, "承办单位/职能部门", grid_code="qs-dc-hp-01") == Candidate(
        "qs-zzzx", "county_center"
    )
    assert resolve(
        resolver, "承办单位/职能部门", grid_code="qs-xh-sq-01", handling_unit="nowhere"
    ) == Candidate("qs-zzzx", "county_center")


def test_no_fallback_and_nothing_found_is_an_error(tree: OrgTree) -> None:
    config = parse_lane_config(
        {"lanes": {"网格员": {"role": "grid_worker", "org": {"area": "grid"}}}}
    )
    r = LaneResolver(tree, config)
    with pytest.raises(LaneResolutionError, match="no organisation unit found"):
        resolve(r, "网格员", grid_code="unknown-grid")
    # a lane nobody mapped falls back to the task's own properties
    assert r.resolve(
        lane="外部 lane",
        element_id="x",
        properties={"candidateOrg": "=handling_unit", "candidateRole": "handling_unit"},
        data={"handling_unit": "qs-rsj"},
    ) == Candidate("qs-rsj", "handling_unit")


def test_task_properties_override_the_lane(resolver: LaneResolver) -> None:
    got = resolver.resolve(
        lane="乡镇(街道)综治中心",
        element_id="screen_case",
        properties={"candidateRole": "supervisor", "assignee": "=reviewer"},
        data={"grid_code": "qs-dc-hp-01", "reviewer": "town01"},
    )
    assert got == Candidate("qs-dc-zzzx", "supervisor", "town01")


def test_element_rules_come_before_lane_rules(tree: OrgTree) -> None:
    config = parse_lane_config(
        {
            "lanes": {"县级综治中心": {"role": "county_center", "org": {"centre": "county"}}},
            "elements": {"approve_hang": {"role": "supervisor", "org": {"org": "qs-zzzx"}}},
        }
    )
    r = LaneResolver(tree, config)
    assert resolve(r, "县级综治中心", "approve_hang", grid_code="qs-dc-hp-01") == Candidate(
        "qs-zzzx", "supervisor"
    )
    assert resolve(r, "县级综治中心", "approve_extension", grid_code="qs-dc-hp-01") == Candidate(
        "qs-zzzx", "county_center"
    )


def test_a_by_tier_rule_may_read_its_own_tier_field(tree: OrgTree) -> None:
    """延期 approval: the approver's tier is decided by the process, not the case's tier."""
    by_tier = {
        "village": {"role": "village_cmte", "org": {"area": "village"}},
        "township": {"role": "township_center", "org": {"centre": "township"}},
    }
    config = parse_lane_config(
        {"lanes": {"甲": {"tier_field": "approval_tier", "by_tier": by_tier}}}
    )
    r = LaneResolver(tree, config)
    data = {"grid_code": "qs-dc-hp-01", "tier": "village", "approval_tier": "township"}
    assert resolve(r, "甲", "x", **data).role == "township_center"
    assert resolve(r, "甲", "x", **{**data, "approval_tier": "village"}) == Candidate(
        "qs-dc-hp", "village_cmte"
    )
    with pytest.raises(OrgConfigError, match="tier_field: only allowed next to by_tier"):
        parse_lane_config(
            {"lanes": {"乙": {"role": "admin", "org": {"org": "qs"}, "tier_field": "t"}}}
        )


def test_lane_file_errors_name_the_key(tree: OrgTree) -> None:
    bad = {
        "lanes": {
            "甲": {"role": "wizard", "org": {"area": "planet"}},
            "乙": {"role": "grid_worker", "org": {"area": "grid", "field": "x"}},
            "丙": {"role": "grid_worker"},
            "丁": {"by_tier": {"moon": {"role": "grid_worker", "org": {"area": "grid"}}}},
            "戊": {"org": {"user_unit": "case_leader"}, "role_by_kind": {"default": "admin"}},
            "己": {"role": "grid_worker", "org": {"area": "grid"}, "assignee": "x"},
        },
        "colour": 1,
    }
    with pytest.raises(OrgConfigError) as info:
        parse_lane_config(bad, source="lanes.yaml")
    text = "\n".join(info.value.problems)
    assert "lanes.甲.role: unknown role 'wizard'" in text
    assert "lanes.甲.org.area: expected one of" in text
    assert "lanes.乙.org: expected exactly one of" in text
    assert "lanes.丙.org: missing" in text
    assert "lanes.丁.by_tier.moon: unknown tier" in text
    assert "lanes.戊.org: user_unit needs the rule's role" in text
    assert "lanes.己.assignee: expected {field: NAME}" in text
    assert "colour: unknown key" in text
    fixed_unknown = parse_lane_config(
        {"lanes": {"甲": {"role": "admin", "org": {"org": "atlantis"}}}}, source="lanes.yaml"
    )
    with pytest.raises(OrgConfigError, match="unknown organisation unit 'atlantis'"):
        LaneResolver(tree, fixed_unknown)


def test_the_shipped_lane_file_loads() -> None:
    config = LaneConfig.load(LANES)
    assert config.grid_field == "grid_code" and config.tier_field == "tier"
    assert set(config.lanes) >= {
        "网格员",
        "村(社区)",
        "乡镇(街道)综治中心",
        "县级综治中心",
        "当前层级综治中心",
        "承办单位/职能部门",
        "包案领导",
        "回访员",
    }
    assert config.fallback is not None
