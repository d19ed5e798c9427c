"""The working-day calendar and the counting rules, against the official 2024–2026 schedules."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import holidays
import pytest

from engine.clock import CHINA, ManualClock
from engine.errors import CalendarDataMissing, InputInvalid, ValidationFailed
from engine.workdays import (
    BUNDLED_TABLE_PATH,
    OfficeHours,
    RuleSpec,
    WorkCalendar,
    load_table,
    make_workday_helpers,
)
from engine.workdays.generate import render, year_from_package


def at(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    """An instant in Beijing time."""
    return datetime(y, m, d, hh, mm, tzinfo=CHINA)


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar.load()


@pytest.fixture(scope="module")
def lenient() -> WorkCalendar:
    return WorkCalendar.load(missing_year_policy="weekends_only")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def days(start: date, end: date) -> list[date]:
    return [start + timedelta(n) for n in range((end - start).days + 1)]


# -- data -------------------------------------------------------------------------------------


def test_bundled_table_covers_2024_to_2026_and_is_versioned() -> None:
    table = load_table(BUNDLED_TABLE_PATH, "bundled")
    assert table.version
    assert sorted(table.years) == [2024, 2025, 2026]
    assert table.years[2026].notice and "2026" in table.years[2026].notice


def test_bundled_table_agrees_with_holidays_package_every_day_2024_to_2026() -> None:
    """The cross-check: the bundled table alone (no chinesecalendar) against holidays.China."""
    table_only = WorkCalendar.load(use_package=False)
    china = holidays.country_holidays("CN", years=range(2024, 2027))
    mismatches = [
        day
        for day in days(date(2024, 1, 1), date(2026, 12, 31))
        if table_only.is_workday(day) != china.is_working_day(day)
    ]
    assert mismatches == []


def test_bundled_table_is_what_chinesecalendar_generates() -> None:
    table = load_table(BUNDLED_TABLE_PATH, "bundled")
    for year in (2024, 2025, 2026):
        generated = year_from_package(year)
        assert table.years[year].holidays == generated.holidays
        assert table.years[year].workdays == generated.workdays
    text = render([year_from_package(2026)], "test")
    assert '2026-02-14: "春节 Spring Festival"' in text


@pytest.mark.parametrize(
    ("day", "working"),
    [
        # 2024 春节: 2/10–2/17 off, Sundays 2/4 and 2/18 worked
        (date(2024, 2, 4), True),
        (date(2024, 2, 9), True),
        *[(d, False) for d in days(date(2024, 2, 10), date(2024, 2, 17))],
        (date(2024, 2, 18), True),
        # 2025 国庆+中秋: 10/1–10/8 off, 9/28 (Sun) and 10/11 (Sat) worked
        (date(2025, 9, 28), True),
        *[(d, False) for d in days(date(2025, 10, 1), date(2025, 10, 8))],
        (date(2025, 10, 11), True),
        # 2026 春节: 2/15–2/23 off
        *[(d, False) for d in days(date(2026, 2, 15), date(2026, 2, 23))],
        (date(2026, 2, 24), True),
        # an ordinary weekend and weekday
        (date(2026, 3, 7), False),
        (date(2026, 3, 9), True),
    ],
)
def test_official_schedules(cal: WorkCalendar, day: date, working: bool) -> None:
    assert cal.is_workday(day) is working


MAKE_UP_2026 = [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)]


@pytest.mark.parametrize("day", [date(2026, m, d) for m, d in MAKE_UP_2026])
def test_2026_make_up_working_days(cal: WorkCalendar, day: date) -> None:
    info = cal.day(day)
    assert day.weekday() >= 5
    assert info.is_workday and info.kind == "makeup_workday"
    assert info.source == "bundled"


def test_day_info_names_and_describes(cal: WorkCalendar) -> None:
    national = cal.day(date(2026, 10, 3))
    assert national.kind == "holiday" and national.name == "国庆节 National Day"
    assert national.describe() == "2026-10-03 (holiday: 国庆节 National Day)"
    assert cal.day(date(2026, 3, 7)).kind == "weekend"
    assert cal.day(date(2026, 3, 9)).kind == "workday"
    with pytest.raises(InputInvalid):
        cal.day(at(2026, 3, 9))  # a datetime is a date too, but not what is meant


def test_package_answers_years_outside_the_bundled_table(cal: WorkCalendar) -> None:
    info = cal.day(date(2019, 10, 1))
    assert info.source == "chinese_calendar" and not info.is_workday
    assert info.name == "国庆节 National Day"
    assert cal.day(date(2019, 9, 29)).is_workday  # a 2019 make-up Sunday


def test_coverage_and_data_version(cal: WorkCalendar) -> None:
    covered = cal.covered_years()
    assert {2004, 2024, 2025, 2026} <= covered and 2027 not in covered
    assert cal.covers(2026) and not cal.covers(2027)
    assert cal.coverage_text() == "2004–2026"
    assert cal.data_version.startswith("bundled=2026.1;chinesecalendar=")
    assert WorkCalendar(None, use_package=False).coverage_text() == "no year"


def test_override_wins_over_bundled_and_bundled_over_package(tmp_path: Path) -> None:
    bundled = write(
        tmp_path,
        "bundled.yaml",
        """
