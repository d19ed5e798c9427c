"""The working-day calendar for administrators: official and provisional years, warnings."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PREFIX, NowDep, PrincipalDep, SessionDep, StateDep
from api.schemas import CalendarOut, CalendarYearOut
from engine import access
from engine.calendar_admin import CalendarRefresher, calendar_status
from engine.runtime import Engine
from engine.supervision import Supervision

router = APIRouter(prefix=PREFIX, tags=["admin"])


def calendar_refresher(engine: Engine) -> CalendarRefresher | None:
    """The engine's calendar (through the supervision listener that computes deadlines)."""
    for listener in engine.listeners:
        if isinstance(listener, Supervision):
            return listener.refresher
    return None


@router.get("/admin/calendar", response_model=CalendarOut)
def get_calendar(
    state: StateDep, s: SessionDep, principal: PrincipalDep, now: NowDep
) -> CalendarOut:
    """Years with an official holiday table (调休 included) and provisional years, and the
    operator's warnings (from 1 November while next year's table is missing). Admins only."""
    access.require(principal, access.ADMINS, "view the working-day calendar")
    refresher = calendar_refresher(state.engine)
    if refresher is None:
        return CalendarOut(missing_year_policy="-", data_version="-", years=[], warnings=[])
    refresher.refresh(s)
    found = calendar_status(refresher.calendar, now)
    return CalendarOut(
        today=found.today,
        missing_year_policy=found.missing_year_policy,
        data_version=found.data_version,
        years=[
            CalendarYearOut(year=y.year, status=y.status, source=y.source, notice=y.notice)
            for y in found.years
        ],
        warnings=found.warnings,
    )
