"""Minimal user administration: administrators list and add users in their subtree."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import JSON, PREFIX, NowDep, PrincipalDep, SessionDep
from api.schemas import PrincipalOut, UserIn
from engine import access

router = APIRouter(prefix=PREFIX, tags=["users"])


@router.get("/users", response_model=list[PrincipalOut])
def list_users(s: SessionDep, principal: PrincipalDep) -> list[PrincipalOut]:
    """Users holding a role in a unit of the administrator's subtree."""
    return [PrincipalOut.model_validate(p) for p in access.list_users(s, principal)]


@router.post("/users", response_model=PrincipalOut, status_code=201, dependencies=[JSON])
def create_user(body: UserIn, s: SessionDep, principal: PrincipalDep, now: NowDep) -> PrincipalOut:
    """Add a user with roles in units (409 if the id is taken)."""
    created = access.create_user(
        s, principal, user_id=body.id, display_name=body.display_name, password=body.password,
        grants=[access.NewGrant(g.role, g.org_id) for g in body.roles], now=now,
    )  # fmt: skip
    return PrincipalOut.model_validate(created)
