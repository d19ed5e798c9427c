"""Scale: how the read paths grow with the number of open cases (10k → 100k → 1M).

    python -m bench.scale --db postgres --sizes 10000,100000,1000000
    python -m bench.scale --db sqlite --sizes 10000,100000
    python -m bench.scale --quick            # 2,000 cases on SQLite (and PostgreSQL if reachable)

One real case is driven through the engine to the 签收 step (report → screen → dispatch) and
serves as the template; every other case is a copy made by the database itself (PostgreSQL
``generate_series``, SQLite a recursive CTE; one multi-row ``INSERT … SELECT`` per table and
chunk), so seeding a million cases takes minutes:

* ``cases``, ``instances`` (the template's real serialized state, ~12.6 KB, copied as is),
  ``human_tasks`` (one open task per case), ``audit_events`` (the template's 15 events per case;
  the hash chains are copied, not recomputed — they do not verify, which timing does not need),
  ``case_facts`` (the template's KPI facts row, its event instants shifted as the events' are;
  a sample of 20 copied cases is checked against the fold of their copied events, and the KPI
  catch-up's watermark is set past the copied events), ``due_items`` (the template's 17 per
  case: 8 cancelled, 9 pending ladder/tier rungs).
* A synthetic county under the demo county ``qs``: 20 townships (each with a 综治中心), 10
  villages each, 5 grids per village — 1,000 grids. Case *i* lies in grid ``i mod 1000``; its task
  is for the grid's handling unit (60 %) or the township centre (40 %).
* Due fraction: the pending rungs of one case in 1,000 are due now (0.1 % of cases, 0.9 % of the
  pending rows per case copy); the rest lie 1–17 days ahead.

Cases are added incrementally (10k, then +90k, then +900k) and measured after each step:

* inbox — ``engine.reads.inbox`` first page (50, by due time) for a grid caseworker
  (``bench_handler``) and for a township centre (``bench_centre``), target p95 ≤ 20 ms;
* sweep — ``Scheduler.claim`` (the due-timer claim: batch of 200, leases, re-read), p95 ≤ 50 ms;
* history — ``engine.reads.history`` of a random case, p95 ≤ 20 ms;
* KPI — ``engine.kpi.rollup`` for the county ``qs`` and the month 2026-03, ≤ 2 s (median of
  5 after a warm-up call; ``--kpi-limit``); up to ``--fold-limit`` cases also the same report
  folded from every case's record (``compute_from_record``, the way before the facts table:
  ``kpi_fold_s``, checked equal), and up to ``--rebuild-limit`` the time of ``bihuan kpi
  rebuild`` (``kpi_rebuild_s``).

``inbox_*_total`` is the inbox's ``Page.total``: exact up to ``engine.reads.COUNT_CAP``
(1,000), reported as 1,001 ("more than 1,000") beyond it.

Query plans (PostgreSQL ``EXPLAIN (ANALYZE, BUFFERS)``, SQLite ``EXPLAIN QUERY PLAN``) of every
statement these send are written to ``bench/out/scale_plans_<db>_<n>.txt``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select, text, update
from sqlalchemy.engine import Connection

from bench.common import START, Result, database, out_dir, percentile
from demo import scenarios as sc
from engine.access import load_principal
from engine.audit import Actor
from engine.clock import ManualClock
from engine.kpi import Period, compute, compute_from_record, rebuild
from engine.kpi.catchup import set_watermark
from engine.kpi.facts import Fold, RecordEvent
from engine.kpi.record import events_of
from engine.kpi.store import TABLE as FACTS
from engine.kpi.store import from_row, to_row
from engine.reads import history, inbox
from engine.scheduler import Scheduler
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Base, CaseFactsRow, DueItem, OrgUnit, User, UserRole

TEMPLATE = "TP-TEMPLATE"
#: facts columns that are an event's instant (shifted like the copied events' ``at``)
SHIFTED_FACTS = ("last_at", "reported_at", "registered_at", "dispatched_at")
GRIDS = 1000
TOWNSHIPS = 20
NOW = START + timedelta(days=2)  # 2026-03-04 01:00 UTC: inside the KPI month
CHUNK = 50_000
KPI_RUNS = 5


# ---------------------------------------------------------------- the synthetic county


def seed_org_tree(db: Database) -> None:
    """1,000 grids under 20 townships of the demo county, and the two measured users."""
    with db.session() as s:
        for t in range(TOWNSHIPS):
            town = f"bt{t:02d}"
            tpath = f"/qs/{town}/"
            s.add(
                OrgUnit(
                    id=town,
                    name=f"镇{t}",
                    kind="township",
                    tier="township",
                    parent_id="qs",
                    path=tpath,
                )
            )
            s.add(
                OrgUnit(
                    id=f"{town}-zzzx",
                    name=f"镇{t}综治中心",
                    kind="centre",
                    tier="township",
                    parent_id=town,
                    path=f"{tpath}{town}-zzzx/",
                )
            )
            for v in range(10):
                village = f"{town}-v{v}"
                vpath = f"{tpath}{village}/"
                s.add(
                    OrgUnit(
                        id=village,
                        name=f"村{t}-{v}",
                        kind="village",
                        tier="village",
                        parent_id=town,
                        path=vpath,
                    )
                )
                for k in range(5):
                    grid = f"{village}-g{k}"
                    s.add(
                        OrgUnit(
                            id=grid,
                            name=f"网格{t}-{v}-{k}",
                            kind="grid",
                            tier="grid",
                            parent_id=village,
                            path=f"{vpath}{grid}/",
                        )
                    )
        s.flush()
        for user, org, role in (
            ("bench_handler", "bt00-v0-g0", "handling_unit"),
            ("bench_centre", "bt00-zzzx", "township_center"),
        ):
            s.add(
                User(id=user, display_name=user, password_hash=None, active=True, created_at=START)
            )
            s.flush()
            s.add(UserRole(user_id=user, org_id=org, role=role))
    with db.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE bench_grid (g INTEGER PRIMARY KEY, id VARCHAR(64), "
                "path VARCHAR(600), centre VARCHAR(64))"
            )
        )
        rows = []
        for g in range(GRIDS):
            t, v, k = g // 50, (g // 5) % 10, g % 5
            town, village = f"bt{t:02d}", f"bt{t:02d}-v{v}"
            rows.append(
                {
                    "g": g,
                    "id": f"{village}-g{k}",
                    "centre": f"{town}-zzzx",
                    "path": f"/qs/{town}/{village}/{village}-g{k}/",
                }
            )
        conn.execute(text("INSERT INTO bench_grid VALUES (:g, :id, :path, :centre)"), rows)


def drive_template(url: str) -> None:
    """One real case to the 签收 step: the rows every other case copies."""
    from bench.common import dispute_engine

    clock = ManualClock(START)
    engine = dispute_engine(url, clock)
    driver = sc.Driver(engine)
    engine.start(
        "dispute", TEMPLATE, sc.report(TEMPLATE), Actor("grid01", "grid_worker", "qs-dc-hp-01")
    )
    for element_id, form in sc.main_path(clock.now())[:2]:
        driver.do(TEMPLATE, element_id, form)
    engine.db.dispose()


# ---------------------------------------------------------------- copying in bulk


class Sql:
    """The few expressions that differ between PostgreSQL and SQLite."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def pad(self, expr: str, width: int) -> str:
        return f"lpad(({expr})::text, {width}, '0')" if self.pg else f"printf('%0{width}d', {expr})"

    def shift(self, column: str, seconds: str) -> str:
        if self.pg:
            return f"({column} + ({seconds}) * interval '1 second')"
        return f"datetime({column}, printf('%+d seconds', {seconds}))"

    def at(self, moment: str, seconds: str) -> str:
        if self.pg:
            return f"(timestamptz '{moment}+00' + ({seconds}) * interval '1 second')"
        return f"datetime('{moment}', printf('%+d seconds', {seconds}))"

    def series(self, lo: int, hi: int) -> tuple[str, str]:
        """(a WITH prefix, a FROM item) yielding ``i`` in [lo, hi)."""
        if self.pg:
            return "", f"generate_series({lo}::bigint, {hi - 1}::bigint) AS g(i)"
        return (
            f"WITH RECURSIVE g(i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM g "
            f"WHERE i < {hi - 1}) ",
            "g",
        )


