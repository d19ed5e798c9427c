"""Notifications: an outbox table written in the command's transaction, and pluggable senders.

Writers call :func:`enqueue` inside their own transaction, so a notification exists exactly when
the change that caused it committed. Front-ends read the ``notifications`` table directly (the
inbox bell; ``engine.notify.inbox`` lists, reads and acknowledges them for a recipient);
:func:`deliver_pending` hands pending rows to a :class:`Sender` (:class:`LoggingSender` by default;
``engine.notify.webhook.WebhookSender`` posts them to a 政务微信 / SMS gateway). A failed send is
retried with exponential backoff; after ``max_attempts`` the row goes to the dead-letter state
``dead`` (listed and re-queued through the API). Delivery is at-least-once: a sender that
crashes after sending but before the row is marked may send it again, so senders that talk to the
outside world should pass the row id on as an idempotency key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.storage.database import Database
from engine.storage.dialects import skip_locked
from engine.storage.models import Notification

log = logging.getLogger("engine.notify")

MAX_ATTEMPTS = 8
#: The first retry waits this long; each further one twice as long (capped at an hour).
RETRY_BASE_SECONDS = 10.0
#: The dead-letter state: attempts exhausted; kept for inspection and ``requeue``.
DEAD = "dead"


class Sender(Protocol):
    """Delivers one notification; raise to have it retried later."""

    def send(self, notification: Notification) -> None: ...


class LoggingSender:
    """Writes each notification to the log (the default: nothing leaves the server)."""

    def __init__(self, logger: logging.Logger | None = None) -> None:
        self.log = logger or log

    def send(self, notification: Notification) -> None:
        who = notification.recipient_user or "/".join(
            p for p in (notification.recipient_org, notification.recipient_role) if p
        )
        self.log.info(
            "notify %s [%s] %s → %s: %s",
            notification.case_no or "-",
            notification.kind,
            notification.title,
            who or "-",
            notification.body,
        )


class MemorySender:
    """Keeps what it was given (tests, demos)."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []

    def send(self, notification: Notification) -> None:
        self.sent.append(notification)


def enqueue(
    session: Session,
    *,
    now: datetime,
    kind: str,
    title: str,
    body: str = "",
    case_no: str | None = None,
    recipient_org: str | None = None,
    recipient_role: str | None = None,
    recipient_user: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> Notification:
    """Add a pending notification to the caller's transaction."""
    row = Notification(
        created_at=as_utc(now),
        case_no=case_no,
        kind=kind[:48],
        recipient_org=recipient_org,
        recipient_role=recipient_role,
        recipient_user=recipient_user,
        title=title[:300],
        body=body,
        payload=dict(payload or {}),
        state="pending",
        attempts=0,
    )
    session.add(row)
    return row


def deliver_pending(
    db: Database,
    sender: Sender,
    *,
    now: datetime,
    batch_size: int = 100,
    max_attempts: int = MAX_ATTEMPTS,
    retry_base_seconds: float = RETRY_BASE_SECONDS,
) -> int:
    """Deliver up to ``batch_size`` pending notifications; returns how many were delivered.

    Rows are locked with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so that several schedulers can
    deliver at once without sending a row twice at the same moment. A failed send counts an
    attempt and waits ``retry_base_seconds × 2^(attempts-1)`` (at most an hour) before the next;
    after ``max_attempts`` the row is marked :data:`DEAD` (dead letter) with the last error.
    """
    delivered = 0
    now = as_utc(now)
    with db.session() as s:
        query = (
            select(Notification)
            .where(
                Notification.state == "pending",
                or_(Notification.delivered_at.is_(None), Notification.delivered_at <= now),
            )
            .order_by(Notification.id)
            .limit(batch_size)
        )
        query = skip_locked(query, s)
        for row in s.scalars(query):
            try:
                sender.send(row)
            except Exception as exc:
                row.attempts += 1
                wait = min(3600.0, retry_base_seconds * 2 ** (row.attempts - 1))
                # delivered_at doubles as "not before" while the row is pending.
                row.delivered_at = now + timedelta(seconds=wait)
                row.payload = {**(row.payload or {}), "last_error": str(exc)[:500]}
                if row.attempts >= max_attempts:
                    row.state = DEAD
                log.warning("notification %s not delivered: %s", row.id, exc)
                continue
            row.state, row.delivered_at = "delivered", now
            row.attempts += 1
            delivered += 1
    return delivered