version: "test-1"
years:
  2025:
    holidays:
      2025-05-06: 测试假日 test holiday
""",
    )
    override = write(
        tmp_path,
        "local.yaml",
        """
version: local-7
years:
  2026:
    holidays:
      2026-03-03: 三月三 Sanyuesan (壮族 Zhuang festival)
    workdays:
      2026-10-07: 取消的假日 cancelled rest day
""",
    )
    calendar = WorkCalendar.load(override, bundled_path=bundled)
    # bundled wins over chinesecalendar (which says 2025-05-06 is a working day) ...
    assert not calendar.is_workday(date(2025, 5, 6))
    # ... and, for a bundled year, unlisted days follow Monday–Friday (2025-05-01 is not listed)
    assert calendar.day(date(2025, 5, 1)).is_workday
    # 2026 is not in this bundled table: the package answers, except where the override speaks
    assert calendar.day(date(2026, 10, 6)).source == "chinese_calendar"
    local = calendar.day(date(2026, 3, 3))
    assert local.source == "override" and not local.is_workday and local.name
    assert calendar.is_workday(date(2026, 10, 7))
    assert calendar.data_version.startswith("bundled=test-1;override=local-7;")
    # an override year that is not complete does not make a missing year covered
    assert not calendar.covers(2027)


def test_loading_next_year_by_override_and_recomputing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    start = at(2026, 12, 31, 10)
    rule = {"unit": "working_days", "amount": 3}
    lenient = WorkCalendar.load(missing_year_policy="weekends_only")
    with caplog.at_level(logging.INFO, logger="engine.workdays"):
        first = lenient.recompute(rule, start)
    # 2027-01-01 (Friday) was counted as a working day: 1/1, 1/4, 1/5
    assert first.due == at(2027, 1, 5, 17, 30)
    assert first.confidence == "low" and first.uncovered_years == (2027,)
    assert first.provisional and first.text.startswith("暂定（待官方调休安排）")
    assert "[2027: no official table, weekends only]" in first.text
    # a provisional deadline is casework as usual: the operator is warned once a day, not here
    assert caplog.text == ""

    next_year = write(
        tmp_path,
        "local.yaml",
        """
version: ops-2027.1
years:
  2027:
    complete: true
    notice: 国务院办公厅关于2027年部分节假日安排的通知 (example)
    holidays:
      2027-01-01: 元旦 New Year's Day
