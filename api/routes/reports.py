"""The periodic reports (日排查·周汇总·月研判) as stored by the scheduler, and the grid worker's
零报告: ``GET /reports``, ``GET /reports/{id}``, ``GET /zero-reports``,
``POST /zero-reports/{id}/attest``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query

from api.deps import PREFIX, NowDep, PrincipalDep, SessionDep, StateDep
from api.schemas_reports import ReportOut, ReportSummaryOut, ZeroReportOut
from engine import supervision
from engine.supervision import ZeroReportForm

router = APIRouter(prefix=PREFIX, tags=["reports"])
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
_FORMS: dict[str, ZeroReportForm] = {}
Kind = Literal["daily_screening", "weekly_summary", "monthly_analysis"]


@router.get("/reports", response_model=list[ReportSummaryOut])
def list_reports(
    s: SessionDep,
    principal: PrincipalDep,
    kind: Annotated[Kind | None, Query()] = None,
    org: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    period: Annotated[str | None, Query(min_length=4, max_length=10)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ReportSummaryOut]:
    """The stored reports of the units in the caller's jurisdiction, newest period first."""
    found = supervision.list_reports(s, principal, kind=kind, org=org, period=period, limit=limit)
    return [ReportSummaryOut.model_validate(r) for r in found]


@router.get("/reports/{report_id}", response_model=ReportOut)
def get_report(report_id: Id, s: SessionDep, principal: PrincipalDep) -> ReportOut:
    """One report with its content (the figures and the case lists)."""
    return ReportOut.model_validate(supervision.get_report(s, principal, report_id))


@router.get("/zero-reports", response_model=list[ZeroReportOut])
def my_zero_reports(
    s: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    state: Annotated[Literal["open", "all"], Query()] = "open",
) -> list[ZeroReportOut]:
    """The caller's 零报告 (a grid worker's, one per grid and working day): ``open`` — today's
    still to attest; ``all`` — the last 60."""
    found = supervision.my_zero_reports(s, principal, now, open_only=state == "open")
    return [_zero(z) for z in found]


@router.post("/zero-reports/{report_id}/attest", response_model=ZeroReportOut)
def attest_zero_report(
    report_id: Id,
    s: SessionDep,
    principal: PrincipalDep,
    now: NowDep,
    app: StateDep,
    data: Annotated[dict[str, Any], Body(examples=[{"nothing_to_report": True}])],
) -> ZeroReportOut:
    """Attest "nothing to report today" (forms/zero_report.schema.json); once, by the worker."""
    forms_dir = app.settings.forms_dir
    form = _FORMS.get(str(forms_dir))
    if form is None:
        form = _FORMS[str(forms_dir)] = ZeroReportForm(forms_dir)
    return _zero(form.attest(s, principal, report_id, data, now))


def _zero(z: supervision.ZeroReportView) -> ZeroReportOut:
    return ZeroReportOut.model_validate(
        {**{k: getattr(z, k) for k in ZeroReportOut.model_fields if k != "open"}, "open": z.open}
    )
