"""Holiday tables: the bundled, versioned table and an operator's override file.

Both files have the same shape (see ``docs/deadlines.md``)::

    version: "2026.1"
    years:
      2026:
        notice: 国办发明电〔2025〕7号     # optional, free text
        complete: true                  # override file only: this year's national schedule is whole
        holidays:                       # rest days (放假), with names
          2026-02-15: 春节 Spring Festival
        workdays:                       # make-up working days on a weekend (调休上班)
          2026-02-14: 春节 Spring Festival

Every year in the bundled table is a complete national schedule. In the override file a year is
only *added to* the national schedule (local or ethnic holidays, ad-hoc closures, a cancelled
rest day) unless it says ``complete: true`` — which is how an operator loads next year's State
Council schedule before a release ships it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import chinese_calendar

from engine.errors import Problem, ValidationFailed
from engine.workdays.yamlsource import YamlDoc, read_yaml, show_path

BUNDLED_TABLE_PATH = Path(__file__).resolve().parent / "data" / "holidays.yaml"

#: ``bundled``: the shipped table; ``official``: a file loaded into the database with ``bihuan
#: calendar load`` (same format, every year complete); ``override``: the operator's file.
TableRole = Literal["bundled", "official", "override"]

_Report = Callable[[tuple[Any, ...], str], None]

_TOP_KEYS = {"version", "source", "description", "years"}
_YEAR_KEYS = {"holidays", "workdays", "complete", "notice"}


@dataclass(frozen=True)
class YearTable:
    year: int
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)
    complete: bool = True
    notice: str | None = None


@dataclass(frozen=True)
class HolidayTable:
    version: str
    file: str
    years: dict[int, YearTable] = field(default_factory=dict)

    def lookup(self, day: date) -> tuple[bool, str] | None:
        """``(is_workday, name)`` when the table names this date, else ``None``."""
        year = self.years.get(day.year)
        if year is None:
            return None
        if day in year.holidays:
            return False, year.holidays[day]
        if day in year.workdays:
            return True, year.workdays[day]
        return None

    def complete_years(self) -> frozenset[int]:
        return frozenset(y for y, table in self.years.items() if table.complete)


def holiday_name(english: str) -> str:
    """``"Spring Festival"`` → ``"春节 Spring Festival"`` (Chinese name, English gloss)."""
    for holiday in chinese_calendar.Holiday:
        if holiday.value == english:
            return f"{holiday.chinese} {english}"
    return english


def load_table(path: Path, role: TableRole) -> HolidayTable:
    """Read and validate a holiday table; every problem is reported with its line."""
    return parse_table(read_yaml(path), role)


def parse_table(doc: YamlDoc, role: TableRole) -> HolidayTable:
    problems: list[Problem] = []

    def problem(path: tuple[Any, ...], message: str) -> None:
        where = show_path(path)
        problems.append(Problem(doc.file, f"{where}: {message}", line=doc.line(path)))

    data = doc.data
    if not isinstance(data, dict):
        raise ValidationFailed(
            [Problem(doc.file, "a holiday table is a mapping with 'version' and 'years'", line=1)]
        )
    for key in data:
        if key not in _TOP_KEYS:
            problem((key,), f"unknown key; expected one of {sorted(_TOP_KEYS)}")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, str | int | float) or version == "":
        problem(("version",), "'version' is required (a string such as \"2026.1\")")
        version = ""
    years_raw = data.get("years", {} if role == "override" else None)
    years: dict[int, YearTable] = {}
    if not isinstance(years_raw, dict):
        problem(("years",), "'years' must be a mapping of year → schedule")
        years_raw = {}
    for year_key, entry in years_raw.items():
        path: tuple[Any, ...] = ("years", year_key)
        if (
            isinstance(year_key, bool)
            or not isinstance(year_key, int)
            or not 1949 <= year_key <= 2200
        ):
            problem(path, "a year key must be a four-digit year such as 2027")
            continue
        parsed = _parse_year(year_key, entry, path, role, problem)
        if parsed is not None:
            years[year_key] = parsed
    if problems:
        raise ValidationFailed(problems)
    return HolidayTable(version=str(version), file=doc.file, years=years)


def _parse_year(
    year: int,
    entry: Any,
    path: tuple[Any, ...],
    role: TableRole,
    problem: _Report,
) -> YearTable | None:
    if entry is None:
        entry = {}
    if not isinstance(entry, dict):
        problem(path, "a year is a mapping with 'holidays' and 'workdays'")
        return None
    for key in entry:
        if key not in _YEAR_KEYS:
            problem((*path, key), f"unknown key; expected one of {sorted(_YEAR_KEYS)}")
    whole = role != "override"
    complete = entry.get("complete", whole)
    if not isinstance(complete, bool):
        problem((*path, "complete"), "'complete' must be true or false")
        complete = False
    elif whole and not complete:
        problem((*path, "complete"), f"every year in the {role} table is a complete schedule")
    notice = entry.get("notice")
    if notice is not None and not isinstance(notice, str):
        problem((*path, "notice"), "'notice' must be text")
        notice = None
    holidays = _parse_days(year, entry.get("holidays"), (*path, "holidays"), problem)
    workdays = _parse_days(year, entry.get("workdays"), (*path, "workdays"), problem)
    if role == "official" and not holidays and "holidays" not in entry:
        problem(path, "an official table lists the year's holidays (国务院办公厅 节假日安排)")
    for day in sorted(holidays.keys() & workdays.keys()):
        problem((*path, "workdays", day), f"{day} is listed both as a holiday and as a workday")
    return YearTable(year, holidays, workdays, complete, notice)


def _parse_days(year: int, raw: Any, path: tuple[Any, ...], problem: _Report) -> dict[date, str]:
    days: dict[date, str] = {}
    if raw is None:
        return days
    if not isinstance(raw, dict):
        problem(path, "expected a mapping of date → name, e.g. '2026-10-01: 国庆节 National Day'")
        return days
    for key, name in raw.items():
        day = _as_date(key)
        if day is None:
            problem((*path, key), f"{key!r} is not a date in the form YYYY-MM-DD")
            continue
        if day.year != year:
            problem((*path, key), f"{day} does not belong to year {year}")
            continue
        if not isinstance(name, str) or not name.strip():
            problem((*path, key), "give the day a name, e.g. '春节 Spring Festival'")
            continue
        days[day] = name.strip()
    return days


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None
