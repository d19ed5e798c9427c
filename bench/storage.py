"""Storage per closed case: bytes on disk for cases driven report → close (``main_path``).

    python -m bench.storage [--cases 200] [--db sqlite,postgres] [--quick]

Everything a closed case leaves counts: its case row, instance (final state), tasks, audit
record, due items (cancelled rungs), firings, change feed and notifications, with indexes.

* SQLite: the database file size after the cases minus before (WAL checkpointed), as written and
  after ``VACUUM``.
* PostgreSQL: the sum of ``pg_total_relation_size`` over the schema's tables (heap + TOAST +
  indexes) after minus before, as written (with the dead row versions every command's UPDATE
  leaves until autovacuum) and after ``VACUUM FULL``; and per table after ``VACUUM FULL``.

Then the change feed is pruned as the hourly ``change_feed_prune`` job does once its retention
window (one day) has passed, and the figures after the prune are taken again
(``bytes_per_case_after_feed_prune``): what a closed case costs for good.

Target: ≤ 20 KB per closed case including its audit record.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from bench.common import START, Result, database, dispute_engine
from engine import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock
from engine.storage.database import Database
from engine.supervision.housekeeping import CHANGE_FEED_RETENTION, prune_change_feed

REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


def pg_sizes(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).all()
    return {name: int(size) for name, size in rows}


def vacuum_full(db: Database) -> None:
    """``VACUUM FULL`` this run's schema only: a bare ``VACUUM FULL`` rewrites every table of
    the database and waits for (and blocks) whatever else runs on it."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        names = [
            name
            for (name,) in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            )
        ]
        for name in names:
            conn.exec_driver_sql(f'VACUUM FULL "{schema}"."{name}"')


def sqlite_size(db: Database, vacuum: bool = False) -> int:
    path = db.url.split("///", 1)[1]
    db.engine.dispose()  # the engine's connections begin IMMEDIATE: use a plain one here
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        if vacuum:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return os.path.getsize(path)


def run(kind: str, cases: int) -> dict[str, Any]:
    with database(kind) as url:
        clock = ManualClock(START)
        engine = dispute_engine(url, clock)
        db = engine.db
        driver = sc.Driver(engine)
        before = pg_sizes(db) if kind == "postgres" else {"file": sqlite_size(db)}
        for n in range(cases):
            key = f"ST-{n:06d}"
            engine.start("dispute", key, sc.report(key), REPORTER)
            driver.run_all(key, sc.main_path(clock.now()))
            clock.advance(timedelta(minutes=1))
        out: dict[str, Any] = {"cases": cases}
        if kind == "postgres":
            raw = pg_sizes(db)
            vacuum_full(db)
            packed = pg_sizes(db)
            out["bytes_per_case_as_written"] = round(
                (sum(raw.values()) - sum(before.values())) / cases
            )
            out["bytes_per_case_after_vacuum"] = round(
                (sum(packed.values()) - sum(before.values())) / cases
            )
            out["by_table_after_vacuum"] = {
                name: round((packed[name] - before.get(name, 0)) / cases)
                for name in sorted(packed)
                if packed[name] - before.get(name, 0) > 0
            }
        else:
            raw_size = sqlite_size(db)
            packed_size = sqlite_size(db, vacuum=True)
            out["bytes_per_case_as_written"] = round((raw_size - before["file"]) / cases)
            out["bytes_per_case_after_vacuum"] = round((packed_size - before["file"]) / cases)
        with db.session() as s:
            later = clock.now() + CHANGE_FEED_RETENTION + timedelta(hours=1)
            out["change_events_pruned"] = prune_change_feed(s, later, CHANGE_FEED_RETENTION)
        if kind == "postgres":
            vacuum_full(db)
            pruned = pg_sizes(db)
            out["bytes_per_case_after_feed_prune"] = round(
                (sum(pruned.values()) - sum(before.values())) / cases
            )
            out["by_table_after_feed_prune"] = {
                name: round((pruned[name] - before.get(name, 0)) / cases)
                for name in sorted(pruned)
                if pruned[name] - before.get(name, 0) > 0
            }
        else:
            pruned_size = sqlite_size(db, vacuum=True)
            out["bytes_per_case_after_feed_prune"] = round((pruned_size - before["file"]) / cases)
        with db.engine.connect() as conn:
            out["audit_rows_per_case"] = round(
                conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one() / cases, 1
            )
            out["due_items_per_case"] = round(
                conn.execute(text("SELECT count(*) FROM due_items")).scalar_one() / cases, 1
            )
        db.dispose()
        return out


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--db", default="sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="10 cases")
    args = ap.parse_args(argv)
    if args.quick:
        args.cases = 10
    result = Result("storage")
    for kind in [k for k in args.db.split(",") if k]:
        got = run(kind, args.cases)
        result.figures[kind] = got
        print(kind, got, flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
