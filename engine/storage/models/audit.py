"""The audit trail: hash-chained events and the signed anchors of the chain heads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base, HexDigest, JsonType


class AuditEvent(Base):
    """Append-only; hash-chained per case: ``hash`` covers the previous event's hash.

    ``prev_hash`` is stored only where it is not implied (retention summaries, and events
    written before migration 0005 whose link was not the previous row): NULL means "the hash
    of the case's previous event" (GENESIS for the first). See docs/audit.md.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_no: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime]
    actor_user: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_org: Mapped[str | None] = mapped_column(String(64))
    org_path: Mapped[str | None] = mapped_column(String(600))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    data_before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    data_after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(HexDigest())
    hash: Mapped[str] = mapped_column(HexDigest())
    __table_args__ = (
        UniqueConstraint("case_no", "seq", name="uq_audit_events_case_seq"),
        Index("ix_audit_events_at", "at"),
        Index(
            "ix_audit_events_org",
            "org_path",
            "at",
            postgresql_ops={"org_path": "varchar_pattern_ops"},
        ),
    )


class AuditAnchor(Base):
    """A periodic anchor of every chain head, signed with the server key."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    heads: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))
