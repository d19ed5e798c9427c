"""The report summed in SQL over ``case_facts`` equals the fold of the audit record.

Real cases go through the engine (tests/kpi/county.py): after every command the case's facts
row must equal the fold of its whole record, and the report (``compute``) must equal the fold of
every case's record (``compute_from_record``) for months, a quarter and a year, as of the period
end or a moment inside it, for the county, a township and a village — on both databases.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from demo import scenarios as sc
from engine.clock import ManualClock
from engine.kpi import KpiSet, Period, compute, compute_from_record
from engine.kpi.store import CACHE
from engine.kpi.sums import sums
from tests.kpi.county import REPORTER, County, build, drive, folded, stored

PERIODS = ("2026-03", "2026-04", "2026-05", "2026-Q1", "2026-Q2", "2026")
LATER = datetime(2027, 1, 1, tzinfo=UTC)
MOMENTS = (
    datetime(2026, 3, 20, 3, tzinfo=UTC),
    datetime(2026, 4, 10, 7, tzinfo=UTC),
    datetime(2026, 5, 2, 1, tzinfo=UTC),
    LATER,
)
UNITS = ("qs", "qs-dc", "/qs/qs-xh/", "qs-dc-hp")


@pytest.fixture
def county(db_url: str, clock: ManualClock) -> Iterator[County]:
    CACHE.clear()
    world = build(db_url, clock)
    yield world
    world.db.dispose()


def test_facts_follow_each_command_and_the_report_equals_the_fold(county: County) -> None:
    commands: list[str] = []

    def check(case_no: str) -> None:
        commands.append(case_no)
        assert stored(county.db, case_no) == folded(county.db, case_no), case_no

    drive(county, after_each=check)
    assert len(commands) > 80
    # the scheduler's firings (ladder, tier time-outs) advanced the facts too
    assert stored(county.db) == folded(county.db)
    assert county.db.dialect in ("sqlite", "postgresql")

    seen = KpiSet()
    late = 0
    for label in PERIODS:
        period = Period.parse(label)
        for now in MOMENTS:
            if now < period.start:
                continue
            for org in UNITS:
                with county.db.session() as s:
                    report = compute(s, org, period, now)
                    reference = compute_from_record(s, org, period, now)
                    late += len(sums(s, report.org_path, period, report.as_of).late)
                assert report == reference, (label, now, org)
                seen.merge(report.total)
    # not vacuous: every count was non-zero somewhere, and past periods folded later cases
    counts = [f.name for f in fields(seen) if f.name != "resolved_by_tier"]
    zero = [name for name in counts if not getattr(seen, name)]
    assert zero == []
    assert all(seen.resolved_by_tier[t] for t in ("grid", "village", "township"))
    assert late > 0


def test_a_command_adds_one_statement_on_the_facts_table(county: County) -> None:
    """The hook's cost per command: one upsert when the fold state is cached; a read too on a
    miss (another process wrote last)."""
    driver, clock = county.driver, county.clock
    driver.start("K-STMT", sc.report("K-STMT"), REPORTER)
    seen: list[str] = []

    def spy(_c: object, _cur: object, statement: str, *_a: object) -> None:
        if "case_facts" in statement:
            seen.append(statement.split(None, 1)[0].upper())

    event.listen(county.db.engine, "before_cursor_execute", spy)
    try:
        task = driver.open_task("K-STMT", "screen_case")
        actor = driver.actor_for(task)
        county.engine.claim(task.id, actor)
        assert seen == ["INSERT"]  # the upsert
        seen.clear()
        clock.advance(timedelta(hours=1))
        county.engine.complete(task.id, sc.screen()[1], actor)
        assert seen == ["INSERT"]
        seen.clear()
        CACHE.clear()  # as if another process had written the case last
        task = driver.open_task("K-STMT", "dispatch_case")
        county.engine.claim(task.id, driver.actor_for(task))
        assert seen == ["SELECT", "INSERT"]
    finally:
        event.remove(county.db.engine, "before_cursor_execute", spy)
    assert stored(county.db, "K-STMT") == folded(county.db, "K-STMT")
