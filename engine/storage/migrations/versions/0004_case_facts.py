"""per-case KPI facts kept by the command (filled in by the KPI work)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 08:00:00

``case_facts``: one row per case, the fold of its audit events (engine/kpi/facts.py) with the
KPI instants and values as columns, written in the transaction that appends the events
(``AuditLog.flush``). ``kpi_watermark``: how far the report's catch-up has looked at
``audit_events`` for rows written without the engine.

An upgraded database starts with no facts: the first report folds the whole record (the
catch-up), or run ``bihuan kpi rebuild`` after upgrading.

Subtree filters: on PostgreSQL ``org_path LIKE 'prefix%'`` through a ``varchar_pattern_ops``
index (as migration 0003 does for ``cases``); SQLite uses the range ``org_path >= :prefix AND
org_path < :next`` through a plain index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _instant(name: str, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_no", sa.String(length=100), nullable=False),
        sa.Column("org_path", sa.String(length=600), nullable=True),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        _instant("last_at", nullable=False),
        _instant("moved_at"),
        _instant("reported_at"),
        _instant("registered_at"),
        _instant("dispatched_at"),
        _instant("closed_at"),
        _instant("due_at"),
        _instant("to_county_at"),
        sa.Column("status", sa.String(), nullable=True),
        sa.Column("tier", sa.String(), nullable=True),
        sa.Column("resolved_tier", sa.String(), nullable=True),
        sa.Column("severity", sa.String(), nullable=True),
        sa.Column("category", sa.String(), nullable=True),
        sa.Column("satisfaction", sa.Integer(), nullable=True),
        sa.Column("eval_excluded", sa.Boolean(), nullable=False),
        sa.Column("ladder_level", sa.Integer(), nullable=False),
        _count("reopen_count"),
        _count("rework_count"),
        _count("return_count"),
        _count("correction_count"),
        _count("improper_return_count"),
        _count("agreement_count"),
        _count("jc_count"),
        _count("supervision_count"),
        _instant("marks_from"),
        _instant("marks_to"),
        sa.Column(
            "lists",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
        ),
        sa.PrimaryKeyConstraint("case_no", name=op.f("pk_case_facts")),
    )
    op.create_index(
        "ix_case_facts_org_path",
        "case_facts",
        ["org_path"],
        postgresql_ops={"org_path": "varchar_pattern_ops"},
    )
    op.create_table(
        "kpi_watermark",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_kpi_watermark")),
    )


def downgrade() -> None:
    op.drop_table("kpi_watermark")
    op.drop_index("ix_case_facts_org_path", table_name="case_facts")
    op.drop_table("case_facts")
