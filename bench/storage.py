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
(``bytes_per_case_after_feed_prune``): what a closed case costs for good. With them, where the
bytes are (``breakdown``): per table and per index (PostgreSQL: ``pg_relation_size`` of the
heap, TOAST and each index; SQLite: the ``dbstat`` pages of each b-tree), the average stored
size of each column of the big tables (``pg_column_size`` / ``length``), and the audit rows per
case by event type.

Target: ≤ 20 KB per closed case including its audit record.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, text

from bench.common import START, Result, database, dispute_engine
from demo import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock
from engine.storage.database import Database
from engine.storage.models import Base
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


OLDER_SNAPSHOTS = text(
    "SELECT count(*) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
    "AND backend_xmin IS NOT NULL AND age(backend_xmin) > age(CAST(:xid AS text)::xid)"
)


def wait_for_older_snapshots(conn: Connection, limit_s: float = 300.0) -> int:
    """Wait (up to ``limit_s``) until no other session's snapshot predates this point.

    ``VACUUM FULL`` keeps every row version a running transaction might still see: on a server
    shared with other work, one long transaction (another benchmark's seed, say) keeps this
    run's dead rows and inflates the figures. Returns how many such sessions were left (0 when
    the figures are clean)."""
    xid = conn.exec_driver_sql("SELECT mod(txid_current(), 4294967296)").scalar_one()
    deadline = time.monotonic() + limit_s
    while True:
        left = int(conn.execute(OLDER_SNAPSHOTS, {"xid": str(xid)}).scalar_one())
        if left == 0 or time.monotonic() > deadline:
            return left
        time.sleep(0.5)  # a server-side condition outside this run: polled, not timed


def vacuum_full(db: Database) -> int:
    """``VACUUM FULL`` this run's schema only: a bare ``VACUUM FULL`` rewrites every table of
    the database and waits for (and blocks) whatever else runs on it. Returns the number of
    older snapshots still open (see :func:`wait_for_older_snapshots`)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        left = wait_for_older_snapshots(conn)
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        names = [
            name
            for (name,) in conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :s"), {"s": schema}
            )
        ]
        for name in names:
            conn.exec_driver_sql(f'VACUUM FULL "{schema}"."{name}"')
    return left


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


BIG_TABLES = ("audit_events", "instances", "human_tasks", "cases")


def pg_relations(db: Database) -> dict[str, int]:
    """Bytes of every heap, TOAST table and index of the schema (``table``, ``table.toast``,
    ``table/index``)."""
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT c.relname, pg_relation_size(c.oid), "
                "coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
            )
        ).all()
        indexes = conn.execute(
            text(
                "SELECT t.relname, i.relname, pg_relation_size(i.oid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = current_schema()"
            )
        ).all()
    out: dict[str, int] = {}
    for name, heap, toast in rows:
        out[name] = int(heap)
        if toast:
            out[f"{name}.toast"] = int(toast)
    out.update({f"{table}/{index}": int(size) for table, index, size in indexes})
    return out


def sqlite_relations(db: Database) -> dict[str, int]:
    """Bytes of the pages of every table and index b-tree (the ``dbstat`` virtual table)."""
    path = db.url.split("///", 1)[1]
    db.engine.dispose()
    conn = sqlite3.connect(path)
    try:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index'"))
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        conn.close()
    return {(f"{owner[n]}/{n}" if n in owner else n): int(size) for n, size in rows}


def column_sizes(db: Database, kind: str) -> dict[str, dict[str, float]]:
    """Average stored bytes of each column of the big tables (NULLs count as 0)."""
    size = "pg_column_size({})" if kind == "postgres" else "length(CAST({} AS BLOB))"
    out: dict[str, dict[str, float]] = {}
    with db.engine.connect() as conn:
        for table in BIG_TABLES:
            names = [c.name for c in Base.metadata.tables[table].columns]
            expr = ", ".join(f"avg(coalesce({size.format(n)}, 0))" for n in names)
            values = conn.execute(text(f"SELECT {expr} FROM {table}")).one()
            out[table] = {n: round(float(v or 0), 1) for n, v in zip(names, values, strict=True)}
    return out


def breakdown(db: Database, kind: str, cases: int, before: dict[str, int]) -> dict[str, Any]:
    """Where a closed case's bytes are: per relation (growth ÷ cases), per column, per event."""
    sizes = pg_relations(db) if kind == "postgres" else sqlite_relations(db)
    per_relation = {
        name: round((size - before.get(name, 0)) / cases)
        for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])
        if size - before.get(name, 0) > 0
    }
    with db.engine.connect() as conn:
        types = conn.execute(
            text("SELECT event_type, count(*) FROM audit_events GROUP BY 1 ORDER BY 2 DESC, 1")
        ).all()
    return {
        "bytes_per_case_by_relation": per_relation,
        "column_bytes": column_sizes(db, kind),
        "audit_rows_per_case_by_type": {t: round(n / cases, 2) for t, n in types},
    }


def run(kind: str, cases: int) -> dict[str, Any]:
    with database(kind) as url:
        clock = ManualClock(START)
        engine = dispute_engine(url, clock)
        db = engine.db
        driver = sc.Driver(engine)
        before = pg_sizes(db) if kind == "postgres" else {"file": sqlite_size(db)}
        relations_before = pg_relations(db) if kind == "postgres" else sqlite_relations(db)
        for n in range(cases):
            key = f"ST-{n:06d}"
            engine.start("dispute", key, sc.report(key), REPORTER)
            driver.run_all(key, sc.main_path(clock.now()))
            clock.advance(timedelta(minutes=1))
        out: dict[str, Any] = {"cases": cases}
        if kind == "postgres":
            raw = pg_sizes(db)
            out["older_snapshots_at_vacuum"] = vacuum_full(db)
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
            out["older_snapshots_at_vacuum_after_prune"] = vacuum_full(db)
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
        out["breakdown"] = breakdown(db, kind, cases, relations_before)
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
        print(kind, {k: v for k, v in got.items() if k != "breakdown"}, flush=True)
        print(json.dumps(got["breakdown"], indent=1), flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
