"""``bihuan calendar load FILE`` and ``bihuan calendar status`` against a real database."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from cli.calendar import make_calendar_app
from engine.calendar_admin import CalendarRefresher, calendar_check_job, read_loaded
from engine.clock import CHINA, ManualClock
from engine.storage.database import Database
from engine.storage.models import CalendarYear
from engine.workdays import WorkCalendar

FIXTURES = Path(__file__).parent / "fixtures" / "calendar"
GOOD = FIXTURES / "holidays-2027-test.yaml"
BAD = FIXTURES / "holidays-2027-bad.yaml"
NOW = datetime(2026, 12, 3, 10, tzinfo=CHINA).astimezone(UTC)


@pytest.fixture
def run(db: Database, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("BIHUAN_DATABASE_URL", db.url)
    return CliRunner()


def invoke(runner: CliRunner, *args: str) -> tuple[int, str]:
    result = runner.invoke(make_calendar_app(lambda: ManualClock(NOW)), list(args))
    return result.exit_code, result.output


def test_loading_a_good_file_stores_the_year_once(run: CliRunner, db: Database) -> None:
    code, output = invoke(run, "load", str(GOOD))
    assert code == 0, output
    assert "official now: 2027" in output and "calendar: 2004–2027" in output
    with db.session() as s:
        [row] = s.scalars(select(CalendarYear))
        assert (row.year, row.version, row.loaded_by) == (2027, "test-2027.1", "cli")
        assert row.loaded_at == NOW and row.source_file.endswith("holidays-2027-test.yaml")
        assert row.holidays["2027-01-04"].startswith("元旦")
        assert row.workdays == {"2027-02-20": "春节 Spring Festival (test make-up day)"}
        digest = row.digest
    code, output = invoke(run, "load", str(GOOD))
    assert code == 0 and "already loaded unchanged: 2027" in output
    with db.session() as s:
        assert s.scalar(select(CalendarYear.digest)) == digest


def test_a_malformed_file_names_the_line_and_loads_nothing(run: CliRunner, db: Database) -> None:
    code, output = invoke(run, "load", str(BAD))
    assert code == 1
    assert "refused: 1 problem(s)" in output
    assert "nothing was loaded" in output
    assert "holidays-2027-bad.yaml:6: '2027-02-30' is not a valid value" in output
    assert "Traceback" not in output
    code, output = invoke(run, "load", str(FIXTURES / "no-such-file.yaml"))
    assert code == 1 and "cannot read the file" in output
    with db.session() as s:
        assert s.scalars(select(CalendarYear)).all() == []


def test_status_shows_the_warning_until_the_year_is_loaded(run: CliRunner) -> None:
    code, output = invoke(run, "status", "--on", "2026-11-01")
    assert code == 0, output
    assert "provisional 暂定" in output and "尚未载入明年（2027 年）" in output
    code, output = invoke(run, "status", "--on", "2026-10-31")
    assert code == 0 and "warning" not in output
    invoke(run, "load", str(GOOD))
    code, output = invoke(run, "status", "--on", "2026-11-01")
    assert code == 0 and "warning" not in output and "database" in output
    code, output = invoke(run, "status", "--on", "1 Nov")
    assert code == 1 and "is not a date in the form YYYY-MM-DD" in output


def test_the_daily_job_picks_up_a_load_and_stops_warning(
    run: CliRunner, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    calendar = WorkCalendar.load()
    job = calendar_check_job(CalendarRefresher(calendar))
    with caplog.at_level(logging.WARNING, logger="engine.calendar"), db.session() as s:
        job(s, NOW, NOW)
    assert "2027" in caplog.text
    invoke(run, "load", str(GOOD))
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="engine.calendar"), db.session() as s:
        job(s, NOW, NOW)
        assert read_loaded(s) is not None
    assert calendar.covers(2027) and caplog.text == ""
