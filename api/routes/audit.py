"""The record for auditors: event search and streamed export, case timelines, chain
verification, and KPIs for dashboards — all limited to the caller's jurisdiction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.deps import (
    PREFIX,
    EngineDep,
    NowDep,
    PrincipalDep,
    SessionDep,
    StateDep,
    WriteSessionDep,
)
from api.schemas import AuditPage, KpiReportOut, TimelineOut, VerifyOut
from engine import access
from engine.audit import AuditQuery, case_timeline, csv_lines, jsonl_lines, search, verify
from engine.errors import InputInvalid
from engine.evidence import check_evidence
from engine.kpi import KpiSet, Period, as_mapping, compute, rank_units

router = APIRouter(prefix=PREFIX, tags=["audit"])
Text = Annotated[str | None, Query(min_length=1, max_length=200)]


@dataclass(frozen=True)
class Filters:
    """The auditor's filters, shared by search and export."""

    org: str | None
    actor: str | None
    event_type: list[str] | None
    since: datetime | None
    until: datetime | None
    case_no: str | None


def filters(
    org: Text = None,
    actor: Text = None,
    event_type: Annotated[list[str] | None, Query(max_length=20)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    case_no: Text = None,
) -> Filters:
    return Filters(org, actor, event_type, since, until, case_no)


FiltersDep = Annotated[Filters, Depends(filters)]


def _query(s: Any, principal: access.Principal, f: Filters) -> AuditQuery:
    org_path = access.audit_scope(s, principal, f.org)
    if f.case_no is not None:
        access.visible_case(s, principal, f.case_no)
    return AuditQuery(
        org_path=org_path,
        actor=f.actor,
        event_types=tuple(f.event_type or ()),
        since=f.since,
        until=f.until,
        case_no=f.case_no,
    )


@router.get("/audit/events", response_model=AuditPage)
def audit_events(
    s: SessionDep,
    principal: PrincipalDep,
    f: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: Annotated[str | None, Query(max_length=100)] = None,
) -> AuditPage:
    """Audit events by organisation subtree, actor, type, time range and case, oldest first;
    pass ``next_cursor`` back as ``after`` for the next page."""
    q = _query(s, principal, f)
    try:
        page = search(s, q, limit=limit, after=after)
    except ValueError as exc:
        raise InputInvalid(f"bad cursor: {exc}", field="after") from None
    return AuditPage.model_validate(
        {"items": [r.to_dict() for r in page.records], "next_cursor": page.next_cursor}
    )


@router.get(
    "/audit/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def audit_export(
    engine: EngineDep,
    principal: PrincipalDep,
    f: FiltersDep,
    format: Literal["csv", "jsonl"] = "jsonl",
) -> StreamingResponse:
    """The matching events as CSV (UTF-8 with a byte order mark, so that Excel shows the
    Chinese text) or JSON Lines, streamed row by row (bounded memory)."""
    with engine.db.session() as s:
        q = _query(s, principal, f)

    def lines() -> Iterator[str]:
        if format == "csv":
            yield "\ufeff"  # a byte order mark: Excel then reads the Chinese text as UTF-8
        # a short read transaction per page: a client that stops reading holds none
        yield from (csv_lines if format == "csv" else jsonl_lines)(read, q)

    def read() -> AbstractContextManager[Session]:
        return engine.db.session(reading=True)

    media = "text/csv; charset=utf-8" if format == "csv" else "application/x-ndjson"
    name = f"audit-events.{format}"
    return StreamingResponse(
        lines(), media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get("/cases/{case_no}/timeline", response_model=TimelineOut)
def timeline(case_no: str, s: SessionDep, principal: PrincipalDep) -> TimelineOut:
    """The case's history in Chinese: each step with actor, organisation, time, due time and
    whether it was on time, field changes, comments, ladder rungs and escalations; the diagram
    state of every element for overlays."""
    access.visible_case(s, principal, case_no)
    t = case_timeline(s, case_no)
    return TimelineOut.model_validate(
        {
            "case_no": t.case_no,
            "purged": t.purged,
            "steps": [
                {**_plain(step), "changes": [_plain(c) | {"text": c.text()} for c in step.changes]}
                for step in t.steps
            ],
            "elements": {k: _plain(v) for k, v in t.elements.items()},
        }
    )


@router.get("/audit/verify", response_model=VerifyOut)
def audit_verify(
    state: StateDep,
    s: SessionDep,
    principal: PrincipalDep,
    case_no: Text = None,
    files: Annotated[
        bool, Query(description="re-read every attached file against its digest")
    ] = True,
) -> VerifyOut:
    """Check the hash chains (one case, or every case) and the signed anchors; and the evidence:
    every attachment matches its ``attachment_added`` event and its stored bytes still hash to the
    recorded SHA-256 (``files=false`` skips the files)."""
    access.require(principal, {"auditor", "supervisor"}, "verify the audit record")
    if case_no is not None:
        access.visible_case(s, principal, case_no)
    report = verify(s, state.settings.secret_key, case_no=case_no)
    if files:
        check_evidence(s, state.evidence.store, report, case_no)
    return VerifyOut.model_validate(
        {"ok": report.ok, "problems": [_plain(p) for p in report.problems]}
    )


@router.get("/kpis", response_model=KpiReportOut)
def kpis(
    s: WriteSessionDep,
    principal: PrincipalDep,
    now: NowDep,
    period: Annotated[str, Query(min_length=4, max_length=10, examples=["2026-10"])],
    org: Text = None,
) -> KpiReportOut:
    """The KPIs of a unit for a month, quarter or year: with a row per child unit (where the
    matter arose), a row per 承办单位 (who held the work) and the units' ranking (通报)."""
    org_path = access.audit_scope(s, principal, org)
    try:
        span = Period.parse(period)
    except ValueError as exc:
        raise InputInvalid(str(exc), field="period") from None
    report = compute(s, org_path, span, now)
    return KpiReportOut.model_validate(
        {
            "org_path": report.org_path,
            "name": report.name,
            "period": report.period.label,
            "as_of": report.as_of,
            "total": _kpis(report.total),
            "units": [
                {"org_path": u.org_path, "name": u.name, **_kpis(u.kpis)} for u in report.units
            ],
            "handlers": [
                {"unit": h.unit, "name": h.name, **_kpis(h.kpis)} for h in report.handlers
            ],
            "ranking": [
                {"rank": r.rank, "unit": r.unit, "name": r.name, "score": r.score}
                for r in rank_units((h.unit, h.name, h.kpis) for h in report.handlers)
            ],
            "overdue_open": [f.case_no for f in report.overdue_open],
        }
    )


def _kpis(k: KpiSet) -> dict[str, Any]:
    counts = {f.name: getattr(k, f.name) for f in fields(k) if isinstance(getattr(k, f.name), int)}
    rates = {
        name: {"numerator": r.numerator, "denominator": r.denominator, "value": r.value}
        for name, r in as_mapping(k).items()
    }
    return {"counts": counts, "rates": rates, "resolved_by_tier": dict(k.resolved_by_tier)}


def _plain(obj: Any) -> dict[str, Any]:
    return {f.name: getattr(obj, f.name) for f in fields(obj)}
