"""Cases: report a matter, list and filter, detail with tasks and diagram states, history,
and the centre's suspend / resume / cancel."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from api.deps import JSON, PREFIX, EngineDep, NowDep, PrincipalDep, SessionDep
from api.schemas import (
    CaseDetailOut,
    CaseIn,
    CasePage,
    HistoryPage,
    OptionalReasonIn,
    ReasonIn,
)
from engine import access, place, reads, runtime
from engine.errors import InputInvalid
from engine.runtime import Engine

router = APIRouter(prefix=PREFIX, tags=["cases"])
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
Text = Annotated[str | None, Query(min_length=1, max_length=100)]


def _detail(engine: Engine, principal: access.Principal, case_no: str) -> CaseDetailOut:
    with engine.db.session() as s:
        case = access.visible_case(s, principal, case_no)
        detail = reads.case_detail(engine, s, case, engine.clock.now())
    return CaseDetailOut.model_validate(detail)


@router.post("/cases", response_model=CaseDetailOut, status_code=201, dependencies=[JSON])
def report(body: CaseIn, engine: EngineDep, principal: PrincipalDep) -> CaseDetailOut:
    """Report a matter: starts the process (``dispute`` unless named) with the case fields.

    Without ``case_no`` the next number of the year is taken (``BH-2026-000123``). The grid
    (``grid_code``) must lie in the reporter's jurisdiction; it defaults to their own unit.
    """
    with engine.db.session() as s:
        grid, actor = access.can_report(s, principal, body.grid_code)
    fields = body.model_dump(exclude={"case_no", "process_id", "data"}, exclude_none=True)
    data: dict[str, Any] = {**body.data, **fields, "grid_code": grid}
    case_no = runtime.report_case(engine, body.process_id, body.case_no, data, actor)
    return _detail(engine, principal, case_no)


@router.get("/cases", response_model=CasePage)
def list_cases(
    s: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    status: Text = None,
    tier: Text = None,
    severity: Text = None,
    category: Text = None,
    org: Annotated[str | None, Query(description="a unit id: cases in its subtree")] = None,
    overdue: bool | None = None,
    reported_from: datetime | None = None,
    reported_to: datetime | None = None,
    text: Annotated[str | None, Query(max_length=200, description="in title or case no")] = None,
    process_id: Text = None,
    near: Annotated[
        str | None,
        Query(
            max_length=60,
            description="lat,lng (WGS-84): cases within radius_m of the point",
            examples=["30.5728,104.0668"],
        ),
    ] = None,
    radius_m: Annotated[float, Query(gt=0, le=100_000)] = 1000.0,
    bbox: Annotated[
        str | None,
        Query(
            max_length=120,
            description="minLng,minLat,maxLng,maxLat: cases inside the box",
            examples=["104.0,30.5,104.2,30.7"],
        ),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> CasePage:
    """Cases in the caller's jurisdiction (and those they work on), newest first. ``text``
    searches the title, the case number and the address; ``near``/``bbox`` search by place."""
    filters = reads.CaseFilters(
        status=status, tier=tier, severity=severity, category=category, org=org,
        overdue=overdue, reported_from=reported_from, reported_to=reported_to, text=text,
        process_id=process_id, near=_circle(near, radius_m), bbox=_box(bbox),
    )  # fmt: skip
    page = reads.list_cases(s, principal, filters, now=now, limit=limit, offset=offset)
    return CasePage.model_validate(page)


@router.get("/cases/{case_no}", response_model=CaseDetailOut)
def case_detail(case_no: str, engine: EngineDep, principal: PrincipalDep) -> CaseDetailOut:
    """State, tier, owner, open tasks, due times, and BPMN element states for overlays."""
    return _detail(engine, principal, case_no)


@router.get("/cases/{case_no}/history", response_model=HistoryPage)
def case_history(
    case_no: str,
    s: SessionDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
    offset: Offset = 0,
) -> HistoryPage:
    """The audit timeline: who did what, when, with what data, in order."""
    access.visible_case(s, principal, case_no)
    return HistoryPage.model_validate(reads.history(s, case_no, limit=limit, offset=offset))


@router.post("/cases/{case_no}/suspend", response_model=CaseDetailOut, dependencies=[JSON])
def suspend(
    case_no: str, body: ReasonIn, engine: EngineDep, principal: PrincipalDep
) -> CaseDetailOut:
    """挂起 — centre staff only, with a reason; timers keep their place."""
    with engine.db.session() as s:
        case, actor = access.can_control_case(s, principal, case_no)
    engine.suspend(case.instance_id, body.reason, actor)
    return _detail(engine, principal, case_no)


@router.post("/cases/{case_no}/resume", response_model=CaseDetailOut, dependencies=[JSON])
def resume(
    case_no: str,
    engine: EngineDep,
    principal: PrincipalDep,
    body: OptionalReasonIn | None = None,
) -> CaseDetailOut:
    """恢复 — centre staff only."""
    with engine.db.session() as s:
        case, actor = access.can_control_case(s, principal, case_no)
    engine.resume(case.instance_id, body.reason if body else None, actor)
    return _detail(engine, principal, case_no)


@router.post("/cases/{case_no}/cancel", response_model=CaseDetailOut, dependencies=[JSON])
def cancel(
    case_no: str, body: ReasonIn, engine: EngineDep, principal: PrincipalDep
) -> CaseDetailOut:
    """撤销 — centre staff only, with a reason; open tasks are withdrawn."""
    with engine.db.session() as s:
        case, actor = access.can_control_case(s, principal, case_no)
    engine.cancel(case.instance_id, body.reason, actor)
    return _detail(engine, principal, case_no)


def _numbers(text: str, count: int, field: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if len(values) != count or not all(math.isfinite(v) for v in values):
        raise InputInvalid(f"{field} must be {count} comma-separated numbers", field=field)
    return values


def _check_point(lat: float, lng: float, field: str) -> place.Point:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise InputInvalid(f"{field}: latitude −90…90, longitude −180…180", field=field)
    return place.Point(lat, lng)


def _circle(near: str | None, radius_m: float) -> place.Circle | None:
    if near is None:
        return None
    lat, lng = _numbers(near, 2, "near")
    return place.Circle(_check_point(lat, lng, "near"), radius_m)


def _box(bbox: str | None) -> place.Box | None:
    if bbox is None:
        return None
    min_lng, min_lat, max_lng, max_lat = _numbers(bbox, 4, "bbox")
    _check_point(min_lat, min_lng, "bbox")
    _check_point(max_lat, max_lng, "bbox")
    if min_lat > max_lat or min_lng > max_lng:
        raise InputInvalid("bbox: minLng,minLat,maxLng,maxLat with min ≤ max", field="bbox")
    return place.Box(min_lat, min_lng, max_lat, max_lng)