def copy_template(
    conn: Connection, sql: Sql, table: str, where: str, overrides: dict[str, str], lo: int, hi: int
) -> None:
    """INSERT one copy of the template rows of ``table`` per ``i`` in [lo, hi)."""
    columns = [c.name for c in Base.metadata.tables[table].columns]
    skip = {"id"} if table in ("audit_events", "due_items") else set()
    names = [c for c in columns if c not in skip]
    exprs = [overrides.get(c, f't."{c}"') for c in names]
    prefix, series = sql.series(lo, hi)
    quoted = ", ".join(f'"{n}"' for n in names)
    statement = (
        f"INSERT INTO {table} ({quoted}) {prefix}SELECT {', '.join(exprs)} FROM {series} "
        f"JOIN bench_grid b ON b.g = i % {GRIDS} CROSS JOIN {table} t WHERE {where}"
    )
    conn.execute(text(statement))


def seed_cases(db: Database, lo: int, hi: int) -> None:
    sql = Sql(db.dialect)
    case_no = f"'SC-' || {sql.pad('i', 7)}"
    instance = f"'I' || {sql.pad('i', 35)}"
    task = f"'T' || {sql.pad('i', 35)}"
    quote = f"'{TEMPLATE}'"
    due_now = "i % 1000 = 0"
    now = NOW.strftime("%Y-%m-%d %H:%M:%S")
    for a in range(lo, hi, CHUNK):
        b = min(hi, a + CHUNK)
        with db.engine.begin() as conn:
            copy_template(
                conn,
                sql,
                "instances",
                f"t.id = (SELECT instance_id FROM cases WHERE case_no = {quote})",
                {
                    "id": instance,
                    "business_key": case_no,
                    "created_at": sql.shift("t.created_at", "i % 86400"),
                    "updated_at": sql.shift("t.updated_at", "i % 86400"),
                },
                a,
                b,
            )
            copy_template(
                conn,
                sql,
                "cases",
                f"t.case_no = {quote}",
                {
                    "case_no": case_no,
                    "instance_id": instance,
                    "org_id": "b.id",
                    "org_path": "b.path",
                    "title": f"'纠纷 ' || {sql.pad('i', 7)}",
                    "reported_at": sql.shift("t.reported_at", "i % 86400"),
                    "updated_at": sql.shift("t.updated_at", "i % 86400"),
                    "due_at": sql.at(now, "86400 + (i * 7919) % 1209600"),
                },
                a,
                b,
            )
            copy_template(
                conn,
                sql,
                "human_tasks",
                f"t.case_no = {quote} AND t.state = 'open'",
                {
                    "id": task,
                    "instance_id": instance,
                    "case_no": case_no,
                    "candidate_org": "CASE WHEN i % 5 < 3 THEN b.id ELSE b.centre END",
                    "candidate_role": "CASE WHEN i % 5 < 3 THEN 'handling_unit' "
                    "ELSE 'township_center' END",
                    "created_at": sql.shift("t.created_at", "i % 86400"),
                    "due_at": sql.at(now, "(i * 7919) % 1209600 - 172800"),
                    "priority": "50 + i % 3",
                },
                a,
                b,
            )
            copy_template(
                conn,
                sql,
                "audit_events",
                f"t.case_no = {quote}",
                {
                    "case_no": case_no,
                    "instance_id": instance,
                    "org_path": "b.path",
                    "at": sql.shift("t.at", "i % 86400"),
                },
                a,
                b,
            )
            copy_template(  # the facts the fold of those events gives (checked: check_facts)
                conn,
                sql,
                "case_facts",
                f"t.case_no = {quote}",
                {
                    "case_no": case_no,
                    "org_path": "b.path",
                    **{c: sql.shift(f"t.{c}", "i % 86400") for c in SHIFTED_FACTS},
                },
                a,
                b,
            )
            copy_template(
                conn,
                sql,
                "due_items",
                f"t.case_no = {quote}",
                {
                    "dedupe_key": f"replace(t.dedupe_key, {quote}, {case_no})",
                    "instance_id": instance,
                    "case_no": case_no,
                    "due_at": f"CASE WHEN t.state <> 'pending' THEN t.due_at WHEN {due_now} THEN "
                    f"{sql.at(now, '-(i % 3600) - 1')} ELSE "
                    f"{sql.at(now, '86400 + (i * 104729) % 1468800')} END",
                },
                a,
                b,
            )
    with db.session() as s:  # the copied facts are current: the catch-up need not look
        set_watermark(s, s.scalar(select(func.max(AuditEvent.id))) or 0)
    with db.engine.begin() as conn:  # this schema's tables only (a bare ANALYZE visits every
        # schema of the database and can deadlock with other schemas' DDL)
        names = [*Base.metadata.tables, "bench_grid"] if db.dialect == "postgresql" else []
        conn.execute(text(f"ANALYZE {', '.join(names)}"))