""",
    )
    loaded = WorkCalendar.load(next_year)  # strict again
    assert loaded.covers(2027)
    stored = json.loads(json.dumps(first.to_dict()))
    again = loaded.recompute(stored["rule"], datetime.fromisoformat(stored["start"]))
    assert again.due == at(2027, 1, 6, 17, 30)
    assert again.confidence == "high" and again.uncovered_years == ()
    assert again.data_version != first.data_version


def test_missing_year_strict_raises() -> None:
    cal = WorkCalendar.load(missing_year_policy="strict")  # for checks and tools, not casework
    with pytest.raises(CalendarDataMissing) as raised:
        cal.add_working_days(at(2026, 12, 30, 10), 3)
    assert raised.value.details["year"] == 2027
    assert "2027" in raised.value.message and "2004–2026" in raised.value.message
    assert raised.value.code == "calendar_data_missing"
    # inside covered data the same calendar computes normally
    assert cal.add_working_days(at(2026, 12, 28, 10), 3).due == at(2026, 12, 31, 17, 30)


def test_missing_year_weekends_only_is_low_confidence(lenient: WorkCalendar) -> None:
    result = lenient.add_natural_days(at(2027, 3, 1, 9), 5)  # last day 3/6 Sat → Mon 3/8
    assert result.due == at(2027, 3, 9)
    assert result.confidence == "low" and result.uncovered_years == (2027,)
    assert lenient.day(date(2027, 3, 6)).source == "weekends_only"
    # natural hours never consult the calendar
    assert lenient.due({"unit": "hours", "amount": 5}, at(2027, 3, 1, 9)).confidence == "high"


def test_invalid_missing_year_policy() -> None:
    with pytest.raises(InputInvalid):
        WorkCalendar(None, missing_year_policy="lenient")  # type: ignore[arg-type]


# -- table validation -------------------------------------------------------------------------


def test_override_file_problems_name_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """version: 1
years:
  2026:
    holidays:
      2027-01-01: wrong year
      2026-05-06:
      not-a-date: x
    workdays:
      2026-05-06: both
    colour: red
  twenty: {}
""",
    )
    with pytest.raises(ValidationFailed) as raised:
        load_table(path, "override")
    problems = {(p.line, p.message.split(": ", 1)[-1]) for p in raised.value.problems}
    lines = sorted(line for line, _ in problems if line is not None)
    assert lines == [5, 6, 7, 10, 11]
    assert "does not belong to year 2026" in str(raised.value)
    assert "give the day a name" in str(raised.value)
    assert "unknown key" in str(raised.value)


def test_table_date_listed_twice_and_missing_version(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.yaml",
        """years:
  2026:
    holidays: {2026-05-06: a}
    workdays: {2026-05-06: b}
