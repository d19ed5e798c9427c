"""Evidence (证据材料): files attached to a case or to a task's submission.

The bytes live in a content-addressed blob store (engine/evidence/store.py) under their SHA-256;
a row holds the metadata and the digest, and the upload's audit event records the same digest, so
verification covers the evidence (docs/audit.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class Attachment(Base):
    __tablename__ = "attachments"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_no: Mapped[str] = mapped_column(ForeignKey("cases.case_no"))
    task_id: Mapped[str | None] = mapped_column(String(36))  # the task whose submission it backs
    kind: Mapped[str] = mapped_column(String(32))  # photo | agreement | statement | document
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(100))  # sniffed from the content
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime]
    audit_seq: Mapped[int] = mapped_column(Integer)  # the upload's event in the case's chain
    __table_args__ = (Index("ix_attachments_case_no", "case_no", "uploaded_at"),)
