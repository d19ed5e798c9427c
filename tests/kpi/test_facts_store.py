"""The facts table's own paths: the fold in parts, the catch-up for events written without the
engine, the rebuild (and `bihuan kpi`), retention, cases that moved, a fact the fold cannot read.

The seventeen-case fixture (tests/kpi/fixture.py) writes through ``AuditLog``, so its facts are
kept as it writes; the tests take them away or write around the log to make them stale.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, event, func, select, update
from typer.testing import CliRunner

from cli import app
from engine.audit.retention import purge_expired
from engine.clock import ManualClock
from engine.kpi import Period, catch_up, compute, compute_from_record, rebuild
from engine.kpi.catchup import catch_up_job
from engine.kpi.facts import Fold, RecordEvent
from engine.kpi.record import events_of
from engine.kpi.store import CACHE, TABLE, from_row, to_row
from engine.storage.database import Database
from engine.storage.models import AuditEvent, CaseFactsRow, KpiWatermark
from tests.audit.test_retention import KEY, TTL, closed_case
from tests.kpi.county import folded, stored
from tests.kpi.fixture import Writer, day, iso, write_fixture

NOW = datetime(2026, 11, 15, tzinfo=UTC)
OCT = Period.parse("2026-10")


@pytest.fixture
def fixture_db(db: Database) -> Database:
    CACHE.clear()
    with db.session() as s:
        write_fixture(s)
    return db


def reports_agree(db: Database, org: str = "/c/", period: Period = OCT, now: datetime = NOW) -> Any:
    with db.session() as s:
        report = compute(s, org, period, now)
        assert report == compute_from_record(s, org, period, now)
    return report


def record(db: Database) -> dict[str, list[RecordEvent]]:
    with db.session() as s:
        rows = s.execute(events_of(AuditEvent.case_no.is_not(None))).all()
    out: dict[str, list[RecordEvent]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(RecordEvent(*row[1:]))
    return out


def raw_event(s: Any, case_no: str, seq: int, at: datetime, **values: Any) -> None:
    """An event inserted as a bulk load would: no AuditLog, no facts."""
    digest = hashlib.sha256(f"{case_no}:{seq}".encode()).hexdigest()
    s.add(
        AuditEvent(
            case_no=case_no, seq=seq, event_type="case_updated", at=at, actor_user="loader",
            org_path="/c/t1/v2/", details={}, hash=digest, prev_hash=None, **values,
        )
    )  # fmt: skip


# ------------------------------------------------------------------------- the fold


def test_the_fold_in_parts_equals_one_pass(fixture_db: Database) -> None:
    """Cut each case's record anywhere, store the state as a row and read it back, fold the
    rest: the same facts, last instant and look-ahead as one pass."""
    for case_no, events in record(fixture_db).items():
        whole = to_row(Fold.start(case_no).feed(events))
        for cut in range(1, len(events)):
            first = from_row(to_row(Fold.start(case_no).feed(events[:cut])))
            assert to_row(first.feed(events[cut:])) == whole, (case_no, cut)


def test_a_look_ahead_open_at_a_cut_is_carried_in_the_row() -> None:
    """A completion whose outcome is the next task its command creates, with the task in the
    next flush at the same instant (two logs at one clock reading)."""
    t = datetime(2026, 10, 15, 2, tzinfo=UTC)

    def ev(seq: int, kind: str, at: datetime, element: str | None = None) -> RecordEvent:
        return RecordEvent(seq, kind, at, "/c/t1/v1/", element, None, {}, {})

    events = [
        ev(1, "instance_started", t),
        ev(2, "task_completed", t, "review_result"),
        ev(3, "task_created", t, "handle_case"),  # → rework
        ev(4, "task_completed", t + timedelta(hours=1), "sign_case"),
        ev(5, "task_created", t + timedelta(hours=2), "return_review"),  # another instant: none
    ]
    part = from_row(to_row(Fold.start("X").feed(events[:2])))
    assert [element for element, _ in part.pending] == ["review_result"]
    assert part.facts.reworks == []  # not yet: the outcome is unknown at the cut
    facts = part.feed(events[2:]).facts
    assert (facts.reworks, facts.returns) == ([t], [])


# ------------------------------------------------------------------------- catch-up


def test_catch_up_folds_a_record_written_without_facts(fixture_db: Database) -> None:
    expected = stored(fixture_db)
    assert expected == folded(fixture_db) and len(expected) == 17
    with fixture_db.session() as s:  # as after an upgrade: history, no facts
        s.execute(delete(CaseFactsRow))
        s.execute(delete(KpiWatermark))
    report = reports_agree(fixture_db)
    assert (report.total.registered, report.total.closed) == (12, 10)
    assert stored(fixture_db) == expected
    # nothing new since: the catch-up is one query
    counted: list[str] = []

    def listener(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if not statement.startswith("BEGIN"):
            counted.append(statement)

    event.listen(fixture_db.engine, "before_cursor_execute", listener)
    try:
        with fixture_db.session() as s:
            assert catch_up(s) == 0
    finally:
        event.remove(fixture_db.engine, "before_cursor_execute", listener)
    assert len(counted) == 1, counted


def test_catch_up_folds_only_what_a_row_has_not_seen(fixture_db: Database) -> None:
    reports_agree(fixture_db)  # the watermark is at the head now
    with fixture_db.session() as s:
        a04 = s.scalar(select(CaseFactsRow.last_seq).where(CaseFactsRow.case_no == "A04"))
        assert a04 is not None
        raw_event(s, "A04", a04 + 1, day(10, 29), data_before={"status": "DISPATCHED"},
                  data_after={"status": "CLOSED", "closed_at": iso(day(10, 29)),
                              "resolved_tier": "village"})  # fmt: skip
        raw_event(s, "B01", 1, day(10, 20), data_after={"status": "REGISTERED", "tier": "grid"})
    report = reports_agree(fixture_db)
    assert report.total.closed == 11  # A04 closed, by the loader
    assert report.total.registered == 13  # B01
    assert stored(fixture_db) == folded(fixture_db)


def test_the_scheduler_job_catches_up(fixture_db: Database) -> None:
    reports_agree(fixture_db)
    with fixture_db.session() as s:
        raw_event(s, "B02", 1, day(10, 21), data_after={"status": "REGISTERED", "tier": "grid"})
    with fixture_db.session() as s:
        catch_up_job(s, NOW, NOW)
    assert stored(fixture_db)["B02"] == folded(fixture_db)["B02"]
    with fixture_db.session() as s:
        assert s.scalar(select(KpiWatermark.audit_id)) == s.scalar(select(func.max(AuditEvent.id)))


# ------------------------------------------------------------------------- rebuild


def test_rebuild_rewrites_every_row(fixture_db: Database) -> None:
    expected = stored(fixture_db)
    with fixture_db.session() as s:
        s.execute(
            update(CaseFactsRow)
            .where(CaseFactsRow.case_no.in_(["A01", "A05"]))
            .values(registered_at=None, closed_at=None, rework_count=7, lists=None)
        )
        s.execute(delete(CaseFactsRow).where(CaseFactsRow.case_no == "A09"))
        s.execute(
            TABLE.insert().values(to_row(Fold.start("GONE").feed([])) | {"last_at": day(10, 1)})
        )
    assert stored(fixture_db) != expected
    assert rebuild(fixture_db, batch=4) == 17
    assert stored(fixture_db) == expected  # GONE (no events) is deleted
    reports_agree(fixture_db)


# ------------------------------------------------------------------------- retention


def test_retention_keeps_the_facts(db: Database, clock: ManualClock) -> None:
    CACHE.clear()
    closed_case(db, clock, "R-1")
    period = Period.parse("2026-03")
    before = stored(db)["R-1"]
    clock.advance(TTL + timedelta(days=1))
    with db.session() as s:
        (result,) = purge_expired(s, KEY, clock.now(), TTL)
    after = stored(db)["R-1"]
    assert after == folded(db)["R-1"]  # the row is the fold of the rewritten record
    assert after["last_seq"] == result.summary_seq + 1
    facts = {k: v for k, v in after.items() if k not in ("last_seq", "last_at", "moved_at")}
    assert facts == {
        k: v for k, v in before.items() if k not in ("last_seq", "last_at", "moved_at")
    }
    for now in (clock.now(), datetime(2026, 3, 20, tzinfo=UTC)):
        reports_agree(db, "/", period, now)


# ------------------------------------------------------------------------- moved cases


def test_a_case_that_moved_after_the_period_counts_where_it_was(fixture_db: Database) -> None:
    """A01 (v1, closed Oct 8) is moved to v3 on Nov 3: October's report still counts it in t1;
    its stored facts (in t2 now) are newer than October, so it is folded from the record."""
    with fixture_db.session() as s:
        Writer(s, "A01", "v3").command(day(11, 3), ("comment_added", {"text": "移交"}))
        row = s.execute(select(TABLE).where(TABLE.c.case_no == "A01")).one()
        assert (row.org_path, row.moved_at) == ("/c/t2/v3/", day(11, 3))
    report = reports_agree(fixture_db)
    units = {u.org_path: u.kpis for u in report.units}
    assert (units["/c/t1/"].closed, units["/c/t2/"].closed) == (6, 4)  # as before the move
    town1 = reports_agree(fixture_db, "/c/t1/")
    assert town1.total.closed == 6
    november = reports_agree(fixture_db, "/c/t2/", Period.parse("2026-11"))
    assert november.total.registered == 0  # A01 is in t2 now, registered in October


# ------------------------------------------------------------------------- a broken fact


def test_a_fact_the_fold_cannot_read_leaves_the_row_behind(fixture_db: Database) -> None:
    """The command is not failed for its KPI facts; the report then fails as the fold does."""
    with fixture_db.session() as s:
        Writer(s, "A04", "v2").update(day(10, 28), {}, {"satisfaction": "很好"})
        head = s.scalar(select(AuditEvent.seq).where(AuditEvent.case_no == "A04").order_by(
            AuditEvent.seq.desc()).limit(1))  # fmt: skip
        row = s.scalar(select(CaseFactsRow.last_seq).where(CaseFactsRow.case_no == "A04"))
    assert row is not None and head is not None and row == head - 1
    with fixture_db.session() as s:
        with pytest.raises(ValueError):
            compute(s, "/c/", OCT, NOW)
        with pytest.raises(ValueError):
            compute_from_record(s, "/c/", OCT, NOW)


# ------------------------------------------------------------------------- the CLI


def test_the_kpi_commands(fixture_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = stored(fixture_db)
    with fixture_db.session() as s:
        s.execute(delete(CaseFactsRow))
        s.execute(delete(KpiWatermark))
    monkeypatch.setenv("BIHUAN_DATABASE_URL", fixture_db.url)
    runner = CliRunner()
    rebuilt = runner.invoke(app, ["kpi", "rebuild", "--batch", "6"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "17 case(s) folded" in rebuilt.output
    assert stored(fixture_db) == expected
    caught = runner.invoke(app, ["kpi", "catch-up"])
    assert caught.exit_code == 0, caught.output
    assert "0 case(s) caught up" in caught.output  # the rebuild moved the watermark