""",
    )
    with pytest.raises(ValidationFailed) as raised:
        load_table(path, "override")
    text = str(raised.value)
    assert "'version' is required" in text
    assert "listed both as a holiday and as a workday" in text


def test_bundled_years_must_be_complete_and_yaml_errors_have_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "b.yaml", "version: x\nyears:\n  2026:\n    complete: false\n")
    with pytest.raises(ValidationFailed, match="complete schedule"):
        load_table(path, "bundled")
    broken = write(tmp_path, "broken.yaml", "version: 1\nyears:\n  2026: [\n")
    with pytest.raises(ValidationFailed) as raised:
        load_table(broken, "override")
    assert raised.value.problems[0].line == 4
    duplicate = write(tmp_path, "dup.yaml", "version: 1\nversion: 2\nyears: {}\n")
    with pytest.raises(ValidationFailed) as raised:
        load_table(duplicate, "override")
    first = raised.value.problems[0]
    assert first.line == 2 and "duplicate key" in first.message
    with pytest.raises(ValidationFailed, match="cannot read"):
        load_table(tmp_path / "absent.yaml", "override")


# -- natural time -----------------------------------------------------------------------------


def test_natural_minutes_and_hours_are_exact_and_keep_the_time_zone(cal: WorkCalendar) -> None:
    start = datetime(2026, 10, 1, 23, 50, tzinfo=UTC)  # a holiday in China: irrelevant
    result = cal.due({"unit": "minutes", "amount": 30}, start)
    assert result.due == start + timedelta(minutes=30)
    assert result.due.tzinfo is UTC
    assert result.text == "30 minutes from 2026-10-02 07:50 (natural time)"
    assert cal.due({"unit": "hours", "amount": 1.5}, start).due == start + timedelta(hours=1.5)


# -- natural days (民法典 201/203) ------------------------------------------------------------


def test_natural_days_start_day_not_counted_and_end_at_midnight(cal: WorkCalendar) -> None:
    result = cal.add_natural_days(at(2026, 3, 2, 15), 3)  # Mon → last day Thu 3/5
    assert result.due == at(2026, 3, 6)
    assert "last day 2026-03-05" in result.text and "due at 24:00" in result.text


def test_natural_days_last_day_on_weekend_moves_to_next_working_day(cal: WorkCalendar) -> None:
    result = cal.add_natural_days(at(2026, 3, 2, 15), 5)  # last day Sat 3/7 → Mon 3/9
    assert result.due == at(2026, 3, 10)
    assert "is a rest day (weekend), moved to the next working day 2026-03-09" in result.text


def test_natural_days_last_day_in_holiday_moves_past_it(cal: WorkCalendar) -> None:
    result = cal.add_natural_days(at(2025, 9, 26, 10), 7)  # 10/3 in 国庆 2025 → 10/9
    assert result.due == at(2025, 10, 10)
    assert "国庆节 National Day" in result.text and "民法典 203" in result.text


def test_natural_days_last_day_on_make_up_saturday_stays(cal: WorkCalendar) -> None:
    assert cal.add_natural_days(at(2026, 2, 7, 10), 7).due == at(2026, 2, 15)  # Sat 2/14 works


def test_natural_days_across_the_2026_spring_festival(cal: WorkCalendar) -> None:
    assert cal.add_natural_days(at(2026, 2, 10, 10), 10).due == at(2026, 2, 25)  # 2/20 → 2/24


def test_natural_days_options(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2, 15)
    assert cal.add_natural_days(start, 3, start_rule="same_day_inclusive").due == at(2026, 3, 5)
    assert cal.add_natural_days(start, 3, end_of_day="office_close").due == at(2026, 3, 5, 17, 30)
    custom = cal.add_natural_days(start, 3, end_of_day="office_close", office_hours="09:00-18:00")
    assert custom.due == at(2026, 3, 5, 18)


# -- working days -----------------------------------------------------------------------------


def test_working_days_next_day_over_national_day_2026(cal: WorkCalendar) -> None:
    result = cal.add_working_days(at(2026, 9, 30, 10), 3)
    # 10/1–10/7 off; 10/8, 10/9 and the make-up Saturday 10/10
    assert result.due == at(2026, 10, 10, 17, 30)
    assert result.text == (
        "3 working days from 2026-09-30 10:00 (next_day): the 3rd working day is 2026-10-10, "
        "due at office close 17:30"
    )
    assert result.confidence == "high"


def test_working_days_year_boundary_2025_to_2026(cal: WorkCalendar) -> None:
    # 2026-01-01..03 off; Sunday 1/4 is a make-up working day
    assert cal.add_working_days(at(2025, 12, 31, 10), 2).due == at(2026, 1, 5, 17, 30)
    assert cal.add_working_days(at(2025, 12, 31, 10), 1).due == at(2026, 1, 4, 17, 30)


def test_working_days_across_the_2026_spring_festival(cal: WorkCalendar) -> None:
    # 2/13 Fri, 2/14 make-up Sat, 2/15–2/23 off, 2/24, 2/25, 2/26
    assert cal.add_working_days(at(2026, 2, 12, 9), 5).due == at(2026, 2, 26, 17, 30)


def test_working_days_across_the_2024_spring_festival(cal: WorkCalendar) -> None:
    # 2/8 Thu → 2/9 Fri (1), 2/10–2/17 off, Sun 2/18 make-up (2), 2/19 (3)
    assert cal.add_working_days(at(2024, 2, 8, 16), 3).due == at(2024, 2, 19, 17, 30)


def test_working_days_same_day_inclusive(cal: WorkCalendar) -> None:
    monday = at(2026, 3, 2, 10)
    assert cal.add_working_days(monday, 1, "same_day_inclusive").due == at(2026, 3, 2, 17, 30)
    assert cal.add_working_days(monday, 10, "same_day_inclusive").due == at(2026, 3, 13, 17, 30)
    # after office close the day no longer counts (deemed received the next working day)
    evening = at(2026, 3, 2, 19)
    assert cal.add_working_days(evening, 1, "same_day_inclusive").due == at(2026, 3, 3, 17, 30)
    assert cal.add_working_days(evening, 1, "same_day_inclusive", end_of_day="midnight").due == at(
        2026, 3, 3
    )
    # a start on a rest day counts from the first working day
    saturday = at(2026, 3, 7, 10)
    assert cal.add_working_days(saturday, 1, "same_day_inclusive").due == at(2026, 3, 9, 17, 30)
    assert cal.add_working_days(saturday, 1).due == at(2026, 3, 9, 17, 30)


def test_working_days_end_of_day_and_office_hours(cal: WorkCalendar) -> None:
    start = at(2026, 3, 2, 10)
    assert cal.add_working_days(start, 2, end_of_day="midnight").due == at(2026, 3, 5)
    assert cal.add_working_days(start, 2, office_hours=["09:00-12:00", "14:00-18:00"]).due == at(
        2026, 3, 4, 18
    )


def test_fractional_working_days(cal: WorkCalendar) -> None:
    half = cal.add_working_days(at(2026, 3, 2, 10), 0.5)  # 3 h 45 min of office time
    assert half.due == at(2026, 3, 2, 15, 15)
    assert "3 h 45 min of office time" in half.text
    assert cal.add_working_days(at(2026, 3, 6, 15), 1.5).due == at(2026, 3, 10, 9, 45)


# -- working hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (at(2026, 3, 2, 9), 2, at(2026, 3, 2, 11)),  # inside the morning
        (at(2026, 3, 2, 10), 2, at(2026, 3, 2, 12)),  # ends exactly at the lunch break
        (at(2026, 3, 2, 11), 2, at(2026, 3, 2, 14, 30)),  # across the lunch break
        (at(2026, 3, 2, 12, 30), 1, at(2026, 3, 2, 14, 30)),  # starts in the lunch break
        (at(2026, 3, 2, 7), 1, at(2026, 3, 2, 9, 30)),  # before office hours
        (at(2026, 3, 2, 16, 30), 2, at(2026, 3, 3, 9, 30)),  # overnight
        (at(2026, 3, 2, 22), 1, at(2026, 3, 3, 9, 30)),  # from the evening
        (at(2026, 3, 6, 17), 1, at(2026, 3, 9, 9)),  # over a weekend
        (at(2026, 9, 30, 16), 3, at(2026, 10, 8, 10)),  # over 国庆 2026
        (at(2026, 2, 13, 17), 1, at(2026, 2, 14, 9)),  # into the make-up Saturday
        (at(2026, 3, 2, 8, 30), 7.5, at(2026, 3, 2, 17, 30)),  # a whole office day
        (at(2026, 3, 2, 9), 0.25, at(2026, 3, 2, 9, 15)),
    ],
)
def test_working_hours(cal: WorkCalendar, start: datetime, hours: float, due: datetime) -> None:
    assert cal.add_working_hours(start, hours).due == due


def test_working_hours_per_organisation(cal: WorkCalendar) -> None:
    around_the_clock = OfficeHours.parse("00:00-24:00")
    assert cal.add_working_hours(at(2026, 3, 2, 22), 4, around_the_clock).due == at(2026, 3, 3, 2)
    # a 7×24 unit still rests on holidays unless its calendar says otherwise
    assert cal.add_working_hours(at(2026, 9, 30, 22), 4, around_the_clock).due == at(2026, 10, 8, 2)
    result = cal.add_working_hours(at(2026, 3, 2, 17), 1, ["09:00-17:00", "18:00-20:00"])
    assert result.due == at(2026, 3, 2, 19)
    assert result.rule.office_hours == OfficeHours.parse(["09:00-17:00", "18:00-20:00"])
    assert "office hours 09:00-17:00, 18:00-20:00" in result.text


def test_working_time_between(cal: WorkCalendar) -> None:
    between = cal.working_time_between
    assert between(at(2026, 3, 2, 11), at(2026, 3, 2, 14)) == timedelta(hours=1.5)
    assert between(at(2026, 3, 6, 17), at(2026, 3, 9, 9)) == timedelta(hours=1)
    assert between(at(2026, 9, 30, 10), at(2026, 10, 9, 9)) == timedelta(hours=14)
    assert between(at(2026, 10, 2, 9), at(2026, 10, 5, 17)) == timedelta()
    assert between(at(2026, 3, 2, 14), at(2026, 3, 2, 11)) == -timedelta(hours=1.5)
    assert between(at(2026, 3, 2, 8), at(2026, 3, 2, 20), "00:00-24:00") == timedelta(hours=12)
    utc = between(datetime(2026, 3, 2, 1, tzinfo=UTC), datetime(2026, 3, 2, 3, tzinfo=UTC))
    assert utc == timedelta(hours=2)  # 09:00–11:00 Beijing time


def test_working_time_between_is_the_inverse_of_adding(cal: WorkCalendar) -> None:
    start = at(2026, 2, 12, 15, 20)
    for hours in (0.5, 3, 7.5, 20, 41.25):
        due = cal.add_working_hours(start, hours).due
        assert cal.working_time_between(start, due) == timedelta(hours=hours)


def test_any_time_zone_in_and_out(cal: WorkCalendar) -> None:
    new_york = timezone(timedelta(hours=-5))
    start = datetime(2026, 3, 1, 21, 0, tzinfo=new_york)  # = 2026-03-02 10:00 Beijing
    result = cal.add_working_days(start, 1)
    assert result.due == at(2026, 3, 3, 17, 30)
    assert result.due.utcoffset() == timedelta(hours=-5)
    assert result.start is start


# -- rule specs -------------------------------------------------------------------------------


def test_rule_spec_round_trip_and_recompute(cal: WorkCalendar) -> None:
    result = cal.add_working_days(at(2026, 9, 30, 10), 3, "same_day_inclusive")
    stored = json.loads(json.dumps(result.to_dict()))
    assert stored["rule"] == {
        "unit": "working_days",
        "amount": 3,
        "start_rule": "same_day_inclusive",
        "end_of_day": "office_close",
        "office_hours": ["08:30-12:00", "13:30-17:30"],
    }
    assert stored["confidence"] == "high"
    again = cal.recompute(stored["rule"], datetime.fromisoformat(stored["start"]))
    assert again == result
    assert RuleSpec.from_dict(stored["rule"]) == result.rule


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"unit": "fortnights", "amount": 1}, "unknown time unit"),
        ({"unit": "days", "amount": 0}, "must be positive"),
        ({"unit": "days", "amount": 1.5}, "whole days"),
        ({"unit": "hours", "amount": "2"}, "must be a number"),
        ({"unit": "hours", "amount": 2, "start_rule": "next_day"}, "apply to days"),
        ({"unit": "days", "amount": 2, "start_rule": "tomorrow"}, "unknown start_rule"),
        ({"unit": "days", "amount": 2, "end_of_day": "noon"}, "unknown end_of_day"),
        ({"unit": "days"}, "needs 'unit' and 'amount'"),
        ({"unit": "days", "amount": 2, "colour": "red"}, "unknown rule spec key"),
        ({"unit": "days", "amount": 2, "adjustments": [{"op": "pause"}]}, "unknown adjustment"),
        ({"unit": "days", "amount": 2, "adjustments": [{"op": "extend"}]}, "numeric 'amount'"),
        (
            {"unit": "days", "amount": 2, "adjustments": [{"op": "restart", "at": "2026-03-02"}]},
            "no time zone",
        ),
        ({"unit": "working_hours", "amount": 2, "office_hours": ["9-12"]}, "HH:MM-HH:MM"),
    ],
)
def test_bad_rule_specs_are_refused(
    cal: WorkCalendar, spec: dict[str, object], message: str
) -> None:
    with pytest.raises(InputInvalid, match=message):
        cal.recompute(spec, at(2026, 3, 2, 10))


def test_naive_start_is_refused(cal: WorkCalendar) -> None:
    with pytest.raises(InputInvalid, match="no time zone"):
        cal.add_working_days(datetime(2026, 3, 2, 10), 1)


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ([], "at least one window"),
        (["08:30-12:00", "11:00-13:00"], "overlaps"),
        (["12:00-08:00"], "ends before it starts"),
        (["08:75-12:00"], "not a time of day"),
        (["24:30-25:00"], "not a time of day"),
        ([830], "'HH:MM-HH:MM' string"),
    ],
)
def test_bad_office_hours(windows: list[object], message: str) -> None:
    with pytest.raises(InputInvalid, match=message):
        OfficeHours.parse(windows)  # type: ignore[arg-type]


def test_office_hours_properties() -> None:
    hours = OfficeHours.parse(["08:30-12:00", "13:30-17:30"])
    assert hours.length == timedelta(hours=7, minutes=30)
    assert hours.close == timedelta(hours=17, minutes=30)
    assert str(hours) == "08:30-12:00, 13:30-17:30"
    assert OfficeHours.parse("00:00-24:00").to_strings() == ["00:00-24:00"]


def test_a_calendar_without_working_days_fails_clearly(tmp_path: Path) -> None:
    lines = ["version: closed", "years:", "  2026:", "    holidays:"]
    lines += [f"      {d.isoformat()}: closed" for d in days(date(2026, 1, 1), date(2026, 12, 31))]
    closed = write(tmp_path, "closed.yaml", "\n".join(lines) + "\n")
    calendar = WorkCalendar.load(closed, bundled_path=None, use_package=False)
    calendar.missing_year_policy = "weekends_only"
    assert calendar.add_working_days(at(2026, 12, 30, 9), 1).due == at(2027, 1, 1, 17, 30)
    provisional = WorkCalendar.load(closed, bundled_path=None, use_package=False)
    # 2027-01-01 is 元旦 by statute: the first provisional working day is Monday 1/4
    assert provisional.add_working_days(at(2026, 12, 30, 9), 1).due == at(2027, 1, 4, 17, 30)
    strict = WorkCalendar.load(
        closed, bundled_path=None, use_package=False, missing_year_policy="strict"
    )
    with pytest.raises(CalendarDataMissing):
        strict.add_working_days(at(2026, 12, 30, 9), 1)


# -- BPMN helpers -----------------------------------------------------------------------------


def test_workday_helpers_use_the_clock_not_the_wall(cal: WorkCalendar) -> None:
    clock = ManualClock(datetime(2026, 9, 30, 2, 0, tzinfo=UTC))  # 10:00 Beijing
    helpers = make_workday_helpers(cal, clock)
    assert helpers["working_days_from_now"](3) == "2026-10-10T17:30:00+08:00"
    assert helpers["working_hours_from_now"](3) == "2026-09-30T14:30:00+08:00"
    clock.advance(timedelta(days=1))
    assert helpers["working_days_from_now"](1) == "2026-10-08T17:30:00+08:00"
    assert set(helpers) == {
        "add_working_days",
        "add_working_hours",
        "add_natural_days",
        "working_days_from_now",
        "working_hours_from_now",
        "is_workday",
    }


def test_workday_helpers_accept_iso_strings_dates_and_datetimes(cal: WorkCalendar) -> None:
    helpers = make_workday_helpers(cal, lambda: at(2026, 3, 2, 10), office_hours="09:00-17:00")
    add_working_days = helpers["add_working_days"]
    assert add_working_days("2026-09-30T10:00:00+08:00", 3) == "2026-10-10T17:00:00+08:00"
    assert add_working_days("2026-09-30T02:00:00Z", 3) == "2026-10-10T17:00:00+08:00"
    assert add_working_days("2026-09-30T10:00", 3) == "2026-10-10T17:00:00+08:00"  # Beijing
    assert add_working_days(at(2026, 9, 30, 10), 3) == "2026-10-10T17:00:00+08:00"
    assert helpers["add_natural_days"]("2026-09-30", 7) == "2026-10-09T00:00:00+08:00"
    assert helpers["add_working_hours"]("2026-03-02T16:00:00+08:00", 2) == (
        "2026-03-03T10:00:00+08:00"
    )
    assert helpers["working_days_from_now"](1) == "2026-03-03T17:00:00+08:00"
    assert helpers["is_workday"]("2026-02-14") is True
    assert helpers["is_workday"](date(2026, 2, 15)) is False
    with pytest.raises(InputInvalid, match="not an ISO-8601"):
        add_working_days("next monday", 1)
    with pytest.raises(InputInvalid, match="expected a number"):
        add_working_days("2026-03-02", "3")
    with pytest.raises(InputInvalid, match="expected a date-time"):
        add_working_days(20260302, 1)


def test_next_workday_and_odd_amounts(cal: WorkCalendar) -> None:
    assert cal.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)
    assert cal.next_workday(date(2026, 2, 13)) == date(2026, 2, 14)  # make-up Saturday
    for amount in (float("nan"), float("inf"), -1):
        with pytest.raises(InputInvalid, match="must be positive"):
            RuleSpec("hours", amount)
    with pytest.raises(InputInvalid, match="whole number of days"):
        cal.recompute(
            {"unit": "days", "amount": 5, "adjustments": [{"op": "extend", "amount": 0.5}]},
            at(2026, 3, 2, 10),
        )


# -- a year without an official table: provisional, never blocking ----------------------------


def test_a_missing_year_counts_statutory_holidays_and_weekends(cal: WorkCalendar) -> None:
    assert cal.missing_year_policy == "provisional" and not cal.covers(2027)
    new_year = cal.day(date(2027, 1, 1))  # Friday, 元旦 by statute
    assert (new_year.is_workday, new_year.source, new_year.covered) == (False, "statutory", False)
    assert new_year.name is not None and new_year.name.startswith("元旦")
    assert "暂定" in new_year.name
    # 春节 falls on a weekend: the statute's 补假 (observed days) are rest days too
    assert not cal.is_workday(date(2027, 2, 9)) and not cal.is_workday(date(2027, 2, 10))
    assert cal.is_workday(date(2027, 2, 11))
    # no 调休 make-up days are guessed: a Saturday is a rest day
    assert cal.day(date(2027, 2, 20)).kind == "weekend"


def test_a_provisional_deadline_is_marked_and_labelled(cal: WorkCalendar) -> None:
    result = cal.add_working_days(at(2026, 12, 30, 10), 3)  # 12/31, then 1/4, 1/5 (1/1 rests)
    assert result.due == at(2027, 1, 5, 17, 30)
    assert result.provisional and result.confidence == "low"
    assert result.uncovered_years == (2027,)
    assert result.text.startswith("暂定（待官方调休安排） ")
    assert result.text.endswith("[2027: no official table, statutory only]")
    stored = result.to_dict()
    assert stored["provisional"] is True and stored["confidence"] == "low"
    # inside official data nothing is provisional
    inside = cal.add_working_days(at(2026, 12, 28, 10), 3)
    assert not inside.provisional and not inside.to_dict()["provisional"]
    assert "暂定" not in inside.text


def test_weekends_only_ignores_the_statute(lenient: WorkCalendar) -> None:
    result = lenient.add_working_days(at(2026, 12, 30, 10), 3)  # 12/31, 1/1, 1/4
    assert result.due == at(2027, 1, 4, 17, 30) and result.provisional
    assert "weekends only" in result.text


def test_official_tables_from_the_database_replace_the_provisional_year(tmp_path: Path) -> None:
    calendar = WorkCalendar.load()
    start = at(2026, 12, 3, 10)
    provisional = calendar.add_natural_days(start, 30)  # last day 1/2 (Sat) → Monday 1/4
    assert provisional.due == at(2027, 1, 5) and provisional.provisional
    table = load_table(
        Path(__file__).parent / "fixtures" / "calendar" / "holidays-2027-test.yaml", "official"
    )
    assert calendar.set_loaded(table) is True
    assert calendar.set_loaded(table) is False  # the same tables: nothing forgotten
    assert calendar.covers(2027) and calendar.official_years()[2027] == "database"
    assert calendar.day(date(2027, 1, 4)).source == "database"
    assert calendar.day(date(2027, 2, 20)).kind == "makeup_workday"
    assert "loaded=test-2027.1" in calendar.data_version
    official = calendar.recompute(provisional.rule, provisional.start)
    assert official.due == at(2027, 1, 6) and not official.provisional
    assert calendar.set_loaded(None) is True and not calendar.covers(2027)


def test_an_official_table_is_complete_and_lists_holidays(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "partial.yaml",
        """version: x
years:
  2027:
    complete: false
  2028:
    workdays:
      2028-01-08: 调休
""",
    )
    with pytest.raises(ValidationFailed) as raised:
        load_table(path, "official")
    found = [(p.line, p.message) for p in raised.value.problems]
    assert (
        4,
        "years → 2027 → complete: every year in the official table is a complete schedule",
    ) in found
    assert any(line == 5 and "lists the year's holidays" in msg for line, msg in found)


def test_a_bad_date_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, "bad.yaml", "version: x\nyears:\n  2027:\n    holidays:\n      2027-02-30: 春节\n"
    )
    with pytest.raises(ValidationFailed) as raised:
        load_table(path, "official")
    [problem] = raised.value.problems
    assert problem.line == 5 and "'2027-02-30' is not a valid value" in problem.message
