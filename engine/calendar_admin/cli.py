"""``bihuan calendar …``: load an official holiday table, show what the calendar knows.

Registered in the ``bihuan`` command line with ``app.add_typer(make_calendar_app(), name=
"calendar")``. The clock is passed in (the system clock in production, a ``ManualClock`` in
tests), so the warnings and the recompute see the engine's "now".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from engine.calendar_admin.status import calendar_status
from engine.calendar_admin.store import load_official_table
from engine.clock import CHINA, Clock, SystemClock
from engine.errors import BihuanError, ValidationFailed
from engine.settings import Settings

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def make_calendar_app(clock_factory: Callable[[], Clock] = SystemClock) -> typer.Typer:
    calendar_app = typer.Typer(
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
        changes nothing."""
        from engine.bootstrap import build_calendar
        from engine.storage.database import Database
        from engine.supervision import build_supervision

        settings = Settings()
        db = Database(settings.database_url, pooled=False)
        try:
            clock = clock_factory()
            calendar = build_calendar(settings)
            service = build_supervision(
                settings, db, clock=clock, calendar=calendar, policy_path=settings.deadlines_file
            )
            report = _guard(
                lambda: load_official_table(db, file, service, now=clock.now(), actor="cli")
            )
        finally:
            db.dispose()
        years = ", ".join(map(str, report.changed)) or "none"
        same = ", ".join(map(str, report.unchanged)) or "none"
        out.print(f"loaded {report.file} (version {report.version})")
        out.print(f"  official now: {years}; already loaded unchanged: {same}")
        out.print(f"  {report.recomputed} provisional deadline(s) recomputed")
        out.print(f"calendar: {calendar.coverage_text()}")

    @calendar_app.command("status")
    def status(
        on: Annotated[
            str | None,
            typer.Option(help="the warnings as of this date (YYYY-MM-DD, Beijing); default today"),
        ] = None,
    ) -> None:
        """Years with an official table, provisional years, and the operator's warnings."""
        from engine.bootstrap import build_calendar
        from engine.calendar_admin.store import CalendarRefresher
        from engine.storage.database import Database

        settings = Settings()
        calendar = build_calendar(settings)
        db = Database(settings.database_url, pooled=False)
        try:
            with db.session() as s:
                CalendarRefresher(calendar).refresh(s, force=True)
        finally:
            db.dispose()
        now = clock_factory().now() if on is None else _day(on)
        found = calendar_status(calendar, now)
        table = Table("year", "status", "source", "notice")
        for year in found.years:
            label = "official 官方" if year.status == "official" else "provisional 暂定"
            table.add_row(str(year.year), label, year.source, year.notice or "")
        out.print(table)
        out.print(f"missing-year policy: {found.missing_year_policy}; data: {found.data_version}")
        for text in found.warnings:
            out.print(f"[yellow]warning:[/yellow] {text}", highlight=False)

    return calendar_app


def _guard(work: Callable[[], T]) -> T:
    try:
        return work()
    except ValidationFailed as exc:
        err.print(f"[red]refused:[/red] {len(exc.problems)} problem(s); nothing was loaded")
        for problem in exc.problems:
            err.print(f"  {problem}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    except BihuanError as exc:
        err.print(f"[red]error ({exc.code}):[/red] {exc.message}", highlight=False)
        raise typer.Exit(1) from None


def _day(text: str) -> datetime:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        err.print(f"[red]error:[/red] --on {text!r} is not a date in the form YYYY-MM-DD")
        raise typer.Exit(1) from None
    return datetime.combine(day, time(12), tzinfo=CHINA).astimezone(UTC)