def check_template_facts(db: Database) -> None:
    """The template's facts row may be copied with its event instants shifted: every instant
    in it comes from an event's ``at`` (none from form data but ``due_at``, which is copied as
    the events' JSON is), and it has no lists."""
    with db.session() as s:
        row = s.execute(select(CaseFactsRow).where(CaseFactsRow.case_no == TEMPLATE)).scalar_one()
        assert row.lists is None and row.closed_at is None and row.moved_at is None, row
        assert row.to_county_at is None and row.marks_from is None


def check_facts(db: Database, n: int, sample: int = 20) -> int:
    """The copied facts of a sample of cases equal the fold of their copied events."""
    cases = [f"SC-{i:07d}" for i in random.Random(n).sample(range(n), min(sample, n))]
    with db.session() as s:
        rows = {
            r.case_no: to_row(from_row(r))
            for r in s.execute(select(FACTS).where(FACTS.c.case_no.in_(cases)))
        }
        events = s.execute(events_of(AuditEvent.case_no.in_(cases))).all()
    folds: dict[str, Fold] = {}
    for e in events:
        folds.setdefault(e[0], Fold.start(e[0])).step(RecordEvent(*e[1:]))
    assert rows == {c: to_row(f) for c, f in folds.items()}, "copied facts differ from the fold"
    return len(rows)


