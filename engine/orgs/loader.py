"""Load the organisation file into the ``org_units``, ``users`` and ``user_roles`` tables.

Loading is idempotent and additive: units and users in the file are inserted or updated, a listed
user's roles become exactly the file's roles, and nothing absent from the file is deleted (units
and users created through the API stay). An existing user's password hash is kept, so reloading
the file never resets a password that was changed; new users get the file's (demo) password,
hashed by the caller's ``hash_password`` (argon2 in the engine).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.orgs.config import OrgConfig, load_org_config
from engine.orgs.tree import OrgTree
from engine.storage.models import OrgUnit, User, UserRole


def argon2_hasher() -> Callable[[str], str]:
    """The engine's password hash (argon2id with argon2-cffi's defaults)."""
    from argon2 import PasswordHasher

    return PasswordHasher().hash


def load_organisations(
    session: Session,
    path: Path | str,
    *,
    hash_password: Callable[[str], str],
    now: datetime | Callable[[], datetime],
) -> OrgTree:
    """Validate ``path`` and write it into the session (the caller commits); return the tree."""
    config = load_org_config(path)
    apply_org_config(session, config, hash_password=hash_password, now=now)
    return OrgTree.from_config(config)


def apply_org_config(
    session: Session,
    config: OrgConfig,
    *,
    hash_password: Callable[[str], str],
    now: datetime | Callable[[], datetime],
) -> None:
    at = now() if callable(now) else now
    if at.tzinfo is None:
        raise ValueError("load_organisations needs an aware datetime for now")
    existing_units = {u.id: u for u in session.scalars(select(OrgUnit))}
    for unit_spec in config.units:  # parents first: the file order is a pre-order walk
        unit = existing_units.get(unit_spec.id)
        if unit is None:
            unit = OrgUnit(id=unit_spec.id)
            session.add(unit)
        unit.name = unit_spec.name
        unit.kind = unit_spec.kind
        unit.tier = unit_spec.tier
        unit.parent_id = unit_spec.parent_id
        unit.path = unit_spec.path
        unit.attributes = dict(unit_spec.attributes)
        session.flush()  # keep parent rows ahead of their children for the foreign key
    ids = [u.id for u in config.users]
    existing_users = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    for spec in config.users:
        user = existing_users.get(spec.id)
        if user is None:
            user = User(
                id=spec.id,
                display_name=spec.display_name,
                password_hash=hash_password(spec.password) if spec.password else None,
                active=spec.active,
                created_at=at,
            )
            session.add(user)
        else:
            user.display_name = spec.display_name
            user.active = spec.active
            if user.password_hash is None and spec.password:
                user.password_hash = hash_password(spec.password)
    session.flush()
    wanted = {(u.id, g.org_id, g.role) for u in config.users for g in u.roles}
    for row in session.scalars(select(UserRole).where(UserRole.user_id.in_(ids))):
        key = (row.user_id, row.org_id, row.role)
        if key in wanted:
            wanted.discard(key)
        else:
            session.delete(row)
    for user_id, org_id, role in sorted(wanted):
        session.add(UserRole(user_id=user_id, org_id=org_id, role=role))
    session.flush()
