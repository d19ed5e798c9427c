"""Which years the calendar knows officially, and the operator's warning.

From 1 November of year Y (Beijing date, from the engine clock) the operator is warned while
year Y+1 has no official table: the State Council usually publishes next year's 节假日安排 in
November, and deadlines reaching into Y+1 are provisional until it is loaded. A year Y without an
official table is warned about all year. The warning never makes ``readyz`` fail: casework goes
on with provisional deadlines.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from engine.calendar_admin.store import CalendarRefresher
from engine.clock import CHINA, as_utc
from engine.storage.models import CalendarYear
from engine.workdays import WorkCalendar

log = logging.getLogger("engine.calendar")

#: (month, day) of year Y from which a missing Y+1 table is warned about.
WARN_FROM = (11, 1)

#: A table loaded this recently makes the daily job recompute provisional deadlines once more.
RECENT_LOAD = timedelta(days=2)


@dataclass(frozen=True)
class YearStatus:
    year: int
    status: Literal["official", "provisional"]
    #: where the year's days come from: override, database, bundled, chinese_calendar — or, for
    #: a provisional year, the missing-year policy (provisional, weekends_only, strict)
    source: str
    notice: str | None = None


@dataclass(frozen=True)
class CalendarStatus:
    today: date
    missing_year_policy: str
    data_version: str
    years: list[YearStatus] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def calendar_status(calendar: WorkCalendar, now: datetime) -> CalendarStatus:
    """Official years from last year on, this year and next (official or provisional), and the
    warnings due on ``now``'s Beijing date."""
    today = now.astimezone(CHINA).date()
    official = calendar.official_years()
    shown = sorted({y for y in official if y >= today.year - 1} | {today.year, today.year + 1})
    years = [
        YearStatus(y, "official", official[y], _notice(calendar, y))
        if y in official
        else YearStatus(y, "provisional", calendar.missing_year_policy)
        for y in shown
    ]
    warnings: list[str] = []
    if today.year not in official:
        warnings.append(_missing(today.year, current=True))
    if (today.month, today.day) >= WARN_FROM and today.year + 1 not in official:
        warnings.append(_missing(today.year + 1, current=False))
    return CalendarStatus(
        today, calendar.missing_year_policy, calendar.data_version, years, warnings
    )


def _missing(year: int, *, current: bool) -> str:
    when = "今年" if current else "明年"
    return (
        f"尚未载入{when}（{year} 年）国务院办公厅节假日安排（调休）：涉及 {year} 年的办理时限为"
        f"暂定，按法定节假日和周末计算。发布后请运行 `bihuan calendar load FILE` 载入，"
        f"暂定时限将自动重算。 (No official holiday table for {year}: deadlines reaching into "
        f"{year} are provisional — statutory holidays and weekends only. Load the State "
        f"Council's schedule with `bihuan calendar load FILE` once published; provisional "
        f"deadlines are then recomputed.)"
    )


def _notice(calendar: WorkCalendar, year: int) -> str | None:
    for table in (calendar.override, calendar.loaded, calendar.bundled):
        if table is not None and year in table.years and table.years[year].complete:
            return table.years[year].notice
    return None


def log_calendar_warnings(calendar: WorkCalendar, now: datetime) -> list[str]:
    """Log the warnings due on ``now`` (at start-up and from the daily job, never per request)."""
    warnings = calendar_status(calendar, now).warnings
    for text in warnings:
        log.warning("working-day calendar: %s", text)
    return warnings


def calendar_check_job(
    refresher: CalendarRefresher, recompute: Callable[[], int] | None = None
) -> Callable[[Session, datetime, datetime], None]:
    """The daily periodic job (``calendar_check``, one run per installation): pick up tables
    another node loaded, warn, and — when a table was loaded in the last two days — run
    ``recompute`` once more after this transaction commits. That catches a deadline another node
    computed provisionally in the seconds between the load's own recompute and that node seeing
    the new table; it is idempotent, so it changes nothing otherwise."""

    def run(session: Session, _fire_time: datetime, now: datetime) -> None:
        refresher.refresh(session, force=True)
        log_calendar_warnings(refresher.calendar, now)
        if recompute is None:
            return
        newest = session.scalar(select(func.max(CalendarYear.loaded_at)))
        if newest is not None and as_utc(newest) >= now - RECENT_LOAD:

            def after(_session: Session) -> None:
                try:
                    changed = recompute()
                except Exception:  # never escape a commit hook; tomorrow's run tries again
                    log.exception("recomputing provisional deadlines after a load failed")
                else:
                    log.info("calendar_check: %d provisional deadline(s) recomputed", changed)

            event.listen(session, "after_commit", after, once=True)

    return run
