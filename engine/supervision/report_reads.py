"""Reading the stored periodic reports (日排查·周汇总·月研判) within the caller's jurisdiction.

A report belongs to an org unit (a grid, a township, a county); a caller reads it when one of
their grants among :data:`~engine.access.REPORT_READERS` covers that unit's path — so a grid
worker reads their grid's 日排查, a township centre its townships' and grids' reports, a county
reader the whole county's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.access import REPORT_READERS, Principal, require
from engine.clock import as_utc
from engine.errors import NotFound
from engine.storage.models import OrgUnit, Report

KINDS = ("daily_screening", "weekly_summary", "monthly_analysis")
LIST_LIMIT = 200


@dataclass(frozen=True)
class StoredReport:
    id: int
    kind: str
    org_id: str
    org_name: str
    period: str
    created_at: datetime
    title: str
    content: dict[str, Any]


def _of(report: Report, unit: OrgUnit | None) -> StoredReport:
    content = report.content or {}
    return StoredReport(
        report.id, report.kind, report.org_id, unit.name if unit else report.org_id,
        report.period, as_utc(report.created_at), str(content.get("title") or report.kind),
        content,
    )  # fmt: skip


def list_reports(
    s: Session,
    principal: Principal,
    *,
    kind: str | None = None,
    org: str | None = None,
    period: str | None = None,
    limit: int = 50,
) -> list[StoredReport]:
    """The reports the caller may read, newest period first."""
    require(principal, REPORT_READERS, "read the periodic reports")
    roots = principal.paths(REPORT_READERS)
    query = (
        select(Report, OrgUnit)
        .join(OrgUnit, OrgUnit.id == Report.org_id)
        .where(or_(*(OrgUnit.path.startswith(root, autoescape=True) for root in roots)))
    )
    if kind:
        query = query.where(Report.kind == kind)
    if org:
        query = query.where(Report.org_id == org)
    if period:
        query = query.where(Report.period == period)
    query = query.order_by(Report.period.desc(), Report.kind, Report.org_id)
    rows = s.execute(query.limit(min(max(limit, 1), LIST_LIMIT))).all()
    return [_of(report, unit) for report, unit in rows]


def get_report(s: Session, principal: Principal, report_id: int) -> StoredReport:
    """One report, if the caller may read it (else: not found, as if it did not exist)."""
    require(principal, REPORT_READERS, "read the periodic reports")
    found = s.execute(
        select(Report, OrgUnit)
        .outerjoin(OrgUnit, OrgUnit.id == Report.org_id)
        .where(Report.id == report_id)
    ).first()
    if found is None:
        raise NotFound(f"没有报表 {report_id} (no report {report_id})")
    report, unit = found
    if unit is None or principal.covers(unit.path, REPORT_READERS) is None:
        raise NotFound(f"没有报表 {report_id} (no report {report_id} in your jurisdiction)")
    return _of(report, unit)
