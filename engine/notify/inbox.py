"""Notices for their recipients: list, read, acknowledge; the dead letters for the operator.

A notice is addressed to a user (``recipient_user``), or to the holders of a role at a unit
(``recipient_org`` + ``recipient_role``), or to every holder of a role (``recipient_role`` alone,
e.g. ``supervisor``), or to everyone at a unit (``recipient_org`` alone). A notice addressed to
nobody in particular is shown to nobody. Reading and acknowledging are per recipient
(``notification_receipts``): a notice to a role is acknowledged by each holder for themself.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.errors import Conflict, NotFound
from engine.notify.outbox import DEAD
from engine.storage.models import Notification, NotificationReceipt

Grants = Iterable[tuple[str, str]]  # (org_id, role)


def addressed_to(user_id: str, grants: Grants) -> ColumnElement[bool]:
    """The SQL condition "this notice is for this user"."""
    n = Notification
    groups = [
        and_(
            or_(n.recipient_org.is_(None), n.recipient_org == org),
            or_(n.recipient_role.is_(None), n.recipient_role == role),
        )
        for org, role in sorted(set(grants))
    ]
    to_groups = (
        and_(
            n.recipient_user.is_(None),
            or_(n.recipient_org.is_not(None), n.recipient_role.is_not(None)),
            or_(*groups),
        )
        if groups
        else false()
    )
    return or_(n.recipient_user == user_id, to_groups)


def list_notices(
    session: Session,
    user_id: str,
    grants: Grants,
    *,
    unacked: bool = False,
    case_no: str | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """The user's notices, newest first, with ``unread`` / ``unacked`` counts."""
    visible = addressed_to(user_id, grants)
    receipt = NotificationReceipt
    joined = (
        select(Notification, receipt.read_at, receipt.acked_at)
        .outerjoin(
            receipt,
            and_(receipt.notification_id == Notification.id, receipt.user_id == user_id),
        )
        .where(visible)
    )
    query = joined
    if unacked:
        query = query.where(receipt.acked_at.is_(None))
    if case_no:
        query = query.where(Notification.case_no == case_no)
    if before_id is not None:
        query = query.where(Notification.id < before_id)
    rows = session.execute(query.order_by(Notification.id.desc()).limit(limit)).all()
    counts = session.execute(
        select(
            func.count().filter(receipt.read_at.is_(None)),
            func.count().filter(receipt.acked_at.is_(None)),
        )
        .select_from(Notification)
        .outerjoin(
            receipt,
            and_(receipt.notification_id == Notification.id, receipt.user_id == user_id),
        )
        .where(visible)
    ).one()
    items = [notice_view(n, read_at, acked_at) for n, read_at, acked_at in rows]
    return {
        "items": items,
        "unread": int(counts[0] or 0),
        "unacked": int(counts[1] or 0),
        "next_before_id": items[-1]["id"] if len(items) == limit else None,
    }


def read_notice(
    session: Session, user_id: str, grants: Grants, notice_id: int, *, now: datetime
) -> dict[str, Any]:
    """One notice; the first reading is recorded."""
    row = _visible(session, user_id, grants, notice_id)
    receipt = _receipt(session, notice_id, user_id)
    if receipt.read_at is None:
        receipt.read_at = as_utc(now)
    return notice_view(row, receipt.read_at, receipt.acked_at)


def ack_notice(
    session: Session, user_id: str, grants: Grants, notice_id: int, *, now: datetime
) -> dict[str, Any]:
    """Acknowledge (签收) a notice; doing it again changes nothing."""
    row = _visible(session, user_id, grants, notice_id)
    receipt = _receipt(session, notice_id, user_id)
    receipt.read_at = receipt.read_at or as_utc(now)
    receipt.acked_at = receipt.acked_at or as_utc(now)
    return notice_view(row, receipt.read_at, receipt.acked_at)


def list_outbox(session: Session, *, state: str = DEAD, limit: int = 100) -> list[dict[str, Any]]:
    """Outbox rows in a delivery state (``dead`` by default: the dead letters), with attempts and
    the last error."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.state == state)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return [notice_view(n, None, None) for n in rows]


def requeue(session: Session, notice_id: int, *, now: datetime) -> dict[str, Any]:
    """Put a dead letter back in the queue (after the gateway was fixed)."""
    row = session.get(Notification, notice_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no notification {notice_id}")
    if row.state != DEAD:
        raise Conflict(
            f"notification {notice_id} is {row.state}, only a dead letter can be re-queued"
        )
    row.state, row.attempts, row.delivered_at = "pending", 0, as_utc(now)
    return notice_view(row, None, None)


def notice_view(
    n: Notification, read_at: datetime | None, acked_at: datetime | None
) -> dict[str, Any]:
    payload = dict(n.payload or {})
    return {
        "id": n.id,
        "kind": n.kind,
        "case_no": n.case_no,
        "title": n.title,
        "body": n.body,
        "created_at": as_utc(n.created_at).isoformat(),
        "recipient_user": n.recipient_user,
        "recipient_org": n.recipient_org,
        "recipient_role": n.recipient_role,
        "payload": {k: v for k, v in payload.items() if k != "last_error"},
        "delivery": {
            "state": n.state,
            "attempts": n.attempts,
            "last_error": payload.get("last_error"),
        },
        "read_at": as_utc(read_at).isoformat() if read_at else None,
        "acked_at": as_utc(acked_at).isoformat() if acked_at else None,
    }


def _visible(session: Session, user_id: str, grants: Grants, notice_id: int) -> Notification:
    row = session.scalar(
        select(Notification).where(Notification.id == notice_id, addressed_to(user_id, grants))
    )
    if row is None:
        raise NotFound(f"no notification {notice_id} for {user_id}")
    return row


def _receipt(session: Session, notice_id: int, user_id: str) -> NotificationReceipt:
    found = session.get(NotificationReceipt, (notice_id, user_id))
    if found is None:
        found = NotificationReceipt(notification_id=notice_id, user_id=user_id)
        session.add(found)
    return found
