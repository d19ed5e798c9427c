"""Test helpers: write valid hash chains fast, and tamper with rows as an attacker would."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, text

from engine.audit.log import GENESIS, canonical, event_hash
from engine.storage.database import Database
from engine.storage.models import AuditEvent

JSON_COLUMNS = {"data_before", "data_after", "details"}
DIGESTS = {"hash", "prev_hash"}
TYPES = ("task_created", "task_claimed", "task_completed", "comment_added", "case_updated")


def chain_rows(
    case_no: str,
    count: int,
    start: datetime,
    *,
    org_path: str = "/county/town/village/",
    actor: str = "alice",
    first_seq: int = 1,
    prev: str = GENESIS,
    step: timedelta = timedelta(minutes=1),
    implied: bool = False,
) -> list[dict[str, Any]]:
    """``count`` chained events of one case as insertable rows (hashes computed as the engine does).

    ``implied``: the rows store no ``prev_hash`` (the engine's format since migration 0005);
    else each stores its link (the format before). The hash is the same either way. The content
    is built directly (fast); the first row is checked against ``event_hash``.
    """
    rows: list[dict[str, Any]] = []
    link = prev  # the first row's link
    for i in range(count):
        seq = first_seq + i
        changed = seq % 3 == 0
        row: dict[str, Any] = {
            "case_no": case_no,
            "seq": seq,
            "instance_id": None,
            "event_type": TYPES[seq % len(TYPES)],
            "at": start + step * i,
            "actor_user": actor,
            "actor_role": "handler",
            "actor_org": "village",
            "org_path": org_path,
            "task_id": None,
            "element_id": "handle",
            "element_name": "处置",
            "data_before": {"result": None} if changed else None,
            "data_after": {"result": f"第{seq}步"} if changed else None,
            "reason": None,
            "details": {"n": seq, "note": "普通事件"},
            "prev_hash": prev,
        }
        content = {**row, "at": row["at"].isoformat()}
        row["hash"] = hashlib.sha256(canonical(content).encode()).hexdigest()
        if implied:
            row["prev_hash"] = None
        prev = row["hash"]
        rows.append(row)
    if rows:
        first = event_hash(AuditEvent(**rows[0]), link)
        assert first == rows[0]["hash"], "chain_rows drifted"
    return rows


def bulk_insert(db: Database, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    """Insert rows fast: COPY on PostgreSQL, executemany on SQLite."""
    if not rows:
        return
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            names = list(rows[0])
            raw: Any = conn.connection.driver_connection
            with (
                raw.cursor() as cur,
                cur.copy(f"COPY audit_events ({', '.join(names)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row([_copy_value(n, row[n]) for n in names])
            return
        for i in range(0, len(rows), chunk):
            conn.execute(insert(AuditEvent), rows[i : i + chunk])


def _copy_value(name: str, value: Any) -> Any:
    if name in JSON_COLUMNS:
        return canonical(value)
    if name in DIGESTS and value is not None:
        return bytes.fromhex(value)  # stored as its 32 bytes (models.HexDigest)
    return value


@contextmanager
def as_attacker(db: Database) -> Iterator[Connection]:
    """A connection that bypasses the append-only triggers, as a database superuser could.

    PostgreSQL: ``session_replication_role = replica`` (superuser only) skips ordinary triggers.
    SQLite: whoever holds the file can define the function the triggers ask.
    """
    with db.engine.begin() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
                "bihuan_audit_maintenance", 0, lambda: 1
            )
        try:
            yield conn
        finally:
            if db.dialect != "postgresql":
                conn.connection.driver_connection.create_function(  # type: ignore[union-attr]
                    "bihuan_audit_maintenance", 0, lambda: 0
                )
