"""The directory behind the forms' pickers: organisation units and users a caller may pick.

    scope          which units are in reach (a unit's subtree is ``path LIKE unit.path || '%'``)
    jurisdiction   the subtrees of the caller's own units, as everywhere else: a 综治中心's
                   staff reach the centre's whole area (``mine`` and ``tier`` mean the same:
                   the area the caller's tier answers for — what a centre dispatches to)
    county         the whole county (the top-level area) holding any of the caller's units: a
                   township may name a county department as 协办单位 or a county leader as
                   包案领导, never a unit of another county

Units are not case data: knowing that 东城派出所 exists confirms nothing about a case, so the
answer is simply limited to the scope; a unit named outside it is *not found* like everything
else outside one's reach. Users are listed with the roles they hold in one unit each, active
users only, and nothing about their passwords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from engine.access import ROLES, Principal
from engine.errors import InputInvalid, NotFound
from engine.orgs.config import KIND_TIERS
from engine.storage.models import OrgUnit, User, UserRole

Scope = Literal["jurisdiction", "mine", "tier", "county"]
SCOPES: tuple[Scope, ...] = ("jurisdiction", "mine", "tier", "county")
KINDS = tuple(KIND_TIERS)
MAX_LIMIT = 1000


@dataclass(frozen=True)
class OrgEntry:
    id: str
    name: str
    kind: str
    tier: str | None
    parent_id: str | None


@dataclass(frozen=True)
class DirectoryUser:
    username: str
    display_name: str
    org_id: str
    roles: tuple[str, ...]


def scope_roots(principal: Principal, scope: Scope) -> list[str]:
    """The org paths whose subtrees are in reach (none for a user without roles)."""
    if scope == "county":
        tops = {"/" + g.org_path.strip("/").split("/")[0] + "/" for g in principal.grants}
        return sorted(t for t in tops if t != "//")
    return principal.paths(ROLES)


def _within(roots: Sequence[str]) -> ColumnElement[bool]:
    return or_(*(OrgUnit.path.startswith(r, autoescape=True) for r in roots))


def _check_kinds(kinds: Sequence[str]) -> None:
    for kind in kinds:
        if kind not in KIND_TIERS:
            raise InputInvalid(
                f"未知单位类型 {kind} (unknown unit kind {kind!r}; one of {', '.join(KINDS)})",
                field="kind",
            )


def list_orgs(
    s: Session,
    principal: Principal,
    *,
    kinds: Sequence[str] = (),
    scope: Scope = "jurisdiction",
    q: str | None = None,
    ids: Sequence[str] = (),
    limit: int = 200,
) -> list[OrgEntry]:
    """Units in the caller's reach, in tree order: of the given kinds, matching ``q`` in name
    or id, or exactly the ``ids`` asked for (to show the names of stored values)."""
    _check_kinds(kinds)
    roots = scope_roots(principal, scope)
    if not roots:
        return []
    stmt = select(OrgUnit).where(_within(roots))
    if kinds:
        stmt = stmt.where(OrgUnit.kind.in_(sorted(set(kinds))))
    if ids:
        stmt = stmt.where(OrgUnit.id.in_(sorted(set(ids))))
    if q:
        stmt = stmt.where(
            or_(
                OrgUnit.name.icontains(q, autoescape=True),
                OrgUnit.id.icontains(q, autoescape=True),
            )
        )
    stmt = stmt.order_by(OrgUnit.path).limit(min(limit, MAX_LIMIT))
    return [
        OrgEntry(u.id, u.name, u.kind, u.tier or _area_tier(u.kind), u.parent_id)
        for u in s.scalars(stmt)
    ]


def _area_tier(kind: str) -> str | None:
    return KIND_TIERS.get(kind)


def list_users(
    s: Session,
    principal: Principal,
    *,
    roles: Sequence[str] = (),
    org: str | None = None,
    q: str | None = None,
    scope: Scope = "county",
    limit: int = 200,
) -> list[DirectoryUser]:
    """Active users holding a role in a unit in reach: one entry per (user, unit) with the roles
    held there (only the asked ``roles``), ordered by unit then user. ``org`` names one unit
    (for 转派: who holds the task's candidate role in its candidate unit)."""
    for role in roles:
        if role not in ROLES:
            raise InputInvalid(f"未知角色 {role} (unknown role {role!r})", field="role")
    roots = scope_roots(principal, scope)
    if not roots:
        return []
    if org is not None:
        unit = s.get(OrgUnit, org)
        if unit is None or not any(unit.path.startswith(r) for r in roots):
            raise NotFound(f"没有单位 {org} (no unit {org} in your reach)")
    stmt = (
        select(User.id, User.display_name, UserRole.org_id, UserRole.role)
        .join(UserRole, UserRole.user_id == User.id)
        .join(OrgUnit, OrgUnit.id == UserRole.org_id)
        .where(User.active.is_(True), _within(roots))
    )
    if roles:
        stmt = stmt.where(UserRole.role.in_(sorted(set(roles))))
    if org is not None:
        stmt = stmt.where(UserRole.org_id == org)
    if q:
        stmt = stmt.where(
            or_(
                User.id.icontains(q, autoescape=True),
                User.display_name.icontains(q, autoescape=True),
            )
        )
    stmt = stmt.order_by(OrgUnit.path, User.id, UserRole.role)
    grouped: dict[tuple[str, str], tuple[str, list[str]]] = {}
    for user_id, display_name, org_id, role in s.execute(stmt):
        grouped.setdefault((user_id, org_id), (display_name, []))[1].append(role)
    found = [
        DirectoryUser(user_id, display_name, org_id, tuple(held))
        for (user_id, org_id), (display_name, held) in grouped.items()
    ]
    return found[: min(limit, MAX_LIMIT)]
