"""User administration: create users with their grants, list them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.access.passwords import hash_password
from engine.access.principal import Principal, load_principal
from engine.access.roles import ADMINS, MIN_PASSWORD, ROLES
from engine.access.rules import can_manage_users
from engine.errors import Conflict, InputInvalid
from engine.storage.models import OrgUnit, User, UserRole


@dataclass(frozen=True)
class NewGrant:
    role: str
    org_id: str


def create_user(
    s: Session,
    admin: Principal,
    *,
    user_id: str,
    display_name: str,
    password: str,
    grants: Sequence[NewGrant],
    now: datetime,
) -> Principal:
    """An administrator adds a user with roles in units of the administrator's subtree."""
    can_manage_users(admin)
    if len(password) < MIN_PASSWORD:
        raise InputInvalid(f"密码至少 {MIN_PASSWORD} 位 (at least {MIN_PASSWORD} characters)",
                           field="password")  # fmt: skip
    for g in grants:
        if g.role not in ROLES:
            raise InputInvalid(f"未知角色 {g.role} (unknown role {g.role})", field="roles")
        unit = s.get(OrgUnit, g.org_id)
        if unit is None or admin.covers(unit.path, ADMINS) is None:
            raise InputInvalid(
                f"单位 {g.org_id} 不在您的管理范围内 (unit {g.org_id} is not in your scope)",
                field="roles",
            )
    if s.get(User, user_id) is not None:
        raise Conflict(f"用户 {user_id} 已存在 (user {user_id} exists)")
    s.add(User(id=user_id, display_name=display_name, password_hash=hash_password(password),
               active=True, created_at=now))  # fmt: skip
    try:
        s.flush()
    except IntegrityError:
        raise Conflict(f"用户 {user_id} 已存在 (user {user_id} exists)") from None
    for role, org_id in sorted({(g.role, g.org_id) for g in grants}):
        s.add(UserRole(user_id=user_id, role=role, org_id=org_id))
    s.flush()
    created = load_principal(s, user_id)
    assert created is not None
    return created


def list_users(s: Session, admin: Principal) -> list[Principal]:
    """Users holding a role somewhere in the administrator's subtree."""
    can_manage_users(admin)
    roots = admin.paths(ADMINS)
    ids = sorted(
        {
            uid
            for uid, path in s.execute(
                select(UserRole.user_id, OrgUnit.path).join(OrgUnit, OrgUnit.id == UserRole.org_id)
            )
            if any(path.startswith(r) for r in roots)
        }
    )
    users = [load_principal(s, uid) for uid in ids]
    return [u for u in users if u is not None]
