"""Read and validate ``organisations.yaml``: the organisation tree and the users with their roles.

Every problem is collected with the path of the key that caused it (``units[0].children[2].kind``)
and raised together as one :class:`OrgConfigError`, so a file with five mistakes is fixed in one
round. The result is plain frozen data; :class:`~engine.orgs.tree.OrgTree` builds the lookups.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputInvalid

#: Unit kinds and the tier each one stands for (``None``: the tier of the parent area).
KIND_TIERS: dict[str, str | None] = {
    "county": "county",
    "township": "township",
    "village": "village",
    "grid": "grid",
    "centre": None,
    "department": None,
}
AREA_KINDS = ("county", "township", "village", "grid")
#: Which kinds may stand directly under which (``None``: the top level).
ALLOWED_PARENTS: dict[str, tuple[str | None, ...]] = {
    "county": (None,),
    "township": ("county",),
    "village": ("township",),
    "grid": ("village",),
    "centre": ("county", "township", "village"),
    "department": ("county", "township", "village"),
}
#: The roles the engine knows (kept equal to ``engine.access.ROLES``; a test checks it).
ROLES = frozenset(
    {
        "grid_worker", "village_cmte", "township_center", "county_center", "handling_unit",
        "case_leader", "revisit_agent", "supervisor", "mediator", "designer", "auditor", "admin",
    }
)  # fmt: skip
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
USER_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
MAX_PATH = 600


class OrgConfigError(InputInvalid):
    """An organisation or lane file that cannot be used; ``problems`` lists every mistake."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{source}: {len(problems)} problem(s):\n{lines}", source=source, problems=problems
        )


@dataclass(frozen=True)
class UnitSpec:
    id: str
    name: str
    kind: str
    tier: str
    parent_id: str | None
    path: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RoleGrant:
    org_id: str
    role: str


@dataclass(frozen=True)
class UserSpec:
    id: str
    display_name: str
    roles: tuple[RoleGrant, ...]
    password: str | None = None
    active: bool = True


@dataclass(frozen=True)
class OrgConfig:
    """A validated organisation file: units parents-first, users in file order."""

    units: tuple[UnitSpec, ...]
    users: tuple[UserSpec, ...]
    source: str = "<organisations>"


