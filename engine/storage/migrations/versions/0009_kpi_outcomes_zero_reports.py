"""KPI facts of the feedback, 回访 and first contact; the grid workers' 零报告 attestations

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 22:00:00

* ``case_facts`` gains the 承办单位 (``handling_unit``) and the round's feedback (``fed_back_at``,
  ``feedback_resolved``), 回访 (``revisit_contact``, ``problem_solved``,
  ``agreement_performed``) and first contact (``first_contact_at``, ``contact_late``): 化解率
  counts only cases resolved in substance, 按期办结率 is measured at the feedback. The fold
  changed, so the stored facts are dropped and the watermark reset: the next report's catch-up
  (or ``bihuan kpi rebuild``) folds every case's record again.
* ``zero_reports``: one row per grid worker and working day, opened by the scheduler and
  attested by the worker (零报告, "nothing to report today"); never filled in by the system.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FACTS = (
    sa.Column("handling_unit", sa.String(length=64), nullable=True),
    sa.Column("fed_back_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("feedback_resolved", sa.Boolean(), nullable=True),
    sa.Column("revisit_contact", sa.String(length=16), nullable=True),
    sa.Column("problem_solved", sa.Boolean(), nullable=True),
    sa.Column("agreement_performed", sa.Boolean(), nullable=True),
    sa.Column("first_contact_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("contact_late", sa.Boolean(), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("case_facts") as batch:
        for column in FACTS:
            batch.add_column(column)
    op.execute("DELETE FROM case_facts")
    op.execute("DELETE FROM kpi_watermark")
    op.create_table(
        "zero_reports",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("org_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zero_reports")),
        sa.UniqueConstraint("org_id", "user_id", "day", name="uq_zero_reports_day"),
    )
    op.create_index("ix_zero_reports_user", "zero_reports", ["user_id", "attested_at"])


def downgrade() -> None:
    op.drop_index("ix_zero_reports_user", table_name="zero_reports")
    op.drop_table("zero_reports")
    with op.batch_alter_table("case_facts") as batch:
        for column in reversed(FACTS):
            batch.drop_column(column.name)
    op.execute("DELETE FROM case_facts")
    op.execute("DELETE FROM kpi_watermark")
