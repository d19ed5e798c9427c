"""Auditor search over the audit record, and streamed exports (CSV, JSON Lines).

Filters: organisation subtree (``org_path`` prefix), actor, event types, time range, case.
Pages use keyset pagination on ``(at, id)``. Exports stream rows with ``yield_per`` (a
server-side cursor on PostgreSQL), writing each row as it arrives, so exporting a year of events
holds one batch in memory whatever the number of rows.

Exported rows carry ``prev_hash`` and ``hash`` so an export can be checked against the chain.
Rows store ``prev_hash`` only where it is not implied (engine/audit/log.py); search and export fill
it in from the case's previous event (one index probe per row on ``uq_audit_events_case_seq``).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import Select, Text, and_, cast, func, literal, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, aliased

from engine.audit.log import GENESIS
from engine.storage.models import AuditEvent, HexDigest

BATCH = 1000
COLUMNS = (
    "id",
    "case_no",
    "seq",
    "event_type",
    "at",
    "actor_user",
    "actor_role",
    "actor_org",
    "org_path",
    "instance_id",
    "task_id",
    "element_id",
    "element_name",
    "data_before",
    "data_after",
    "reason",
    "details",
    "prev_hash",
    "hash",
)
_JSON = {"data_before", "data_after", "details"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class AuditQuery:
    """What an auditor asks for; every field narrows the result (None = no filter)."""

    org_path: str | None = None  # subtree: "/county/town/" matches every unit under it
    actor: str | None = None
    event_types: tuple[str, ...] = ()
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    case_no: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    case_no: str
    seq: int
    event_type: str
    at: datetime
    actor_user: str | None
    actor_role: str | None
    actor_org: str | None
    org_path: str | None
    instance_id: str | None
    task_id: str | None
    element_id: str | None
    element_name: str | None
    data_before: dict[str, Any] | None
    data_after: dict[str, Any] | None
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["at"] = self.at.astimezone(UTC).isoformat()
        return out


@dataclass(frozen=True)
class Page:
    records: tuple[AuditRecord, ...]
    next_cursor: str | None  # pass back as ``after`` for the next page


def _prev_hash() -> Any:
    """The event's link: stored, else the hash of the case's previous event, else GENESIS."""
    before = aliased(AuditEvent)
    previous = (
        select(before.hash)
        .where(before.case_no == AuditEvent.case_no, before.seq < AuditEvent.seq)
        .order_by(before.seq.desc())
        .limit(1)
        .correlate(AuditEvent)
        .scalar_subquery()
    )
    return func.coalesce(
        AuditEvent.prev_hash, previous, literal(GENESIS, HexDigest()), type_=HexDigest()
    ).label("prev_hash")


def statement(query: AuditQuery) -> Select[Any]:
    cols = [_prev_hash() if name == "prev_hash" else getattr(AuditEvent, name) for name in COLUMNS]
    stmt = select(*cols)
    if query.org_path:
        stmt = stmt.where(AuditEvent.org_path.startswith(query.org_path, autoescape=True))
    if query.actor:
        stmt = stmt.where(AuditEvent.actor_user == query.actor)
    if query.event_types:
        stmt = stmt.where(AuditEvent.event_type.in_(query.event_types))
    if query.since is not None:
        stmt = stmt.where(AuditEvent.at >= query.since)
    if query.until is not None:
        stmt = stmt.where(AuditEvent.at < query.until)
    if query.case_no:
        stmt = stmt.where(AuditEvent.case_no == query.case_no)
    return stmt.order_by(AuditEvent.at, AuditEvent.id)


def _record(row: Row[Any]) -> AuditRecord:
    return AuditRecord(*row)


def search(
    session: Session, query: AuditQuery, *, limit: int = 100, after: str | None = None
) -> Page:
    """One page of matching events, oldest first; ``after`` is the previous page's cursor."""
    limit = max(1, min(limit, 1000))
    stmt = statement(query)
    if after:
        at_text, _, id_text = after.rpartition("|")
        at, last_id = datetime.fromisoformat(at_text), int(id_text)
        stmt = stmt.where(
            or_(AuditEvent.at > at, and_(AuditEvent.at == at, AuditEvent.id > last_id))
        )
    rows = [_record(r) for r in session.execute(stmt.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{rows[-1].at.astimezone(UTC).isoformat()}|{rows[-1].id}" if more else None
    return Page(tuple(rows), cursor)


def _raw(stmt: Select[Any]) -> Select[Any]:
    """The JSON columns as their JSON text (not parsed): exports copy them as they are."""
    raw = [
        cast(column, Text) if name in _JSON else column
        for name, column in zip(COLUMNS, stmt.selected_columns, strict=True)
    ]
    return stmt.with_only_columns(*raw, maintain_column_froms=True)


def iter_records(session: Session, query: AuditQuery, *, batch: int = BATCH) -> Iterator[Row[Any]]:
    """Every matching row, streamed in one transaction (server-side cursor on PostgreSQL)."""
    stmt = _raw(statement(query))
    result = session.execute(stmt.execution_options(yield_per=batch))
    try:  # a consumer that stops early (a dropped download) must not leave the cursor open
        yield from result
    finally:
        result.close()


SessionSource = Callable[[], AbstractContextManager[Session]]


def iter_pages(open_session: SessionSource, query: AuditQuery, *, batch: int = BATCH
               ) -> Iterator[Row[Any]]:  # fmt: skip
    """Every matching row, a page of ``batch`` rows per short transaction (keyset on the
    event's time and id): a slow or abandoned consumer holds no transaction between pages."""
    base = _raw(statement(query))
    after: tuple[datetime, int] | None = None
    while True:
        stmt = base
        if after is not None:
            at, last_id = after
            stmt = stmt.where(
                or_(AuditEvent.at > at, and_(AuditEvent.at == at, AuditEvent.id > last_id))
            )
        with open_session() as s:
            rows = list(s.execute(stmt.limit(batch)))
        yield from rows
        if len(rows) < batch:
            return
        last = rows[-1]
        after = (last.at, last.id)


def _cell(name: str, value: Any) -> Any:
    if value is None or (name in _JSON and value == "null"):
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # a spreadsheet must not run it as a formula
    return value


class _Line:
    """A file-like target for ``csv.writer`` that hands back the last line written."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text = text
        return len(text)


def _rows(source: Session | SessionSource, query: AuditQuery) -> Iterator[Row[Any]]:
    if isinstance(source, Session):
        return iter_records(source, query)
    return iter_pages(source, query)


def csv_lines(source: Session | SessionSource, query: AuditQuery) -> Iterator[str]:
    """The CSV export line by line (header first): for streamed HTTP responses. ``source``: a
    session (one transaction), or a way to open one (a short transaction per page)."""
    line = _Line()
    writer = csv.writer(line, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield line.text
    for row in _rows(source, query):
        writer.writerow([_cell(name, value) for name, value in zip(COLUMNS, row, strict=True)])
        yield line.text


def jsonl_lines(source: Session | SessionSource, query: AuditQuery) -> Iterator[str]:
    """The JSON Lines export line by line (one JSON object a line); ``source`` as above."""
    for row in _rows(source, query):
        parts = []
        for name, value in zip(COLUMNS, row, strict=True):
            if name in _JSON:
                text = value if value is not None else "null"  # already JSON
            elif isinstance(value, datetime):
                text = f'"{value.astimezone(UTC).isoformat()}"'
            else:
                text = json.dumps(value, ensure_ascii=False)
            parts.append(f'"{name}":{text}')
        yield "{" + ",".join(parts) + "}\n"


def export_csv(session: Session, query: AuditQuery, out: TextIO) -> int:
    """Write matching events as CSV (header first); returns the number of rows."""
    count = -1
    for text in csv_lines(session, query):
        out.write(text)
        count += 1
    return count


def export_jsonl(session: Session, query: AuditQuery, out: TextIO) -> int:
    """Write matching events as JSON Lines; returns the number of rows."""
    count = 0
    for text in jsonl_lines(session, query):
        out.write(text)
        count += 1
    return count
