"""Periodic work (日排查、周汇总、月研判) stored in ``reports``.

* ``daily_screening`` — per grid: cases reported that day, the grid workers' 零报告 attestations
  (engine/supervision/zero_reports.py; attested by the worker, never written by the system) and
  the workers whose attestation is missing on a day the grid reported nothing.
* ``weekly_summary`` — per township: the previous week's new, closed and overdue cases.
* ``monthly_analysis`` — per county: the previous month's 研判 listing red, overdue and repeat
  (reopened) open cases, the month's KPIs and the ranking of 承办单位 for the 通报 (engine/kpi).

Each report is unique per (kind, organisation, period) and inserted with ``ON CONFLICT DO NOTHING``,
so a job that runs twice (a retry after a crash) writes each report once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from engine.clock import CHINA, as_utc, in_china
from engine.kpi import Period, Rate, as_mapping, compute, rank_units
from engine.scheduler.periodic import PeriodicJob
from engine.storage.dialects import insert_for
from engine.storage.models import Case, OrgUnit, Report
from engine.supervision.zero_reports import of_day

DEFAULT_CRONS = {
    "daily_screening": "0 17 * * *",
    "weekly_summary": "0 9 * * mon",
    "monthly_analysis": "0 9 1 * *",
}


def _midnight(day: date) -> datetime:
    return as_utc(datetime.combine(day, time(), tzinfo=CHINA))


def _store(s: Session, kind: str, org_id: str, period: str, now: datetime, content: Any) -> None:
    insert = insert_for(s)
    s.execute(
        insert(Report)
        .values(kind=kind, org_id=org_id, period=period, created_at=now, content=content)
        .on_conflict_do_nothing(index_elements=["kind", "org_id", "period"])
    )


def _units(s: Session, tier: str) -> list[OrgUnit]:
    return list(
        s.scalars(
            select(OrgUnit)
            .where(or_(OrgUnit.tier == tier, OrgUnit.kind == tier))
            .order_by(OrgUnit.id)
        )
    )


def _open_case_rows(s: Session, path: str, now: datetime) -> list[dict[str, Any]]:
    rows = s.scalars(
        select(Case)
        .where(Case.closed_at.is_(None), Case.org_path.like(f"{path}%"))
        .order_by(Case.case_no)
    )
    out = []
    for case in rows:
        overdue = case.due_at is not None and as_utc(case.due_at) < now
        out.append(
            {
                "case_no": case.case_no,
                "title": case.title,
                "severity": case.severity,
                "tier": case.tier,
                "status": case.status,
                "due_at": case.due_at.isoformat() if case.due_at else None,
                "overdue": overdue,
                "reopen_count": case.reopen_count,
                "ladder_level": case.ladder_level,
            }
        )
    return out


def daily_screening(s: Session, fire_time: datetime, now: datetime) -> None:
    day = in_china(fire_time).date()
    start, end = _midnight(day), _midnight(day + timedelta(days=1))
    for grid in _units(s, "grid"):
        reported = list(
            s.scalars(
                select(Case.case_no)
                .where(Case.org_id == grid.id, Case.reported_at >= start, Case.reported_at < end)
                .order_by(Case.case_no)
            )
        )
        attestations = of_day(s, grid.id, day)
        attested = [a for a in attestations if not a.open]
        content = {
            "title": f"{grid.name} {day.isoformat()} 矛盾纠纷日排查",
            "reported": reported,
            "count": len(reported),
            # 零报告: only what a grid worker attested; the system writes none
            "zero_report": bool(attested) and not reported,
            "attested": [
                {"user_id": a.user_id, "attested_at": a.attested_at.isoformat(), "note": a.note}
                for a in attested
                if a.attested_at is not None
            ],
            "missing": [] if reported else [a.user_id for a in attestations if a.open],
        }
        _store(s, "daily_screening", grid.id, day.isoformat(), now, content)


def weekly_summary(s: Session, fire_time: datetime, now: datetime) -> None:
    today = in_china(fire_time).date()
    week_start = today - timedelta(days=today.weekday() + 7)
    start, end = _midnight(week_start), _midnight(week_start + timedelta(days=7))
    iso = week_start.isocalendar()
    period = f"{iso.year}-W{iso.week:02d}"
    for town in _units(s, "township"):
        under = Case.org_path.like(f"{town.path}%")
        new = s.scalar(
            select(func.count())
            .select_from(Case)
            .where(under, Case.reported_at >= start, Case.reported_at < end)
        )
        closed = s.scalar(
            select(func.count())
            .select_from(Case)
            .where(under, Case.closed_at >= start, Case.closed_at < end)
        )
        open_rows = _open_case_rows(s, town.path, now)
        content = {
            "title": f"{town.name} {period} 矛盾纠纷周汇总",
            "from": week_start.isoformat(),
            "new": int(new or 0),
            "closed": int(closed or 0),
            "open": len(open_rows),
            "overdue": [r["case_no"] for r in open_rows if r["overdue"]],
        }
        _store(s, "weekly_summary", town.id, period, now, content)


def monthly_analysis(s: Session, fire_time: datetime, now: datetime) -> None:
    first = in_china(fire_time).date().replace(day=1)
    previous = (first - timedelta(days=1)).replace(day=1)
    period = previous.strftime("%Y-%m")
    for county in _units(s, "county"):
        open_rows = _open_case_rows(s, county.path, now)
        kpis = compute(s, county.id, Period.parse(period), now)
        content = {
            "title": f"{county.name} {period} 矛盾纠纷月研判",
            "kpis": {name: _rate(r) for name, r in as_mapping(kpis.total).items()},
            "ranking": [
                {"rank": r.rank, "unit": r.unit, "name": r.name, "score": r.score}
                for r in rank_units((h.unit, h.name, h.kpis) for h in kpis.handlers)
            ],
            "red": [r for r in open_rows if r["severity"] == "red"],
            "overdue": [r for r in open_rows if r["overdue"]],
            "repeat": [r for r in open_rows if (r["reopen_count"] or 0) > 0],
            "open": len(open_rows),
        }
        _store(s, "monthly_analysis", county.id, period, now, content)


def _rate(rate: Rate) -> dict[str, Any]:
    return {"numerator": rate.numerator, "denominator": rate.denominator, "value": rate.value}


def default_jobs(crons: dict[str, str] | None = None) -> Sequence[PeriodicJob]:
    chosen = {**DEFAULT_CRONS, **(crons or {})}
    functions = {
        "daily_screening": daily_screening,
        "weekly_summary": weekly_summary,
        "monthly_analysis": monthly_analysis,
    }
    return [PeriodicJob(name, chosen[name], functions[name]) for name in functions]
