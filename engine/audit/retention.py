"""Retention: purge the detailed audit record of cases closed longer ago than the TTL.

The purged span (seq 1 … head) is replaced by **one signed summary event** at the head's seq
(``event_type = "audit_summary"``), so the chain stays verifiable:

* its ``prev_hash`` is GENESIS and its details say ``first_seq = 1``, ``last_seq = head``;
* ``details.head_hash`` is the hash of the last purged event, so anchors that signed the old
  head still match (engine/audit/verification.py accepts an anchored head inside a signed span);
* ``details.signature`` = HMAC-SHA256 under the server key over the details (less the
  signature): nobody without the key can forge a summary to hide a rewritten history;
* ``details.case`` keeps the case's tracked fields as last recorded, ``details.kpi`` the facts
  the KPIs need (engine/kpi/facts.py), ``details.event_types`` the count of each purged type.

The purge itself is audited: an ``audit_purged`` event is appended after the summary. Comments
(``task_comments``) of the case go too; their text was in the purged ``comment_added`` events.

A chain that does not verify is never purged (that would launder the tampering): the purge
raises :class:`AuditChainBroken`. Deleting audit rows needs the maintenance switch the
append-only triggers honour (migration 0002): :func:`audit_maintenance`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, text, update
from sqlalchemy.orm import Session

from engine.audit.anchor import sign
from engine.audit.log import GENESIS, Actor, AuditLog, canonical, event_hash
from engine.audit.verification import summary_digest, verify
from engine.errors import AuditChainBroken
from engine.kpi.facts import fold_case
from engine.kpi.store import refresh_case
from engine.storage.dialects import is_postgres
from engine.storage.models import AuditEvent, Case, DueItem, Instance, TaskComment
from engine.vocabulary import CLOSED_CASE_STATUSES, SUMMARY_EVENT

RETENTION = Actor("system:retention", "system", None)
PURGE_EVENT = "audit_purged"
SQLITE_FUNCTION = "bihuan_audit_maintenance"
#: Case states after which nothing more happens (the TTL runs from ``closed_at``).
TERMINAL = CLOSED_CASE_STATUSES


@dataclass(frozen=True)
class PurgeResult:
    case_no: str
    purged_events: int
    summary_seq: int
    summary_hash: str


@contextmanager
def audit_maintenance(session: Session) -> Iterator[None]:
    """Let this transaction delete audit rows (the triggers of migration 0002 allow it).

    PostgreSQL: ``SET LOCAL bihuan.audit_maintenance = 'on'`` (ends with the transaction).
    SQLite: the connection's ``bihuan_audit_maintenance()`` returns 1 inside the block, 0 after.
    """
    conn = session.connection()
    if is_postgres(conn):
        conn.execute(text("SET LOCAL bihuan.audit_maintenance = 'on'"))
        yield  # on an error the transaction rolls back, and the setting with it
        conn.execute(text("SET LOCAL bihuan.audit_maintenance = 'off'"))
        return
    raw: Any = conn.connection.driver_connection
    raw.create_function(SQLITE_FUNCTION, 0, lambda: 1)
    try:
        yield
    finally:
        raw.create_function(SQLITE_FUNCTION, 0, lambda: 0)


def purge_candidates(
    session: Session, now: datetime, ttl: timedelta, *, limit: int = 1000
) -> list[str]:
    """Cases in a terminal state, closed before ``now - ttl``, that still have detailed events."""
    cutoff = now - ttl
    detailed = (
        select(AuditEvent.id)
        .where(
            AuditEvent.case_no == Case.case_no,
            AuditEvent.event_type.not_in((SUMMARY_EVENT, PURGE_EVENT)),
        )
        .exists()
    )
    return list(
        session.scalars(
            select(Case.case_no)
            .where(
                Case.status.in_(TERMINAL),
                Case.closed_at.is_not(None),
                Case.closed_at < cutoff,
                detailed,
            )
            .order_by(Case.closed_at, Case.case_no)
            .limit(limit)
        )
    )


def purge_case(
    session: Session, case_no: str, secret_key: str, now: datetime, *, reason: str
) -> PurgeResult | None:
    """Replace the case's detailed events by a signed summary. None if nothing is left to purge."""
    instance_id = session.scalar(select(Case.instance_id).where(Case.case_no == case_no))
    if instance_id is not None:  # the runtime's lock: no command runs on the case meanwhile
        session.scalar(select(Instance.id).where(Instance.id == instance_id).with_for_update())
    report = verify(session, secret_key, case_no=case_no)
    if not report.ok:
        raise AuditChainBroken(
            f"案件 {case_no} 的审计链校验失败，拒绝清理 (the chain does not verify; not purged): "
            f"{report.first}",
            case_no=case_no,
        )
    events = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
        )
    )
    if not events or (len(events) <= 2 and events[0].event_type == SUMMARY_EVENT):
        return None  # nothing, or only the summary and its purge record
    head = events[-1]
    details = _summary_details(case_no, events, now)
    details["signature"] = sign(secret_key, summary_digest(details))
    summary = AuditEvent(
        case_no=case_no,
        seq=head.seq,
        instance_id=instance_id,  # the case's link to its instance, as instance_started held it
        event_type=SUMMARY_EVENT,
        at=now.astimezone(UTC),
        actor_user=RETENTION.user_id,
        actor_role=RETENTION.role,
        actor_org=None,
        org_path=head.org_path,
        task_id=None,
        element_id=None,
        element_name="保留期摘要",
        data_before=None,
        data_after=None,
        reason=reason,
        details=json.loads(canonical(details)),
        prev_hash=GENESIS,
    )
    summary.hash = event_hash(summary)
    for e in events:
        session.expunge(e)
    with audit_maintenance(session):
        session.execute(delete(AuditEvent).where(AuditEvent.case_no == case_no))
        if instance_id is not None:
            session.execute(delete(TaskComment).where(TaskComment.instance_id == instance_id))
    if instance_id is not None:
        # The case's detailed data goes too: the finished workflow's state and data (parties,
        # descriptions, form answers) and the personal fields kept on the case row. The case's
        # projection columns (status, tier, dates, rating) stay for KPIs and lists.
        session.execute(
            update(Instance).where(Instance.id == instance_id).values(state={}, data={})
        )
        session.execute(delete(DueItem).where(DueItem.instance_id == instance_id))
    session.execute(update(Case).where(Case.case_no == case_no).values(fields={}))
    session.add(summary)
    session.flush()
    log = AuditLog(session, case_no, head.instance_id, now.astimezone(UTC), head.org_path)
    log.add(
        PURGE_EVENT,
        RETENTION,
        reason=reason,
        purged_events=len(events),
        first_seq=1,
        last_seq=head.seq,
        summary_hash=summary.hash,
    )
    log.flush()
    session.flush()
    refresh_case(session, case_no)  # the KPI facts, folded again from the rewritten record
    return PurgeResult(case_no, len(events), head.seq, summary.hash)


