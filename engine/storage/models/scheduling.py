"""Time: due items, their firings and the scheduler's lease."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class DueItem(Base):
    """Something that must happen at a time: a BPMN timer, a deadline, a ladder rung, a job.

    The scheduler sweeps ``state='pending' AND due_at <= now`` through ``ix_due_items_sweep`` and
    leases rows; ``dedupe_key`` is unique so a firing is recorded once whoever tries it.
    """

    __tablename__ = "due_items"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # bpmn_timer|task_due|case_due|ladder|job
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    case_no: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    due_at: Mapped[datetime]
    # pending | done | cancelled | failed (an incident: engine/scheduler/incidents.py)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_due_items_sweep", "state", "due_at"),)


class Firing(Base):
    """Proof that a due item took effect: the primary key makes it happen once."""

    __tablename__ = "firings"
    dedupe_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    fired_at: Mapped[datetime]
    fired_by: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]


class SchedulerLease(Base):
    """Leader election for the scheduler embedded in ``bihuan serve``."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    lease_until: Mapped[datetime]
