"""Figures derived from the audit trail: KPI facts, their catch-up watermark, stored reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.storage.models.base import Base, NullableJson


class CaseFactsRow(Base):
    """One case's KPI facts: the fold of its audit events up to ``last_seq`` (engine/kpi).

    Kept current by the transaction that appends the case's events (``AuditLog.flush`` →
    ``engine.kpi.store.advance``); rows written without it are caught up before a report
    (``engine.kpi.catchup``). The KPI report sums these columns in SQL; ``lists`` holds the
    instants of the repeatable facts and the fold's open look-ahead (to continue the fold).
    """

    __tablename__ = "case_facts"
    case_no: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_path: Mapped[str | None] = mapped_column(String(600))  # as the fold last saw it
    last_seq: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]  # the latest event instant folded (max, not the last seq's)
    moved_at: Mapped[datetime | None]  # the latest instant the org_path changed
    reported_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    to_county_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(String)
    tier: Mapped[str | None] = mapped_column(String)
    resolved_tier: Mapped[str | None] = mapped_column(String)
    severity: Mapped[str | None] = mapped_column(String)
    category: Mapped[str | None] = mapped_column(String)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    eval_excluded: Mapped[bool] = mapped_column(Boolean)
    ladder_level: Mapped[int] = mapped_column(Integer)
    reopen_count: Mapped[int] = mapped_column(Integer)
    rework_count: Mapped[int] = mapped_column(Integer)
    return_count: Mapped[int] = mapped_column(Integer)
    correction_count: Mapped[int] = mapped_column(Integer)
    improper_return_count: Mapped[int] = mapped_column(Integer)
    agreement_count: Mapped[int] = mapped_column(Integer)
    jc_count: Mapped[int] = mapped_column(Integer)
    supervision_count: Mapped[int] = mapped_column(Integer)  # ladder rises to 警示 or above
    # earliest / latest instant of the facts counted per period (reworks, corrections, improper
    # returns, agreements, rises to 警示+): a period holding both is summed in SQL
    marks_from: Mapped[datetime | None]
    marks_to: Mapped[datetime | None]
    lists: Mapped[dict[str, Any] | None] = mapped_column(NullableJson)
    # the 承办单位 and the round's feedback, 回访 and first contact (migration 0009)
    handling_unit: Mapped[str | None] = mapped_column(String(64))
    fed_back_at: Mapped[datetime | None]
    feedback_resolved: Mapped[bool | None] = mapped_column(Boolean)
    revisit_contact: Mapped[str | None] = mapped_column(String(16))
    problem_solved: Mapped[bool | None] = mapped_column(Boolean)
    agreement_performed: Mapped[bool | None] = mapped_column(Boolean)
    first_contact_at: Mapped[datetime | None]
    contact_late: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (
        Index(
            "ix_case_facts_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}
        ),
    )


class KpiWatermark(Base):
    """How far the KPI catch-up has looked at ``audit_events`` (by id)."""

    __tablename__ = "kpi_watermark"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger)


class Report(Base):
    """Stored periodic reports: 日排查, 周汇总, 月研判."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    content: Mapped[dict[str, Any]]
    __table_args__ = (UniqueConstraint("kind", "org_id", "period", name="uq_reports_period"),)


class ZeroReport(Base):
    """A grid worker's 零报告 for one working day: opened by the scheduler, attested by the
    worker ("nothing to report today"); ``attested_at`` stays NULL until the worker does."""

    __tablename__ = "zero_reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))  # the grid
    user_id: Mapped[str] = mapped_column(String(64))  # the grid worker
    day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, Beijing
    created_at: Mapped[datetime]
    due_at: Mapped[datetime]
    attested_at: Mapped[datetime | None]
    note: Mapped[str | None] = mapped_column(String(2000))
    __table_args__ = (
        UniqueConstraint("org_id", "user_id", "day", name="uq_zero_reports_day"),
        Index("ix_zero_reports_user", "user_id", "attested_at"),
    )