# ---------------------------------------------------------------- measuring


def timed(fn: Callable[[], Any], runs: int, reset: Callable[[], None] | None = None) -> list[float]:
    out = []
    fn()  # warm (connection, statement caches)
    if reset:
        reset()
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(1000 * (time.perf_counter() - t0))
        if reset:
            reset()
    return out


class Capture:
    """The statements (and parameters) one call sends, to EXPLAIN them afterwards. With
    ``stop=True`` each SELECT is captured and an empty one is sent in its place."""

    def __init__(self, db: Database, *, stop: bool = False) -> None:
        self.db = db
        self.stop = stop
        self.seen: list[tuple[str, Any]] = []

    def _hook(
        self, _c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any
    ) -> tuple[str, Any]:
        self.seen.append((statement, parameters))
        if self.stop and statement.lstrip().upper().startswith("SELECT"):
            return "SELECT NULL WHERE 1 = 0", type(parameters)()
        return statement, parameters

    def run(self, fn: Callable[[], Any]) -> list[tuple[str, Any]]:
        event.listen(self.db.engine, "before_cursor_execute", self._hook, retval=True)
        try:
            fn()
        finally:
            event.remove(self.db.engine, "before_cursor_execute", self._hook)
        return [(st, p) for st, p in self.seen if st.lstrip().upper().startswith("SELECT")]