def _summary_details(case_no: str, events: list[AuditEvent], now: datetime) -> dict[str, Any]:
    case: dict[str, Any] = {}
    types: Counter[str] = Counter()
    for e in events:
        if e.event_type == SUMMARY_EVENT:
            case.update(e.details.get("case") or {})
            types.update(e.details.get("event_types") or {})
            continue
        types[e.event_type] += 1
        if e.event_type == "case_updated" and e.data_after:
            case.update(e.data_after)
    return {
        "first_seq": 1,
        "last_seq": events[-1].seq,
        "head_hash": events[-1].hash,
        "count": sum(types.values()),
        "first_at": events[0].at.isoformat(),
        "last_at": events[-1].at.isoformat(),
        "purged_at": now.astimezone(UTC).isoformat(),
        "event_types": dict(sorted(types.items())),
        "case": case,
        "kpi": fold_case(case_no, events).to_dict(),
    }


def purge_expired(
    session: Session, secret_key: str, now: datetime, ttl: timedelta, *, limit: int = 1000
) -> list[PurgeResult]:
    """Purge every case closed before ``now - ttl`` (at most ``limit`` per call)."""
    reason = f"保留期 {ttl.days} 天届满 (retention period of {ttl.days} days expired)"
    done = []
    for case_no in purge_candidates(session, now, ttl, limit=limit):
        result = purge_case(session, case_no, secret_key, now, reason=reason)
        if result is not None:
            done.append(result)
    return done
