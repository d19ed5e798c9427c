"""The operator's calendar warning: from 1 November of year Y while Y+1 has no official table."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine.calendar_admin import calendar_status, log_calendar_warnings
from engine.clock import CHINA
from engine.settings import Settings
from engine.workdays import WorkCalendar, load_table

TABLE = Path(__file__).parent / "fixtures" / "calendar" / "holidays-2027-test.yaml"


def beijing(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


def test_no_warning_on_31_october(calendar: WorkCalendar) -> None:
    status = calendar_status(calendar, beijing(2026, 10, 31, 23, 59))
    assert status.warnings == []
    assert [(y.year, y.status) for y in status.years] == [
        (2025, "official"),
        (2026, "official"),
        (2027, "provisional"),
    ]
    assert status.years[1].source == "bundled" and status.years[1].notice
    assert status.years[2].source == "provisional"


def test_warning_from_1_november_in_beijing(calendar: WorkCalendar) -> None:
    # 2026-10-31 16:00 UTC is already 1 November in Beijing
    [warning] = calendar_status(calendar, beijing(2026, 11, 1)).warnings
    assert warning.startswith("尚未载入明年（2027 年）国务院办公厅节假日安排（调休）")
    assert (
        "bihuan calendar load FILE" in warning and "No official holiday table for 2027" in warning
    )
    assert calendar_status(calendar, beijing(2026, 12, 31, 23, 59)).warnings == [warning]


def test_the_warning_ends_when_next_year_is_loaded(calendar: WorkCalendar) -> None:
    calendar.set_loaded(load_table(TABLE, "official"))
    status = calendar_status(calendar, beijing(2026, 12, 3, 10))
    assert status.warnings == []
    assert (status.years[-1].year, status.years[-1].status, status.years[-1].source) == (
        2027,
        "official",
        "database",
    )


def test_a_current_year_without_a_table_is_warned_all_year(calendar: WorkCalendar) -> None:
    [warning] = calendar_status(calendar, beijing(2027, 3, 1)).warnings
    assert "今年（2027 年）" in warning
    both = calendar_status(calendar, beijing(2027, 11, 1)).warnings
    assert len(both) == 2 and "明年（2028 年）" in both[1]


def test_the_warning_is_logged(calendar: WorkCalendar, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="engine.calendar"):
        assert log_calendar_warnings(calendar, beijing(2026, 10, 31, 12)) == []
        assert caplog.records == []
        [text] = log_calendar_warnings(calendar, beijing(2026, 11, 2, 12))
    [record] = caplog.records
    assert record.levelno == logging.WARNING and text in record.getMessage()


def test_strict_is_no_longer_a_setting() -> None:
    assert Settings().missing_year_policy == "provisional"
    with pytest.raises(ValidationError, match="no longer offered: it blocked casework"):
        Settings(missing_year_policy="strict")  # type: ignore[arg-type]
    assert Settings(missing_year_policy="weekends_only").missing_year_policy == "weekends_only"