def explain(db: Database, statements: list[tuple[str, Any]], analyze: bool = True) -> str:
    out = []
    with db.engine.connect() as conn:
        for statement, params in statements:
            if db.dialect == "postgresql":
                opts = "(ANALYZE, BUFFERS)" if analyze else ""
                rows = conn.exec_driver_sql(f"EXPLAIN {opts} {statement}", params).all()
                plan = "\n".join(r[0] for r in rows)
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params).all()
                plan = "\n".join(str(r[-1]) for r in rows)
            out.append(f"-- {' '.join(statement.split())[:600]}\n{plan}\n")
        conn.rollback()
    return "\n".join(out)


def measure(
    db: Database,
    n: int,
    runs: int,
    kpi_runs: int,
    plans: bool,
    *,
    fold_runs: int = 0,
    rebuild_facts: bool = False,
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    rng = random.Random(n)
    with db.session() as s:
        handler = load_principal(s, "bench_handler")
        centre = load_principal(s, "bench_centre")
    assert handler is not None and centre is not None

    def inbox_of(principal: Any) -> Callable[[], Any]:
        def go() -> Any:
            with db.session() as s:
                page = inbox(s, principal, scope="candidate", now=NOW, sort="due", limit=50)
                assert page.items, "empty inbox"
                return page

        return go

    with db.session() as s:
        for who, principal in (("handler", handler), ("centre", centre)):
            figures[f"inbox_{who}_total"] = inbox(
                s, principal, scope="candidate", now=NOW, limit=1
            ).total
    sched = Scheduler(db, owner="bench-sweep", batch_size=200, clock=ManualClock(NOW))

    def reset_leases() -> None:
        with db.session() as s:
            s.execute(
                update(DueItem)
                .where(DueItem.lease_owner == "bench-sweep")
                .values(lease_owner=None, lease_until=None)
            )

    def sweep() -> Any:
        claimed = sched.claim(NOW)
        assert claimed, "nothing due"
        return claimed

    def one_history() -> Any:
        case_no = f"SC-{rng.randrange(n):07d}"
        with db.session() as s:
            page = history(s, case_no)
            assert page.items
            return page

    with db.session() as s:
        figures["due_now"] = s.scalar(
            select(text("count(*)"))
            .select_from(DueItem)
            .where(DueItem.state == "pending", DueItem.due_at <= NOW)
        )
    for name, fn, reset in (
        ("inbox_handler", inbox_of(handler), None),
        ("inbox_centre", inbox_of(centre), None),
        ("sweep_claim", sweep, reset_leases),
        ("history", one_history, None),
    ):
        ms = timed(fn, runs, reset)
        figures[f"{name}_p50_ms"] = round(percentile(ms, 50), 2)
        figures[f"{name}_p95_ms"] = round(percentile(ms, 95), 2)
    period = Period.parse("2026-03")
    got: list[Any] = []

    def report_by(fn: Callable[..., Any]) -> Callable[[], Any]:
        def go() -> Any:
            with db.session() as s:
                got.append(fn(s, "qs", period, NOW))
            return got[-1]

        return go

    if kpi_runs:  # the report: facts summed in SQL (after the catch-up's check)
        ms = timed(report_by(compute), kpi_runs)
        figures["kpi_s"] = round(statistics.median(ms) / 1000, 3)
        figures["kpi_s_runs"] = [round(x / 1000, 3) for x in ms]
        figures["kpi_registered"] = got[-1].total.registered
    if fold_runs:  # before: every case's record folded (compute_from_record), once
        t0 = time.perf_counter()
        reference = report_by(compute_from_record)()
        figures["kpi_fold_s"] = round(time.perf_counter() - t0, 2)
        if kpi_runs:
            figures["kpi_equal_to_fold"] = got[-2] == reference
            assert figures["kpi_equal_to_fold"], "the SQL report differs from the fold"
    if rebuild_facts:  # bihuan kpi rebuild: every case folded again and written
        t0 = time.perf_counter()
        figures["kpi_rebuild_cases"] = rebuild(db)
        figures["kpi_rebuild_s"] = round(time.perf_counter() - t0, 2)
        figures["facts_checked_after_rebuild"] = check_facts(db, n)
    if plans:
        parts = []
        for title, fn in (
            ("inbox (grid caseworker)", inbox_of(handler)),
            ("inbox (township centre)", inbox_of(centre)),
            ("history", one_history),
        ):
            parts.append(f"==== {title}\n" + explain(db, Capture(db).run(fn)))
        claimed = Capture(db).run(sweep)
        reset_leases()
        parts.append("==== sweep claim\n" + explain(db, claimed[:1]))
        if kpi_runs:
            kpi_statements = Capture(db).run(report_by(compute))
            parts.append("==== KPI report (every SELECT it sends)\n" + explain(db, kpi_statements))
        (out_dir() / f"scale_plans_{db.dialect}_{n}.txt").write_text("\n".join(parts))
    return figures


def table_sizes(db: Database) -> dict[str, int]:
    if db.dialect != "postgresql":
        return {}
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                "AND relkind = 'r'"
            )
        ).all()
    return {name: int(size) for name, size in rows if size > 1_000_000}


