"""零报告: each grid worker attests, per working day, that their grid has nothing to report.

The system never writes a 零报告, and a worker attests only the day itself (a past day's is
closed: the 日排查 has named it missing). The scheduler's ``zero_report_open`` job opens, on
each working day (the Chinese working-day calendar, 调休 included), one row per grid worker and
grid (``user_roles`` with role ``grid_worker`` on a unit of kind ``grid``); the worker completes
it with the form ``forms/zero_report.schema.json`` ("nothing to report today"), which records who
and when. The 日排查 report (engine/supervision/reports.py) lists the attestations and the grid
workers whose attestation is missing on a day their grid reported nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.access import Principal
from engine.clock import CHINA, as_utc, in_china
from engine.errors import Conflict, NotFound
from engine.runtime import FormValidator
from engine.storage.dialects import insert_for
from engine.storage.models import OrgUnit, UserRole, ZeroReport
from engine.workdays import WorkCalendar

FORM = "zero_report.schema.json"
#: the attestation is due at the day's 日排查 (the daily_screening job's default 17:00)
DUE_TIME = time(17, 0)
OPEN_CRON = "0 7 * * *"


@dataclass(frozen=True)
class ZeroReportView:
    id: int
    org_id: str
    org_name: str
    user_id: str
    day: str
    due_at: datetime
    attested_at: datetime | None
    note: str | None

    @property
    def open(self) -> bool:
        return self.attested_at is None


def _view(row: ZeroReport, names: dict[str, str]) -> ZeroReportView:
    return ZeroReportView(
        row.id, row.org_id, names.get(row.org_id, row.org_id), row.user_id, row.day,
        as_utc(row.due_at), as_utc(row.attested_at) if row.attested_at else None, row.note,
    )  # fmt: skip


def grid_workers(s: Session) -> list[tuple[str, str]]:
    """``(grid id, user id)`` of every grid worker on a grid, in order."""
    rows = s.execute(
        select(UserRole.org_id, UserRole.user_id)
        .join(OrgUnit, OrgUnit.id == UserRole.org_id)
        .where(UserRole.role == "grid_worker", OrgUnit.kind == "grid")
        .order_by(UserRole.org_id, UserRole.user_id)
    )
    return [(org, user) for org, user in rows]


def open_for_day(s: Session, day: date, now: datetime) -> int:
    """Open the day's attestations (idempotent: one row per grid, worker and day)."""
    due = as_utc(datetime.combine(day, DUE_TIME, tzinfo=CHINA))
    workers = grid_workers(s)
    if not workers:
        return 0
    insert = insert_for(s)
    values = [
        {"org_id": org, "user_id": user, "day": day.isoformat(), "created_at": now, "due_at": due}
        for org, user in workers
    ]
    s.execute(
        insert(ZeroReport)
        .values(values)
        .on_conflict_do_nothing(index_elements=["org_id", "user_id", "day"])
    )
    return len(values)


def zero_report_job(calendar: WorkCalendar) -> Callable[[Session, datetime, datetime], None]:
    """The periodic job: on a working day, open each grid worker's attestation."""

    def run(s: Session, fire_time: datetime, now: datetime) -> None:
        day = in_china(fire_time).date()
        if calendar.is_workday(day):
            open_for_day(s, day, now)

    return run


def _names(s: Session, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = s.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))
    return {unit: name for unit, name in rows}


def my_zero_reports(
    s: Session, principal: Principal, now: datetime, *, open_only: bool = True
) -> list[ZeroReportView]:
    """The caller's attestations, newest day first: the open ones of today (a past day's can no
    longer be attested), or the last 60."""
    query = select(ZeroReport).where(ZeroReport.user_id == principal.user_id)
    if open_only:
        today = in_china(now).date().isoformat()
        query = query.where(ZeroReport.attested_at.is_(None), ZeroReport.day >= today)
    rows = list(s.scalars(query.order_by(ZeroReport.day.desc(), ZeroReport.org_id).limit(60)))
    names = _names(s, {r.org_id for r in rows})
    return [_view(r, names) for r in rows]


class ZeroReportForm:
    """The form a worker submits, loaded once from ``forms/``."""

    def __init__(self, forms_dir: Path) -> None:
        schema = json.loads((forms_dir / FORM).read_text(encoding="utf-8"))
        self.validator = FormValidator(FORM, schema)

    def attest(
        self, s: Session, principal: Principal, report_id: int, data: Any, now: datetime
    ) -> ZeroReportView:
        """The worker's 零报告: validated, recorded once, only by the worker it was opened for."""
        row = s.get(ZeroReport, report_id, with_for_update=True)
        if row is None or row.user_id != principal.user_id:
            raise NotFound(f"没有零报告 {report_id} (no zero report {report_id} of yours)")
        if in_china(now).date().isoformat() > row.day:
            raise Conflict(
                f"零报告 {report_id} 是 {row.day} 的，当日已过，不能补报 "
                f"(zero report {report_id} was for {row.day}; that day is over)"
            )
        if row.attested_at is not None:
            raise Conflict(
                f"零报告 {report_id} 已于 {in_china(as_utc(row.attested_at)):%Y-%m-%d %H:%M} 填报 "
                f"(zero report {report_id} was already attested)"
            )
        self.validator.validate(data)
        parts = [str(data.get("patrol_scope") or ""), str(data.get("note") or "")]
        row.attested_at = now
        row.note = "；".join(p for p in parts if p)[:2000] or None
        s.flush()
        return _view(row, _names(s, {row.org_id}))


def of_day(s: Session, org_id: str, day: date) -> list[ZeroReportView]:
    """The attestations opened for one grid and day."""
    rows = list(
        s.scalars(
            select(ZeroReport)
            .where(ZeroReport.org_id == org_id, ZeroReport.day == day.isoformat())
            .order_by(ZeroReport.user_id)
        )
    )
    return [_view(r, {}) for r in rows]
