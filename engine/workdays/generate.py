"""Write holiday-table YAML for some years from the ``chinesecalendar`` package.

    python -m engine.workdays.generate 2024 2025 2026 --version 2026.1 > holidays.yaml

This is how ``engine/workdays/data/holidays.yaml`` was seeded. After upgrading
``chinesecalendar`` to a release that knows a new year, an operator can print that year and paste
it under ``years:`` of the bundled table (bump its ``version``) or of the override file (with
``complete: true``). Always compare the result with the State Council notice (国务院办公厅关于…
部分节假日安排的通知) before shipping it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from importlib.metadata import version as package_version

import chinese_calendar

from engine.workdays.tables import YearTable, holiday_name


def year_from_package(year: int) -> YearTable:
    """The national schedule of ``year`` as ``chinesecalendar`` knows it.

    Holidays are all rest days of a holiday period (weekend days inside it included); workdays
    are the weekend days that are working days (调休上班). Raises ``NotImplementedError`` (from
    the package) for a year it does not cover.
    """
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    day = date(year, 1, 1)
    while day.year == year:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
        if name is not None:
            if on_holiday:
                holidays[day] = holiday_name(name)
            elif day.weekday() >= 5:
                workdays[day] = holiday_name(name)
        day += timedelta(days=1)
    return YearTable(year=year, holidays=holidays, workdays=workdays)


def render(years: Iterable[YearTable], version: str) -> str:
    """YAML text of a holiday table (stable order, one date per line)."""
    lines = [
        f'version: "{version}"',
        f"source: chinesecalendar {package_version('chinesecalendar')}",
        "years:",
    ]
    for table in sorted(years, key=lambda t: t.year):
        lines.append(f"  {table.year}:")
        if table.notice:
            lines.append(f"    notice: {_quote(table.notice)}")
        for key, days in (("holidays", table.holidays), ("workdays", table.workdays)):
            lines.append(f"    {key}:")
            for day in sorted(days):
                lines.append(f"      {day.isoformat()}: {_quote(days[day])}")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("years", nargs="+", type=int)
    parser.add_argument("--version", default="draft", help="the table's version string")
    args = parser.parse_args(argv)
    try:
        tables = [year_from_package(year) for year in args.years]
    except NotImplementedError as exc:
        print(f"chinesecalendar has no data: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(render(tables, args.version))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