def run(
    kind: str, sizes: list[int], runs: int, kpi_limit: int, fold_limit: int, rebuild_limit: int
) -> dict[str, Any]:
    figures: dict[str, Any] = {}
    with database(kind) as url:
        drive_template(url)
        db = Database(url)
        seed_org_tree(db)
        check_template_facts(db)
        have = 0
        for n in sizes:
            t0 = time.perf_counter()
            seed_cases(db, have, n)
            seed_s = time.perf_counter() - t0
            have = n
            checked = check_facts(db, n)
            got = measure(
                db,
                n,
                runs,
                KPI_RUNS if n <= kpi_limit else 0,
                plans=True,
                fold_runs=1 if n <= fold_limit else 0,
                rebuild_facts=n <= rebuild_limit,
            )
            got["facts_checked"] = checked
            got["seed_s"] = round(seed_s, 1)
            got["sizes_mb"] = {k: round(v / 1e6) for k, v in table_sizes(db).items()}
            print(kind, n, got, flush=True)
            figures[str(n)] = got
        db.dispose()
    return figures


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--db", default="postgres")
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--runs", type=int, default=40, help="timed calls per measure and size")
    ap.add_argument(
        "--kpi-limit", type=int, default=1_000_000, help="skip the KPI report above this many cases"
    )
    ap.add_argument(
        "--fold-limit",
        type=int,
        default=100_000,
        help="also time the report folded from the record (the old way) up to this many cases",
    )
    ap.add_argument(
        "--rebuild-limit",
        type=int,
        default=10_000,
        help="also time `bihuan kpi rebuild` up to this many cases",
    )
    ap.add_argument("--quick", action="store_true", help="2,000 cases, 10 calls each")
    ap.add_argument("--name", default=None, help="result file name (bench/out/<name>.json)")
    args = ap.parse_args(argv)
    if args.quick:
        args.sizes, args.runs = "2000", 10
    sizes = [int(x) for x in args.sizes.split(",") if x]
    result = Result(args.name or f"scale_{'_'.join(args.db.split(','))}")
    for kind in [k for k in args.db.split(",") if k]:
        result.figures[kind] = run(
            kind, sizes, args.runs, args.kpi_limit, args.fold_limit, args.rebuild_limit
        )
    result.write()
    return result


if __name__ == "__main__":
    main()
