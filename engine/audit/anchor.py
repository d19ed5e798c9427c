"""Anchors: periodic, signed snapshots of every case chain's head.

A chain alone proves that nothing *inside* it was changed, but not that its tail was not cut
off (deleting the newest events leaves a valid, shorter chain). An anchor records, for each case
whose chain moved since the previous anchor, the head ``(seq, hash)``; the verifier then requires
that every anchored head is still present. Anchors are themselves chained (``heads["prev"]`` is
the previous anchor's digest) and signed with HMAC-SHA256 under the server's secret key, so a
forged or deleted intermediate anchor is detected as well.

Layout of ``audit_anchors.heads``::

    {"prev": <digest of previous anchor or GENESIS>,
     "since": <ISO instant the scan started from, or null for a full anchor>,
     "cases": {case_no: [seq, hash], ...}}

``digest = sha256(canonical({"at": at, "heads": heads}))`` and ``signature = HMAC(key, digest)``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.audit.log import GENESIS, canonical
from engine.storage.models import AuditAnchor, AuditEvent

#: Events whose transaction committed late (their ``at`` is the command's start) are picked up
#: by re-scanning this much time before the previous anchor.
OVERLAP = timedelta(minutes=10)


def sign(secret_key: str, digest: str) -> str:
    """HMAC-SHA256 of a hex digest under the server key (hex)."""
    return hmac.new(secret_key.encode(), digest.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret_key: str, digest: str, signature: str) -> bool:
    return hmac.compare_digest(sign(secret_key, digest), signature)


def anchor_digest(at: datetime, heads: dict[str, Any]) -> str:
    payload = {"at": at.astimezone(UTC).isoformat(), "heads": heads}
    return hashlib.sha256(canonical(payload).encode()).hexdigest()


@dataclass(frozen=True)
class AnchorHead:
    """One anchored chain head."""

    case_no: str
    seq: int
    hash: str
    anchor_id: int


def latest_anchor(session: Session) -> AuditAnchor | None:
    return session.scalars(select(AuditAnchor).order_by(AuditAnchor.id.desc()).limit(1)).first()


def chain_heads(session: Session, since: datetime | None) -> dict[str, list[Any]]:
    """``{case_no: [seq, hash]}`` of each chain with an event at or after ``since`` (None: all)."""
    latest_q = select(AuditEvent.case_no, func.max(AuditEvent.seq).label("seq"))
    if since is not None:
        moved = select(AuditEvent.case_no).where(AuditEvent.at >= since).distinct()
        latest_q = latest_q.where(AuditEvent.case_no.in_(moved))
    latest = latest_q.group_by(AuditEvent.case_no).subquery()
    rows = session.execute(
        select(AuditEvent.case_no, AuditEvent.seq, AuditEvent.hash)
        .join(latest, and_(AuditEvent.case_no == latest.c.case_no, AuditEvent.seq == latest.c.seq))
        .order_by(AuditEvent.case_no)
    )
    return {case_no: [seq, digest] for case_no, seq, digest in rows}


def create_anchor(
    session: Session, secret_key: str, now: datetime, *, full: bool = False
) -> AuditAnchor:
    """Sign the heads of every chain that moved since the previous anchor (all with ``full``).

    An anchor is written even when nothing moved: its presence at that time is itself a fact
    (nothing happened), and it extends the anchor chain.
    """
    now = now.astimezone(UTC)
    previous = latest_anchor(session)
    since: datetime | None = None
    if previous is not None and not full:
        since = previous.at - OVERLAP
    heads: dict[str, Any] = {
        "prev": previous.digest if previous is not None else GENESIS,
        "since": since.isoformat() if since is not None else None,
        "cases": chain_heads(session, since),
    }
    digest = anchor_digest(now, heads)
    anchor = AuditAnchor(at=now, heads=heads, digest=digest, signature=sign(secret_key, digest))
    session.add(anchor)
    session.flush()
    return anchor


def anchor_job(secret_key: str) -> Callable[[Session, datetime, datetime], None]:
    """A periodic job (``engine.scheduler.periodic.PeriodicJob.function``) that anchors."""

    def run(session: Session, _fire_time: datetime, now: datetime) -> None:
        create_anchor(session, secret_key, now)

    return run
