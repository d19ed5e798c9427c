"""Audit events: appended in the command's own transaction, hash-chained per case.

Each event's ``hash`` = SHA-256 over the previous event's hash and this event's canonical content,
so an edit, deletion, insertion or reordering breaks the chain at the first affected event.

What a row stores (migration 0005, docs/audit.md): the previous event's hash is part of the hashed
content but is not stored (``prev_hash`` NULL: implied by the case's previous event); the
instance id only on ``instance_started``; ``data_before`` and ``details`` leave out empty (None)
values; the BPMN elements the engine ran after a command are listed in the command's last event
(``details.ran``) instead of an ``engine_transitions`` row of their own. Events written before
keep their stored form and their hash; both verify with the same hash function.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, TableClause, column, insert, select, table, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.kpi.store import advance
from engine.storage.models import AuditEvent, Case

GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a user in a role at an organisation unit, or the engine itself."""

    user_id: str
    role: str | None = None
    org_id: str | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id.startswith("system:")


SYSTEM = Actor("system:engine", "system", None)
SCHEDULER = Actor("system:scheduler", "system", None)

STARTED = "instance_started"
TRANSITIONS = "engine_transitions"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


CONTENT_FIELDS = (
    "case_no", "seq", "instance_id", "event_type", "at", "actor_user", "actor_role",
    "actor_org", "org_path", "task_id", "element_id", "element_name", "data_before",
    "data_after", "reason", "details", "prev_hash",
)  # fmt: skip


def content_of(row: Mapping[str, Any], prev: str | None = None) -> dict[str, Any]:
    """The hashed content of an event given as a mapping (column name → value).

    ``prev`` is the previous event's hash, hashed when the row stores no ``prev_hash``.
    """
    out = {name: row.get(name) for name in CONTENT_FIELDS}
    if out["prev_hash"] is None:
        if prev is None:
            raise ValueError("the event stores no prev_hash: pass the previous event's hash")
        out["prev_hash"] = prev
    at = out["at"]
    # Stored times come back as UTC: hash the UTC form, whatever offset the clock used.
    out["at"] = as_utc(at).isoformat() if isinstance(at, datetime) else at
    return out


def event_content(e: AuditEvent, prev: str | None = None) -> dict[str, Any]:
    """The hashed content of an event (everything but its id and its own hash)."""
    return content_of({name: getattr(e, name) for name in CONTENT_FIELDS}, prev)


def event_hash(e: AuditEvent, prev: str | None = None) -> str:
    """The hash of an event; ``prev`` is the previous event's hash, for a row that stores none."""
    return hashlib.sha256(canonical(event_content(e, prev)).encode()).hexdigest()


def row_hash(row: Mapping[str, Any], prev: str | None = None) -> str:
    return hashlib.sha256(canonical(content_of(row, prev)).encode()).hexdigest()


@dataclass
class AuditLog:
    """Collects one command's events for one case and appends them chained."""

    session: Session
    case_no: str
    instance_id: str | None
    at: datetime
    org_path: str | None = None
    case: Case | None = None  # when given, its cached chain head is used and advanced
    _pending: list[dict[str, Any]] = field(default_factory=list)

    def add(
        self,
        event_type: str,
        actor: Actor,
        *,
        task_id: str | None = None,
        element_id: str | None = None,
        element_name: str | None = None,
        data_before: dict[str, Any] | None = None,
        data_after: dict[str, Any] | None = None,
        reason: str | None = None,
        **details: Any,
    ) -> None:
        self._pending.append(
            {
                "case_no": self.case_no,
                # The case's link to its workflow instance is recorded once, when it starts.
                "instance_id": self.instance_id if event_type == STARTED else None,
                "event_type": event_type,
                "at": as_utc(self.at),
                "actor_user": actor.user_id,
                "actor_role": actor.role,
                "actor_org": actor.org_id,
                "task_id": task_id,
                "element_id": element_id,
                "element_name": element_name,
                # Empty values are left out: a reader's ``before.get(field)`` is None all the same.
                "data_before": _plain(_set_only(data_before)),
                "data_after": _plain(data_after),
                "reason": reason,
                "details": _plain(_set_only(details)),
            }
        )

    def engine_ran(self, element_ids: list[str]) -> None:
        """Record the BPMN elements the engine ran on its own after the command's events.

        They go into the last pending event (``details.ran``), the command whose step ran them;
        with no event pending, into an ``engine_transitions`` event of their own.
        """
        if not element_ids:
            return
        if self._pending:
            last = self._pending[-1]
            last["details"] = {**(last["details"] or {}), "ran": list(element_ids)}
            return
        self.add(TRANSITIONS, SYSTEM, ran=list(element_ids))

    def flush(self) -> int:
        """Append the collected events (one multi-row INSERT); returns how many."""
        if not self._pending:
            return 0
        if self.case is not None:
            seq, prev = self.case.audit_seq or 0, self.case.audit_head or GENESIS
        else:
            head = self.session.execute(
                select(AuditEvent.seq, AuditEvent.hash)
                .where(AuditEvent.case_no == self.case_no)
                .order_by(AuditEvent.seq.desc())
                .limit(1)
            ).first()
            seq, prev = (head[0], head[1]) if head else (0, GENESIS)
        rows = self._pending
        head_before = prev
        for row in rows:
            seq += 1
            row["seq"] = seq
            row["prev_hash"] = None  # implied by the previous event: hashed, not stored
            row["org_path"] = self.org_path
            row["hash"] = prev = row_hash(row, prev)
        # One executemany of one cached statement (the ORM bulk path splits the rows by which
        # columns are None, one statement per shape).
        self.session.execute(_INSERT_EVENTS, rows)
        self._pending = []
        if self.case is not None:
            self.case.audit_seq, self.case.audit_head = seq, prev
        else:
            self.session.execute(
                update(Case)
                .where(Case.case_no == self.case_no)
                .values(audit_seq=seq, audit_head=prev)
            )
        # The case's KPI facts follow its record in this transaction: one upsert.
        advance(self.session, self.case_no, rows, head_before)
        return len(rows)


_JSON_COLUMNS = frozenset({"data_before", "data_after", "details"})


def _insert_table() -> TableClause:
    """``audit_events`` for the insert, its JSON columns writing None as SQL NULL — as the ORM
    does when it leaves a None column out — not as a JSON ``null``."""
    nullable_json = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
    mapped = AuditEvent.metadata.tables["audit_events"]
    return table(
        "audit_events",
        *(
            column(c.name, nullable_json if c.name in _JSON_COLUMNS else c.type)
            for c in mapped.columns
            if c.name != "id"
        ),
    )


_INSERT_EVENTS = insert(_insert_table())


def _set_only(values: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if values is None else {k: v for k, v in values.items() if v is not None}


def _plain(value: Any) -> Any:
    """JSON-ready copy (datetimes to ISO strings, tuples to lists) so the hash is stable."""
    return None if value is None else json.loads(canonical(value))
