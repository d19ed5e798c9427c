"""The forms' pickers: ``GET /orgs`` (``org-picker``) and ``GET /directory/users``
(``user-picker``), limited to the caller's reach (engine.orgs.directory)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import PREFIX, PrincipalDep, SessionDep
from api.schemas import DirectoryUserOut, OrgOut
from engine import orgs
from engine.orgs import DirectoryScope as Scope

router = APIRouter(prefix=PREFIX, tags=["directory"])

Search = Annotated[
    str | None, Query(min_length=1, max_length=100, description="in the name or the id")
]
Limit = Annotated[int, Query(ge=1, le=orgs.DIRECTORY_LIMIT)]


@router.get("/orgs", response_model=list[OrgOut])
def list_orgs(
    s: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[
        list[str] | None,
        Query(max_length=10, description="unit kinds (repeat): " + ", ".join(orgs.PICKABLE_KINDS)),
    ] = None,
    scope: Annotated[
        Scope,
        Query(
            description="jurisdiction (= mine = tier): the subtrees of the caller's units; "
            "county: the whole county holding them"
        ),
    ] = "jurisdiction",
    q: Search = None,
    id: Annotated[
        list[str] | None, Query(max_length=200, description="exactly these units (repeat)")
    ] = None,
    limit: Limit = 200,
) -> list[OrgOut]:
    """Organisation units the caller may pick, in tree order (the org picker's
    ``ui:options.kinds`` and ``scope`` map to ``kind`` and ``scope``)."""
    found = orgs.list_orgs(
        s, principal, kinds=kind or (), scope=scope, q=q, ids=id or (), limit=limit
    )
    return [OrgOut.model_validate(o) for o in found]


@router.get("/directory/users", response_model=list[DirectoryUserOut])
def list_directory_users(
    s: SessionDep,
    principal: PrincipalDep,
    role: Annotated[list[str] | None, Query(max_length=20, description="roles (repeat)")] = None,
    org: Annotated[
        str | None, Query(max_length=64, description="users holding a role in this unit")
    ] = None,
    scope: Annotated[
        Scope, Query(description="county (default) or jurisdiction, as for /orgs")
    ] = "county",
    q: Search = None,
    limit: Limit = 200,
) -> list[DirectoryUserOut]:
    """Active users holding a role in a unit within the caller's reach, one entry per user and
    unit (the user picker's ``ui:options.role`` maps to ``role``). No password data."""
    found = orgs.list_users(s, principal, roles=role or (), org=org, q=q, scope=scope, limit=limit)
    return [DirectoryUserOut.model_validate(u) for u in found]
