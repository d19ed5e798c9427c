"""Auditor search (subtree, actor, type, time, case, pages) and streamed exports."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest

from engine.audit.query import AuditQuery, export_csv, export_jsonl, search
from engine.storage.database import Database
from tests.audit.chains import bulk_insert, chain_rows

T0 = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def record(db: Database) -> Database:
    # Two villages of one town, and another town; three actors.
    bulk_insert(db, chain_rows("A-1", 5, T0, org_path="/c/t1/v1/", actor="alice"))
    bulk_insert(db, chain_rows("A-2", 5, T0 + timedelta(days=1), org_path="/c/t1/v2/", actor="bob"))
    bulk_insert(
        db, chain_rows("B-1", 5, T0 + timedelta(days=2), org_path="/c/t2/v1/", actor="=cmd")
    )
    return db


def ids(db: Database, query: AuditQuery) -> list[tuple[str, int]]:
    with db.session() as s:
        page = search(s, query, limit=1000)
    return [(r.case_no, r.seq) for r in page.records]


def test_filters(record: Database) -> None:
    assert len(ids(record, AuditQuery())) == 15
    assert {c for c, _ in ids(record, AuditQuery(org_path="/c/t1/"))} == {"A-1", "A-2"}
    assert {c for c, _ in ids(record, AuditQuery(org_path="/c/t1/v2/"))} == {"A-2"}
    assert {c for c, _ in ids(record, AuditQuery(actor="bob"))} == {"A-2"}
    assert ids(record, AuditQuery(case_no="B-1", event_types=("task_created",))) == [("B-1", 5)]
    day2 = AuditQuery(since=T0 + timedelta(days=1), until=T0 + timedelta(days=2))
    assert {c for c, _ in ids(record, day2)} == {"A-2"}


def test_a_subtree_prefix_is_not_a_pattern(record: Database) -> None:
    assert ids(record, AuditQuery(org_path="/c/t_/")) == []
    assert ids(record, AuditQuery(org_path="/c/%")) == []


def test_pages_follow_each_other(record: Database) -> None:
    seen: list[tuple[str, int]] = []
    after = None
    with record.session() as s:
        while True:
            page = search(s, AuditQuery(org_path="/c/"), limit=4, after=after)
            seen += [(r.case_no, r.seq) for r in page.records]
            if page.next_cursor is None:
                break
            after = page.next_cursor
    assert seen == ids(record, AuditQuery())
    assert len(seen) == 15


def test_csv_and_jsonl_exports(record: Database) -> None:
    text, lines = io.StringIO(), io.StringIO()
    with record.session() as s:
        assert export_csv(s, AuditQuery(org_path="/c/t2/"), text) == 5
        assert export_jsonl(s, AuditQuery(org_path="/c/t2/"), lines) == 5
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert [r["seq"] for r in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0]["actor_user"] == "'=cmd"  # no formula for spreadsheets
    assert json.loads(rows[2]["data_after"]) == {"result": "第3步"}
    items = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert items[0]["actor_user"] == "=cmd" and items[0]["at"] == "2026-10-03T00:00:00+00:00"
    assert items[4]["prev_hash"] == items[3]["hash"]


class Sink(io.TextIOBase):
    """Counts what is written and keeps nothing."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, s: str) -> int:
        self.size += len(s)
        return len(s)


def _peak_export(db: Database) -> tuple[int, int]:
    # CSV and JSON Lines share the streamed read (iter_records); CSV is measured here.
    sink = Sink()
    with db.session() as s:
        tracemalloc.start()
        try:
            count = export_csv(s, AuditQuery(org_path="/county/"), sink)  # type: ignore[arg-type]
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    return count, peak


@pytest.mark.slow
def test_export_memory_does_not_grow_with_rows(db: Database) -> None:
    def add_cases(first: int, cases: int) -> None:
        rows = []
        for n in range(first, first + cases):
            rows += chain_rows(
                f"E-{n:05d}", 100, T0 + timedelta(minutes=n), org_path="/county/t/v/"
            )
        bulk_insert(db, rows)

    add_cases(0, 100)  # 10,000 events
    small_count, small_peak = _peak_export(db)
    add_cases(100, 900)  # 100,000 events
    big_count, big_peak = _peak_export(db)
    assert (small_count, big_count) == (10_000, 100_000)
    # One batch in memory: ten times the rows, about the same peak (and a few MB at most).
    assert big_peak < small_peak * 1.5 + 256 * 1024, (small_peak, big_peak)
    assert big_peak < 16 * 1024 * 1024, big_peak
