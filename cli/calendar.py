"""``bihuan calendar …``: load an official holiday table, show what the calendar knows.

The clock is passed in (the system clock in production, a ``ManualClock`` in tests), so the
warnings and the recompute see the engine's "now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import Group, database, err, out, styled
from engine import BihuanError
from engine.calendar_admin import CalendarRefresher, calendar_status, load_official_table
from engine.clock import CHINA, Clock, SystemClock
from engine.errors import ValidationFailed


def make_calendar_app(clock_factory: Callable[[], Clock] = SystemClock) -> Group:
    calendar_app = Group(
        help="工作日历 (the working-day calendar): load next year's official holiday table."
    )

    @calendar_app.command("load")
    def load(
        file: Annotated[
            Path,
            typer.Argument(
                help="a holiday table in the format of engine/workdays/data/holidays.yaml"
            ),
        ],
    ) -> None:
        """Load the State Council's holiday table (节假日安排) for one or more years into the
        database, then recompute every open provisional deadline. Loading the same file again
        changes nothing; a bad file loads nothing."""
        from engine.bootstrap import build_calendar
        from engine.supervision import build_supervision

        with database() as (settings, db):
            clock = clock_factory()
            calendar = build_calendar(settings)
            service = build_supervision(
                settings, db, clock=clock, calendar=calendar, policy_path=settings.deadlines_file
            )
            try:
                report = load_official_table(db, file, service, now=clock.now(), actor="cli")
            except ValidationFailed:
                err.print("nothing was loaded (未载入任何年份)", highlight=False)
                raise
        years = ", ".join(map(str, report.changed)) or "none"
        same = ", ".join(map(str, report.unchanged)) or "none"
        out.print(f"loaded {report.file} (version {report.version})", markup=False)
        out.print(f"  official now: {years}; already loaded unchanged: {same}")
        out.print(f"  {report.recomputed} provisional deadline(s) recomputed")
        out.print(f"calendar: {calendar.coverage_text()}", markup=False)

    @calendar_app.command("status")
    def status(
        on: Annotated[
            str | None,
            typer.Option(help="the warnings as of this date (YYYY-MM-DD, Beijing); default today"),
        ] = None,
    ) -> None:
        """Years with an official table, provisional years, and the operator's warnings."""
        from engine.bootstrap import build_calendar

        with database() as (settings, db):
            calendar = build_calendar(settings)
            with db.session() as s:
                CalendarRefresher(calendar).refresh(s, force=True)
        now = clock_factory().now() if on is None else _day(on)
        found = calendar_status(calendar, now)
        table = Table("year", "status", "source", "notice")
        for year in found.years:
            label = "official 官方" if year.status == "official" else "provisional 暂定"
            table.add_row(str(year.year), label, year.source, year.notice or "")
        out.print(table)
        out.print(f"missing-year policy: {found.missing_year_policy}; data: {found.data_version}")
        for text in found.warnings:
            out.print(styled("warning:", "yellow", text))

    return calendar_app


def _day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise BihuanError(f"--on {text!r} is not a date in the form YYYY-MM-DD") from None
    return datetime.combine(day, time(12), tzinfo=CHINA).astimezone(UTC)


app = make_calendar_app()
