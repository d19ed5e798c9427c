"""human 督办: supervision orders; notice receipts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 22:00:00

* ``supervision_orders``: 督办单, 挂牌督办, 通报, 约谈, 督查 issued by people or by the rule
  triggers (``dedupe_key`` unique: a rule's order is issued once).
* ``notification_receipts``: who read and acknowledged which notice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "supervision_orders",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("case_no", sa.String(length=100), nullable=True),
        sa.Column("target_org", sa.String(length=64), nullable=False),
        sa.Column("org_path", sa.String(length=600), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("issued_role", sa.String(length=32), nullable=True),
        sa.Column("limit_days", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("answer", JSON, nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_orders")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_supervision_orders_dedupe_key")),
    )
    op.create_index(
        op.f("ix_supervision_orders_case_no"), "supervision_orders", ["case_no"], unique=False
    )
    op.create_index(
        "ix_supervision_orders_org", "supervision_orders", ["target_org", "state"], unique=False
    )
    op.create_table(
        "notification_receipts",
        sa.Column("notification_id", ID, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["notification_id"],
            ["notifications.id"],
            name=op.f("fk_notification_receipts_notification_id_notifications"),
        ),
        sa.PrimaryKeyConstraint(
            "notification_id", "user_id", name=op.f("pk_notification_receipts")
        ),
    )


def downgrade() -> None:
    op.drop_table("notification_receipts")
    op.drop_index("ix_supervision_orders_org", table_name="supervision_orders")
    op.drop_index(op.f("ix_supervision_orders_case_no"), table_name="supervision_orders")
    op.drop_table("supervision_orders")
