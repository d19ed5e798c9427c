"""Who is asking: a user and the roles they hold in organisation units (``user_roles``),
read from the database on every request."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from engine.access.roles import CASE_READERS, OPERATORS
from engine.audit import Actor
from engine.storage.models import OrgUnit, User, UserRole


@dataclass(frozen=True)
class Grant:
    role: str
    org_id: str
    org_path: str


@dataclass(frozen=True)
class Principal:
    user_id: str
    display_name: str
    grants: tuple[Grant, ...]

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(g.role for g in self.grants)

    def has_any(self, roles: Iterable[str]) -> bool:
        wanted = set(roles)
        return any(g.role in wanted for g in self.grants)

    def paths(self, roles: Iterable[str] = CASE_READERS) -> list[str]:
        """The roots of the subtrees these roles cover, without nested duplicates."""
        wanted = set(roles)
        found = sorted({g.org_path for g in self.grants if g.role in wanted}, key=len)
        roots: list[str] = []
        for path in found:
            if not any(path.startswith(r) for r in roots):
                roots.append(path)
        return roots

    def covers(self, org_path: str | None, roles: Iterable[str] = CASE_READERS) -> Grant | None:
        """The most specific grant among ``roles`` whose subtree holds ``org_path``."""
        if org_path is None:
            return None
        wanted = set(roles)
        best: Grant | None = None
        for g in self.grants:
            if (
                g.role in wanted
                and org_path.startswith(g.org_path)
                and (best is None or len(g.org_path) > len(best.org_path))
            ):
                best = g
        return best

    def candidacy(self) -> list[tuple[str, str]]:
        """The (org, role) pairs this user holds, for the candidate inbox."""
        return sorted({(g.org_id, g.role) for g in self.grants if g.role in OPERATORS})

    def actor(self, grant: Grant | None = None) -> Actor:
        if grant is None:
            grant = next((g for g in self.grants if g.role in OPERATORS), None) or next(
                iter(self.grants), None
            )
        if grant is None:
            return Actor(self.user_id)
        return Actor(self.user_id, grant.role, grant.org_id)


def _principal_statement() -> Select[Any]:
    """The user and their grants in one round trip, built once (the id is a parameter)."""
    users, roles, units = User.__table__, UserRole.__table__, OrgUnit.__table__
    area = units.alias("area")
    return (
        select(
            users.c.id,
            users.c.display_name,
            users.c.active,
            roles.c.role,
            roles.c.org_id,
            units.c.path,
            units.c.kind,
            area.c.path.label("area_path"),
        )
        .select_from(
            users.outerjoin(roles, roles.c.user_id == users.c.id)
            .outerjoin(units, units.c.id == roles.c.org_id)
            .outerjoin(area, area.c.id == units.c.parent_id)
        )
        .where(users.c.id == bindparam("user_id"))
        .order_by(roles.c.org_id, roles.c.role)
    )


_PRINCIPAL = _principal_statement()


def load_principal(s: Session, user_id: str) -> Principal | None:
    """The active user with their grants, or None when unknown or deactivated.

    Read fresh on every call (one statement): revoking a role or deactivating a user takes
    effect on the next request, in every worker."""
    rows = s.connection().execute(_PRINCIPAL, {"user_id": user_id}).all()
    if not rows or not rows[0].active:
        return None
    # A 综治中心 (kind "centre") serves its whole area: its staff's jurisdiction is the area
    # the centre belongs to (the county centre sees the county), not the centre unit alone.
    grants = tuple(
        Grant(r.role, r.org_id, r.area_path if r.kind == "centre" and r.area_path else r.path)
        for r in rows
        if r.role is not None
    )
    return Principal(rows[0].id, rows[0].display_name, grants)
