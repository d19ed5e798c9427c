"""Cases and their human tasks: projections written in the same transaction as the instance
state, so queries never load a workflow."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base


class Case(Base):
    """The business view of a case (矛盾纠纷/事件): the projection the inbox and filters read."""

    __tablename__ = "cases"
    case_no: Mapped[str] = mapped_column(String(100), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), index=True)  # domain state, e.g. SCREENING
    title: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    severity: Mapped[str | None] = mapped_column(String(16), index=True)
    tier: Mapped[str | None] = mapped_column(String(16), index=True)
    org_id: Mapped[str | None] = mapped_column(String(64))  # grid/unit where the matter arose
    org_path: Mapped[str] = mapped_column(String(600), default="/")
    owner_org: Mapped[str | None] = mapped_column(String(64))  # current owner (tier centre/unit)
    handling_unit: Mapped[str | None] = mapped_column(String(64))
    case_leader: Mapped[str | None] = mapped_column(String(64))
    source_channel: Mapped[str | None] = mapped_column(String(32))
    reported_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    due_rule: Mapped[str | None] = mapped_column(String(200))
    # The due time consulted a year without an official holiday table (暂定): recomputed when
    # ``bihuan calendar load`` loads that year.
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    closed_at: Mapped[datetime | None]
    # Where the matter arose (上报的位置): WGS-84 coordinates and the address as written.
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(200))
    resolved_tier: Mapped[str | None] = mapped_column(String(16))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    ladder_level: Mapped[int] = mapped_column(Integer, default=-1)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    eval_excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The head of the case's audit chain, kept here so appending needs no extra query; the
    # chain itself (audit_events) is what verification reads.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    # Subtree filters are ``org_path LIKE '/county/town/%'``: on PostgreSQL a btree serves a
    # LIKE prefix only with the pattern operator class (the database collation is not C).
    __table_args__ = (
        Index("ix_cases_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
        Index("ix_cases_lat_lng", "lat", "lng"),
        Index("ix_cases_org_id", "org_id"),
    )


class HumanTask(Base):
    """The inbox projection of a READY user task."""

    __tablename__ = "human_tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    case_no: Mapped[str] = mapped_column(String(100), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_org: Mapped[str | None] = mapped_column(String(64))
    candidate_role: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # open|claimed|completed|cancelled
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    due_rule: Mapped[str | None] = mapped_column(String(200))
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_ref: Mapped[str | None] = mapped_column(String(200))
    ui_form_ref: Mapped[str | None] = mapped_column(String(200))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index("ix_human_tasks_inbox", "candidate_org", "candidate_role", "state", "due_at"),
        Index("ix_human_tasks_assignee", "assignee", "state", "due_at"),
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
    )


class TaskComment(Base):
    __tablename__ = "task_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
