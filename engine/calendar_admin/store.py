"""Official holiday tables in the database, and the load that recomputes provisional deadlines.

Why the database and not a file: every node (API workers, schedulers, the CLI) computes due
times, and each must count with the same table the moment it is loaded. A file on one node would
leave the others provisional — and disagreeing. Each node's :class:`CalendarRefresher` looks at
``calendar_years`` (one small query, at most every ``every_seconds``) and swaps the new tables
into its calendar; the load itself recomputes the deadlines already stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.storage.database import Database
from engine.storage.models import CalendarYear
from engine.workdays import HolidayTable, WorkCalendar, YearTable, load_table

log = logging.getLogger("engine.calendar")

SOURCE = "database:calendar_years"


class Recomputer(Protocol):
    """What the load needs from :class:`engine.supervision.Supervision`."""

    calendar: WorkCalendar

    def recompute_deadlines(self, *, only_low_confidence: bool = True) -> int: ...


@dataclass(frozen=True)
class LoadReport:
    file: str
    version: str
    changed: tuple[int, ...]  # years new to the database, or whose content changed
    unchanged: tuple[int, ...]  # years already loaded with exactly this content
    recomputed: int  # open deadlines whose due time or provisional mark changed


def year_digest(table: YearTable) -> str:
    """SHA-256 of a year's content (days, names, notice): the same file loads once."""
    canonical = {
        "holidays": {d.isoformat(): n for d, n in sorted(table.holidays.items())},
        "workdays": {d.isoformat(): n for d, n in sorted(table.workdays.items())},
        "notice": table.notice,
    }
    text = json.dumps(canonical, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def read_loaded(session: Session) -> HolidayTable | None:
    """The loaded years as one table (``None`` when nothing was loaded)."""
    rows = list(session.scalars(select(CalendarYear).order_by(CalendarYear.year)))
    if not rows:
        return None
    years = {
        row.year: YearTable(
            row.year,
            holidays={date.fromisoformat(k): str(v) for k, v in (row.holidays or {}).items()},
            workdays={date.fromisoformat(k): str(v) for k, v in (row.workdays or {}).items()},
            complete=True,
            notice=row.notice,
        )
        for row in rows
    }
    version = ",".join(f"{row.year}:{row.version}#{row.digest[:8]}" for row in rows)
    return HolidayTable(version=version, file=SOURCE, years=years)


def store_table(
    session: Session, table: HolidayTable, *, now: datetime, actor: str, source_file: str
) -> tuple[list[int], list[int]]:
    """Write each year of ``table`` (new or changed ones only); returns (changed, unchanged)."""
    changed: list[int] = []
    unchanged: list[int] = []
    for year, content in sorted(table.years.items()):
        digest = year_digest(content)
        row = session.get(CalendarYear, year, with_for_update=True)
        if row is not None and row.digest == digest:
            unchanged.append(year)
            continue
        if row is None:
            row = CalendarYear(year=year)
            session.add(row)
        row.version = table.version[:100]
        row.digest = digest
        row.notice = None if content.notice is None else content.notice[:500]
        row.holidays = {d.isoformat(): n for d, n in sorted(content.holidays.items())}
        row.workdays = {d.isoformat(): n for d, n in sorted(content.workdays.items())}
        row.source_file = source_file[-500:]
        row.loaded_at = now
        row.loaded_by = actor[:64]
        changed.append(year)
    return changed, unchanged


def load_official_table(
    db: Database,
    path: Path,
    service: Recomputer,
    *,
    now: datetime,
    actor: str = "cli",
) -> LoadReport:
    """Validate ``path`` (the format of ``engine/workdays/data/holidays.yaml``; every problem is
    reported with its line, nothing is written), store its years, give the service's calendar the
    new tables and recompute every open provisional deadline.

    Idempotent: the same file again changes nothing and recomputes nothing (a deadline is only
    rewritten when its due time or its provisional mark changes).
    """
    table = load_table(path, "official")
    with db.session() as s:
        changed, unchanged = store_table(s, table, now=now, actor=actor, source_file=str(path))
    with db.session() as s:
        service.calendar.set_loaded(read_loaded(s))
    recomputed = service.recompute_deadlines(only_low_confidence=True)
    log.info(
        "official holiday table %s (%s) loaded: years %s changed, %s unchanged; "
        "%d deadline(s) recomputed",
        path,
        table.version,
        ", ".join(map(str, changed)) or "none",
        ", ".join(map(str, unchanged)) or "none",
        recomputed,
    )
    return LoadReport(str(path), table.version, tuple(changed), tuple(unchanged), recomputed)


class CalendarRefresher:
    """Keeps one node's calendar in step with ``calendar_years``.

    :meth:`refresh` runs inside whatever transaction the caller has (an engine command, a
    firing); it reads the years' digests at most every ``every_seconds`` (measured on the
    monotonic clock, which no business decision reads) and reloads the tables when they changed.
    """

    def __init__(self, calendar: WorkCalendar, *, every_seconds: float = 30.0) -> None:
        self.calendar = calendar
        self.every_seconds = every_seconds
        self._last: float | None = None
        self._seen: tuple[tuple[int, str], ...] | None = None

    def refresh(self, session: Session, *, force: bool = False) -> bool:
        """True when the calendar was given new tables."""
        moment = time.monotonic()
        if not force and self._last is not None and moment - self._last < self.every_seconds:
            return False
        self._last = moment
        seen = tuple(
            (int(year), str(digest))
            for year, digest in session.execute(
                select(CalendarYear.year, CalendarYear.digest).order_by(CalendarYear.year)
            )
        )
        if seen == self._seen:
            return False
        self._seen = seen
        changed = self.calendar.set_loaded(read_loaded(session) if seen else None)
        if changed:
            log.info("working-day calendar: official tables in the database for %s",
                     ", ".join(str(y) for y, _ in seen) or "no year")  # fmt: skip
        return changed
