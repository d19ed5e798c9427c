"""The Chinese working-day calendar (工作日历): which dates are working days, and how we know.

Sources, first answer wins for a date:

1. the operator's override file (local/ethnic holidays per 放假办法 第四条, ad-hoc closures,
   and whole years loaded ahead of a release with ``complete: true``);
2. official tables loaded into the database (``bihuan calendar load FILE``), so every node sees
   them — the calendar is given them as ``loaded`` and refreshed with :meth:`set_loaded`;
3. the bundled, versioned table ``engine/workdays/data/holidays.yaml``;
4. the ``chinesecalendar`` package (2004–2026 in 1.11.0);
5. for a year none of them covers, the missing-year policy. A missing year never blocks casework:

   * ``provisional`` (default) — the statutory holidays (全国年节及纪念日放假办法, with the
     补假 of a holiday that falls on a weekend) from the ``holidays`` package, plus weekends;
     no 调休 make-up days, since only the State Council's notice names them;
   * ``weekends_only`` — Monday–Friday are working days;
   * ``strict`` — raises :class:`~engine.errors.CalendarDataMissing`. For checks and tools
     only (e.g. asserting that a table is complete); the engine's settings do not offer it.

   Every deadline that consulted such a day is *provisional* (``confidence="low"``,
   ``DueResult.provisional``) and is recomputed when the year's official table is loaded.

Calendar decisions are made on Asia/Shanghai dates whatever the time zone of the instants given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cached_property
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Literal

import chinese_calendar
import holidays as holidays_package

from engine.errors import CalendarDataMissing, InputInvalid
from engine.workdays import counting
from engine.workdays.hours import DEFAULT_OFFICE_HOURS, OfficeHours, OfficeHoursLike
from engine.workdays.rules import DueResult, EndOfDay, RuleSpec, StartRule
from engine.workdays.tables import BUNDLED_TABLE_PATH, HolidayTable, holiday_name, load_table

log = logging.getLogger(__name__)

MissingYearPolicy = Literal["provisional", "weekends_only", "strict"]
MISSING_YEAR_POLICIES: tuple[MissingYearPolicy, ...] = ("provisional", "weekends_only", "strict")
DaySource = Literal[
    "override", "database", "bundled", "chinese_calendar", "statutory", "weekends_only"
]

#: English names of the ``holidays`` package → the Chinese name (English gloss kept after it).
_STATUTORY_NAMES = (
    ("Chinese New Year's Eve", "除夕"),
    ("Chinese New Year", "春节"),
    ("New Year's Day", "元旦"),
    ("Tomb-Sweeping", "清明节"),
    ("Labor Day", "劳动节"),
    ("Dragon Boat", "端午节"),
    ("Mid-Autumn", "中秋节"),
    ("National Day", "国庆节"),
)

#: Years probed when asking ``chinesecalendar`` which years it knows.
_PACKAGE_PROBE = range(1990, 2101)


@dataclass(frozen=True)
class DayInfo:
    """What the calendar knows about one date."""

    day: date
    is_workday: bool
    name: str | None
    source: DaySource
    covered: bool

    @property
    def kind(self) -> Literal["workday", "makeup_workday", "holiday", "weekend"]:
        weekend = self.day.weekday() >= 5
        if self.is_workday:
            return "makeup_workday" if weekend else "workday"
        return "weekend" if weekend and self.name is None else "holiday"

    def describe(self) -> str:
        """``"2026-10-03 (holiday: 国庆节 National Day)"``."""
        labels = {
            "workday": "working day",
            "makeup_workday": "make-up working day (调休)",
            "holiday": "holiday",
            "weekend": "weekend rest day",
        }
        text = f"{self.day.isoformat()} ({labels[self.kind]}"
        if self.name:
            text += f": {self.name}"
        return text + ")"


class WorkCalendar:
    """Working days plus the default office hours; deadline arithmetic lives in ``counting``."""

    def __init__(
        self,
        bundled: HolidayTable | None,
        override: HolidayTable | None = None,
        *,
        missing_year_policy: MissingYearPolicy = "provisional",
        office_hours: OfficeHoursLike = DEFAULT_OFFICE_HOURS,
        use_package: bool = True,
        loaded: HolidayTable | None = None,
    ) -> None:
        if missing_year_policy not in MISSING_YEAR_POLICIES:
            raise InputInvalid(
                f"missing_year_policy must be one of {', '.join(MISSING_YEAR_POLICIES)}, "
                f"not {missing_year_policy!r}"
            )
        self.bundled = bundled
        self.override = override
        self.loaded = loaded
        self.missing_year_policy: MissingYearPolicy = missing_year_policy
        self.office_hours = OfficeHours.parse(office_hours)
        self.use_package = use_package
        self._days: dict[date, DayInfo] = {}
        self._statutory_years: dict[int, dict[date, str]] = {}

    @classmethod
    def load(
        cls,
        override_path: Path | str | None = None,
        *,
        missing_year_policy: MissingYearPolicy = "provisional",
        office_hours: OfficeHoursLike = DEFAULT_OFFICE_HOURS,
        bundled_path: Path | str | None = BUNDLED_TABLE_PATH,
        use_package: bool = True,
        loaded: HolidayTable | None = None,
    ) -> WorkCalendar:
        """The bundled table, plus the operator's override file when a path is given.

        Raises :class:`~engine.errors.ValidationFailed` naming the file and line of any problem.
        """
        bundled = None if bundled_path is None else load_table(Path(bundled_path), "bundled")
        override = None if override_path is None else load_table(Path(override_path), "override")
        return cls(
            bundled,
            override,
            missing_year_policy=missing_year_policy,
            office_hours=office_hours,
            use_package=use_package,
            loaded=loaded,
        )

    def set_loaded(self, loaded: HolidayTable | None) -> bool:
        """Swap in the official tables loaded into the database; True when they changed.

        Every node calls this when it sees a new load (``engine.calendar_admin``); what the
        calendar remembered about days and coverage is forgotten.
        """
        if _table_key(loaded) == _table_key(self.loaded):
            return False
        self.loaded = loaded
        self._days = {}  # a new dict: a lookup running on another thread fills the old one
        for name in ("data_version", "_table_years"):
            self.__dict__.pop(name, None)
        return True

    # -- data coverage --------------------------------------------------------------------------

    @cached_property
    def data_version(self) -> str:
        """Identifies the data; stored with a deadline to find those computed on older data."""
        parts = []
        if self.bundled is not None:
            parts.append(f"bundled={self.bundled.version}")
        if self.loaded is not None:
            parts.append(f"loaded={self.loaded.version}")
        if self.override is not None:
            parts.append(f"override={self.override.version}")
        if self.use_package:
            try:
                parts.append(f"chinesecalendar={package_version('chinesecalendar')}")
            except PackageNotFoundError:  # pragma: no cover - imported above, so installed
                parts.append("chinesecalendar=unknown")
        if self.missing_year_policy == "provisional":
            parts.append(f"holidays={package_version('holidays')}")
        return ";".join(parts) or "weekdays-only"

    @cached_property
    def _package_years(self) -> frozenset[int]:
        if not self.use_package:
            return frozenset()
        years = set()
        for year in _PACKAGE_PROBE:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
            except NotImplementedError:
                continue
            years.add(year)
        return frozenset(years)

    @cached_property
    def _table_years(self) -> frozenset[int]:
        years: set[int] = set()
        for table in (self.bundled, self.loaded, self.override):
            if table is not None:
                years |= table.complete_years()
        return frozenset(years)

    def official_years(self) -> dict[int, str]:
        """Covered years → where their official schedule comes from (override, database,
        bundled, chinese_calendar; the first source that has the whole year)."""
        found: dict[int, str] = {}
        for source, table in (
            ("override", self.override),
            ("database", self.loaded),
            ("bundled", self.bundled),
        ):
            if table is not None:
                for year in table.complete_years():
                    found.setdefault(year, source)
        for year in self._package_years:
            found.setdefault(year, "chinese_calendar")
        return dict(sorted(found.items()))

    def covered_years(self) -> frozenset[int]:
        """Years whose national schedule is known (holidays and make-up working days)."""
        return self._table_years | self._package_years

    def covers(self, year: int) -> bool:
        return year in self._table_years or year in self._package_years

    def coverage_text(self) -> str:
        """``"2004–2026"`` (ranges of covered years) for messages."""
        years = sorted(self.covered_years())
        if not years:
            return "no year"
        ranges: list[tuple[int, int]] = []
        for year in years:
            if ranges and year == ranges[-1][1] + 1:
                ranges[-1] = (ranges[-1][0], year)
            else:
                ranges.append((year, year))
        return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in ranges)

    # -- days -----------------------------------------------------------------------------------

    def day(self, day: date) -> DayInfo:
        """What is known about ``day``; raises ``CalendarDataMissing`` only under ``strict``."""
        if isinstance(day, datetime):
            raise InputInvalid("WorkCalendar.day() takes a date; convert instants with in_china()")
        days = self._days
        info = days.get(day)
        if info is None:
            info = self._lookup(day)
            days[day] = info
        if not info.covered and self.missing_year_policy == "strict":
            raise CalendarDataMissing(
                f"no working-day calendar data for {day.year} (covered: {self.coverage_text()}); "
                f"load the State Council holiday schedule for {day.year} (docs/deadlines.md) or "
                "use missing_year_policy 'provisional'",
                year=day.year,
                covered=self.coverage_text(),
            )
        return info

    def is_workday(self, day: date) -> bool:
        return self.day(day).is_workday

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = day
        for _ in range(counting.MAX_DAYS):
            candidate += timedelta(days=1)
            if self.day(candidate).is_workday:
                return candidate
        raise InputInvalid(f"no working day within {counting.MAX_DAYS} days after {day}")

    def _lookup(self, day: date) -> DayInfo:
        weekday_rule = day.weekday() < 5
        if self.override is not None:
            found = self.override.lookup(day)
            if found is not None:
                return DayInfo(day, found[0], found[1], "override", True)
        if self.loaded is not None and day.year in self.loaded.years:
            found = self.loaded.lookup(day)
            if found is not None:
                return DayInfo(day, found[0], found[1], "database", True)
            return DayInfo(day, weekday_rule, None, "database", True)
        if self.bundled is not None and day.year in self.bundled.years:
            found = self.bundled.lookup(day)
            if found is not None:
                return DayInfo(day, found[0], found[1], "bundled", True)
            return DayInfo(day, weekday_rule, None, "bundled", True)
        if day.year in self._package_years:
            on_holiday, name = chinese_calendar.get_holiday_detail(day)
            return DayInfo(
                day,
                not on_holiday,
                None if name is None else holiday_name(name),
                "chinese_calendar",
                True,
            )
        if self.override is not None and day.year in self.override.complete_years():
            return DayInfo(day, weekday_rule, None, "override", True)
        if self.missing_year_policy == "provisional":
            name = self._statutory(day.year).get(day)
            if name is not None:
                return DayInfo(day, False, name, "statutory", False)
            return DayInfo(day, weekday_rule, None, "statutory", False)
        return DayInfo(day, weekday_rule, None, "weekends_only", False)

    def _statutory(self, year: int) -> dict[date, str]:
        """The statutory rest days of ``year`` (法定节假日 and their 补假) from ``holidays``."""
        found = self._statutory_years.get(year)
        if found is None:
            found = {
                day: _statutory_name(str(name))
                for day, name in holidays_package.country_holidays("CN", years=year).items()
            }
            self._statutory_years[year] = found
        return found

    # -- deadline arithmetic (see engine.workdays.counting) -------------------------------------

    def due(
        self,
        rule: RuleSpec | Mapping[str, Any],
        start: datetime,
        office_hours: OfficeHoursLike | None = None,
    ) -> DueResult:
        """Compute (or recompute) a deadline from a rule spec and its start instant."""
        return counting.compute_due(self, RuleSpec.coerce(rule), start, office_hours)

    recompute = due

    def add_working_days(
        self,
        start: datetime,
        amount: float,
        start_rule: StartRule | None = None,
        end_of_day: EndOfDay | None = None,
        office_hours: OfficeHoursLike | None = None,
    ) -> DueResult:
        rule = RuleSpec("working_days", amount, start_rule=start_rule, end_of_day=end_of_day)
        return self.due(rule, start, office_hours)

    def add_working_hours(
        self, start: datetime, amount: float, office_hours: OfficeHoursLike | None = None
    ) -> DueResult:
        return self.due(RuleSpec("working_hours", amount), start, office_hours)

    def add_natural_days(
        self,
        start: datetime,
        amount: int,
        start_rule: StartRule | None = None,
        end_of_day: EndOfDay | None = None,
        office_hours: OfficeHoursLike | None = None,
    ) -> DueResult:
        rule = RuleSpec("days", amount, start_rule=start_rule, end_of_day=end_of_day)
        return self.due(rule, start, office_hours)

    def working_time_between(
        self, a: datetime, b: datetime, office_hours: OfficeHoursLike | None = None
    ) -> timedelta:
        """Office time on working days between two instants (negative when ``b`` precedes ``a``)."""
        hours = self.office_hours if office_hours is None else OfficeHours.parse(office_hours)
        return counting.working_time_between(self, a, b, hours)


def _table_key(table: HolidayTable | None) -> tuple[str, tuple[int, ...]] | None:
    return None if table is None else (table.version, tuple(sorted(table.years)))


def _statutory_name(english: str) -> str:
    """``"Labor Day (observed)"`` → ``"劳动节 Labor Day (observed) — 法定假日（暂定）"``."""
    for key, chinese in _STATUTORY_NAMES:
        if english.startswith(key):
            return f"{chinese} {english} — 法定假日（暂定）"
    return f"{english} — 法定假日（暂定）"