def read_yaml(path: Path | str) -> Any:
    """Load YAML safely; a missing or unparsable file is an :class:`OrgConfigError`."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise OrgConfigError(str(p), [f"cannot read the file: {exc.strerror or exc}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise OrgConfigError(str(p), [f"not valid YAML{where}: {exc}"]) from None


def load_org_config(path: Path | str) -> OrgConfig:
    """Read and validate an organisation file."""
    return parse_org_config(read_yaml(path), source=str(path))


def parse_org_config(doc: Any, source: str = "<organisations>") -> OrgConfig:
    """Validate an already-parsed document (a mapping with ``units`` and ``users``)."""
    return _Parser(source).parse(doc)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.units: list[UnitSpec] = []
        self.unit_by_id: dict[str, UnitSpec] = {}

    def err(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def parse(self, doc: Any) -> OrgConfig:
        if not isinstance(doc, dict):
            raise OrgConfigError(self.source, ["(root): expected a mapping with units and users"])
        known = {"version", "defaults", "units", "users"}
        for key in doc:
            if key not in known:
                self.err(str(key), f"unknown key (expected one of {', '.join(sorted(known))})")
        version = doc.get("version", 1)
        if version != 1:
            self.err("version", f"unsupported version {version!r} (expected 1)")
        defaults = doc.get("defaults") or {}
        default_password: str | None = None
        if not isinstance(defaults, dict):
            self.err("defaults", "expected a mapping")
        else:
            for key in defaults:
                if key != "password":
                    self.err(f"defaults.{key}", "unknown key (expected password)")
            pw = defaults.get("password")
            if pw is not None and not isinstance(pw, str):
                self.err("defaults.password", "expected a string")
            elif isinstance(pw, str):
                default_password = pw
        units = doc.get("units")
        if not isinstance(units, list) or not units:
            self.err("units", "expected a non-empty list of units")
        else:
            for i, node in enumerate(units):
                self._unit(node, f"units[{i}]", None)
        users = doc.get("users") or []
        parsed_users: list[UserSpec] = []
        if not isinstance(users, list):
            self.err("users", "expected a list of users")
        else:
            seen: set[str] = set()
            for i, node in enumerate(users):
                raw_id = node.get("id") if isinstance(node, dict) else None
                if isinstance(raw_id, str):
                    if raw_id in seen:
                        self.err(f"users[{i}].id", f"duplicate user id {raw_id!r}")
                    seen.add(raw_id)
                user = self._user(node, f"users[{i}]", default_password)
                if user is not None:
                    parsed_users.append(user)
        if self.problems:
            raise OrgConfigError(self.source, self.problems)
        return OrgConfig(tuple(self.units), tuple(parsed_users), self.source)

    def _unit(self, node: Any, where: str, parent: UnitSpec | None) -> None:
        if not isinstance(node, dict):
            self.err(where, "expected a mapping with id, name and kind")
            return
        known = {"id", "name", "kind", "children", "attributes"}
        for key in node:
            if key not in known:
                self.err(
                    f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})"
                )
        uid, name, kind = node.get("id"), node.get("name"), node.get("kind")
        ok = True
        if not isinstance(uid, str) or not ID_PATTERN.match(uid):
            self.err(f"{where}.id", f"{uid!r} is not a valid id (a-z, 0-9, '-', '_'; ≤64)")
            ok = False
        elif uid in self.unit_by_id:
            self.err(f"{where}.id", f"duplicate unit id {uid!r}")
            ok = False
        if not isinstance(name, str) or not name.strip():
            self.err(f"{where}.name", "a unit needs a name")
            ok = False
        elif len(name) > 200:
            self.err(f"{where}.name", "longer than 200 characters")
            ok = False
        if kind not in KIND_TIERS:
            self.err(
                f"{where}.kind", f"unknown kind {kind!r} (expected one of {', '.join(KIND_TIERS)})"
            )
            ok = False
        else:
            parent_kind = parent.kind if parent is not None else None
            if parent_kind not in ALLOWED_PARENTS[kind]:
                allowed = ", ".join(k or "the top level" for k in ALLOWED_PARENTS[kind])
                self.err(
                    f"{where}.kind",
                    f"a {kind} cannot stand under {parent_kind or 'the top level'} "
                    f"(allowed under: {allowed})",
                )
                ok = False
        attributes = node.get("attributes") or {}
        if not isinstance(attributes, dict):
            self.err(f"{where}.attributes", "expected a mapping")
            attributes = {}
        children = node.get("children") or []
        if not isinstance(children, list):
            self.err(f"{where}.children", "expected a list of units")
            children = []
        if not ok:
            return
        assert isinstance(uid, str) and isinstance(name, str) and isinstance(kind, str)
        tier = KIND_TIERS[kind] or (parent.tier if parent is not None else "county")
        path = f"{parent.path if parent else '/'}{uid}/"
        if len(path) > MAX_PATH:
            self.err(f"{where}.id", f"the unit path is longer than {MAX_PATH} characters")
            return
        if kind in ("centre", "department") and children:
            self.err(f"{where}.children", f"a {kind} cannot have child units")
            children = []
        unit = UnitSpec(
            uid, name.strip(), kind, tier, parent.id if parent else None, path, attributes
        )
        self.units.append(unit)
        self.unit_by_id[uid] = unit
        for i, child in enumerate(children):
            self._unit(child, f"{where}.children[{i}]", unit)

    def _user(self, node: Any, where: str, default_password: str | None) -> UserSpec | None:
        if not isinstance(node, dict):
            self.err(where, "expected a mapping with id, name and roles")
            return None
        known = {"id", "name", "roles", "password", "active"}
        for key in node:
            if key not in known:
                self.err(
                    f"{where}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})"
                )
        uid, name = node.get("id"), node.get("name")
        ok = True
        if not isinstance(uid, str) or not USER_ID_PATTERN.match(uid):
            self.err(f"{where}.id", f"{uid!r} is not a valid user id (a-z, 0-9, '.', '-', '_')")
            ok = False
        if not isinstance(name, str) or not name.strip():
            self.err(f"{where}.name", "a user needs a display name")
            ok = False
        password = node.get("password", default_password)
        if password is not None and not isinstance(password, str):
            self.err(f"{where}.password", "expected a string")
            ok = False
        active = node.get("active", True)
        if not isinstance(active, bool):
            self.err(f"{where}.active", "expected true or false")
            ok = False
        roles_node = node.get("roles") or []
        grants: list[RoleGrant] = []
        if not isinstance(roles_node, list):
            self.err(f"{where}.roles", "expected a list of {org, role}")
            ok = False
        else:
            for j, grant in enumerate(roles_node):
                gw = f"{where}.roles[{j}]"
                if not isinstance(grant, dict) or set(grant) - {"org", "role"}:
                    self.err(gw, "expected a mapping with exactly org and role")
                    ok = False
                    continue
                org, role = grant.get("org"), grant.get("role")
                if role not in ROLES:
                    self.err(
                        f"{gw}.role",
                        f"unknown role {role!r} (expected one of {', '.join(sorted(ROLES))})",
                    )
                    ok = False
                if not isinstance(org, str) or org not in self.unit_by_id:
                    self.err(f"{gw}.org", f"unknown organisation unit {org!r}")
                    ok = False
                if ok:
                    grants.append(RoleGrant(str(org), str(role)))
            if len({(g.org_id, g.role) for g in grants}) != len(grants):
                self.err(f"{where}.roles", "the same role in the same unit is given twice")
                ok = False
        if not ok:
            return None
        assert isinstance(uid, str) and isinstance(name, str)
        return UserSpec(uid, name.strip(), tuple(grants), password, active)
