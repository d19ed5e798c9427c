"""Human 督办: supervision orders (督办单, 挂牌督办, 通报, 约谈, 督查) and who read which notice."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class SupervisionOrder(Base):
    """One act of supervision on a case or a unit.

    ``kind``: ``order`` (督办单: the unit answers with a 情况说明 by ``due_at``), ``listed``
    (挂牌督办 of a listed case: an order that goes straight to 督查 when unanswered),
    ``circular`` (通报, a unit-level circular), ``interview`` (约谈), ``inspection`` (督查) —
    the last two recorded with their ``outcome``. ``trigger`` says who issued it: ``manual``
    or the rule that did (``overdue_cases``, ``improper_return``, ``major_risk``, ``overdue``).
    ``dedupe_key`` makes a rule's order exactly-once.
    """

    __tablename__ = "supervision_orders"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))  # open|answered|recorded|closed
    case_no: Mapped[str | None] = mapped_column(String(100), index=True)
    target_org: Mapped[str] = mapped_column(String(64))
    org_path: Mapped[str] = mapped_column(String(600))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    issued_at: Mapped[datetime]
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_role: Mapped[str | None] = mapped_column(String(32))
    limit_days: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None]
    level: Mapped[int] = mapped_column(Integer, default=1)
    answer: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[str | None] = mapped_column(String(32))
    __table_args__ = (Index("ix_supervision_orders_org", "target_org", "state"),)


class NotificationReceipt(Base):
    """A recipient's reading (``read_at``) and acknowledgement (``acked_at``) of a notice."""

    __tablename__ = "notification_receipts"
    notification_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("notifications.id"),
        primary_key=True,
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    read_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]
