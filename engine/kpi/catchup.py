"""Facts for events written without the engine: the catch-up before a report, and a rebuild.

Every event appended through ``AuditLog`` advances its case's facts in the same transaction
(engine/kpi/store.py). Events that reach ``audit_events`` otherwise — a bulk copy, a fixture
inserting rows, a database upgraded from before the facts existed — leave their case's row
behind (or missing). :func:`catch_up` finds those cases among the events with an id above the
watermark (``kpi_watermark``: the highest id a catch-up has looked at), folds their events with
``seq > last_seq`` onto the stored state and moves the watermark. When nothing was appended
since, that is one indexed query.

Limits: ids are taken in commit order only roughly (a PostgreSQL sequence hands them out before
commit), so rows inserted *without the engine* by a transaction still open while a catch-up runs
can be passed over; ``bihuan kpi rebuild`` folds everything again. Engine commands are not
affected: their facts are written with their events.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Engine, func, or_, select
from sqlalchemy.orm import Session

from engine.kpi.facts import Fold
from engine.kpi.record import by_case, events_of
from engine.kpi.store import TABLE, from_row, to_row, write
from engine.storage.database import Database
from engine.storage.dialects import insert_for, is_postgres
from engine.storage.models import AuditEvent, KpiWatermark

F = TABLE.c
WATERMARK = "audit"
BATCH = 1000


def _chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def set_watermark(session: Session, audit_id: int) -> None:
    """The catch-up has looked at every event up to ``audit_id`` (it only moves forward)."""
    table = KpiWatermark.metadata.tables["kpi_watermark"]
    insert = insert_for(session)
    stmt = insert(table).values(name=WATERMARK, audit_id=audit_id)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["name"],
            set_={"audit_id": stmt.excluded.audit_id},
            where=table.c.audit_id < stmt.excluded.audit_id,
        )
    )


def fold_cases(session: Session, case_nos: Sequence[str], *, fresh: bool = False) -> int:
    """Fold the events of ``case_nos`` the stored facts have not seen (all of them with
    ``fresh``) and write the rows; returns how many rows were written."""
    written = 0
    for batch in _chunks(case_nos, BATCH):
        stored: dict[str, Fold] = {}
        if not fresh:
            rows = session.execute(select(TABLE).where(F.case_no.in_(batch)))
            stored = {row.case_no: from_row(row) for row in rows}
        out = []
        for case_no, events in by_case(session.execute(events_of(AuditEvent.case_no.in_(batch)))):
            fold = stored.get(case_no) or Fold.start(case_no)
            seen = fold.last_seq
            fold.feed(e for e in events if e.seq > seen)
            if fold.last_seq > seen or fresh:
                out.append(to_row(fold))
        write(session, out)
        written += len(out)
    return written


def catch_up(session: Session) -> int:
    """Bring the facts of cases with events appended without the engine up to date; returns
    how many cases were folded."""
    watermark, top = session.execute(
        select(
            select(KpiWatermark.audit_id).where(KpiWatermark.name == WATERMARK).scalar_subquery(),
            select(func.max(AuditEvent.id)).scalar_subquery(),
        )
    ).one()
    watermark = watermark or 0
    if top is None or top <= watermark:
        return 0
    behind = list(
        session.scalars(
            select(AuditEvent.case_no)
            .outerjoin(TABLE, F.case_no == AuditEvent.case_no)
            .where(AuditEvent.id > watermark, AuditEvent.id <= top)
            .group_by(AuditEvent.case_no, F.last_seq)
            .having(or_(F.last_seq.is_(None), func.max(AuditEvent.seq) > F.last_seq))
            .order_by(AuditEvent.case_no)
        )
    )
    folded = fold_cases(session, behind)
    set_watermark(session, top)
    return folded


#: When the scheduler runs the catch-up (Asia/Shanghai crontab): every ten minutes, so that a
#: report's catch-up reads at most the events of the last minutes (~2 µs each on PostgreSQL).
CATCH_UP_CRON = "*/10 * * * *"


def catch_up_job(session: Session, fire_time: datetime, now: datetime) -> None:
    """The periodic job (``job(session, fire_time, now)``): the catch-up, so that the
    watermark follows the engine's own appends between reports."""
    catch_up(session)


def bring_up_to_date(session: Session) -> int:
    """:func:`catch_up` before a report. On PostgreSQL it runs in a short transaction of its
    own, so that concurrent reports do not queue on the watermark row and commands do not wait
    on rows the report's transaction would lock; SQLite serialises writers anyway (the caller's
    transaction holds the write lock), so there it runs in the caller's transaction."""
    bind = session.get_bind()
    if isinstance(bind, Engine) and is_postgres(session):
        with Session(bind) as own, own.begin():
            return catch_up(own)
    return catch_up(session)


def rebuild(db: Database, *, batch: int = BATCH) -> int:
    """Fold every case's record again and rewrite its facts (``bihuan kpi rebuild``), in
    transactions of ``batch`` cases (by case number); rows of cases with no events left are
    deleted. Returns the number of cases folded."""
    with db.session() as s:
        top = s.scalar(select(func.max(AuditEvent.id))) or 0
    after, done = "", 0
    while True:
        with db.session() as s:
            cases = list(
                s.scalars(
                    select(AuditEvent.case_no)
                    .where(AuditEvent.case_no > after)
                    .group_by(AuditEvent.case_no)
                    .order_by(AuditEvent.case_no)
                    .limit(batch)
                )
            )
            gone = F.case_no > after
            if cases:
                gone = gone & (F.case_no <= cases[-1]) & F.case_no.not_in(cases)
            s.execute(TABLE.delete().where(gone))
            if not cases:
                set_watermark(s, top)
                return done
            done += fold_cases(s, cases, fresh=True)
            after = cases[-1]
