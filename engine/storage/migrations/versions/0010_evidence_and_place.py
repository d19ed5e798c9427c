"""evidence and place: attachments, and a case's coordinates and address

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 22:00:00

* ``attachments``: one row per file attached to a case (or to a task's submission); the bytes
  are in the blob store under ``sha256``, the upload's audit event is ``audit_seq``.
* ``cases.lat``, ``cases.lng``, ``cases.address``: where the matter arose (上报的位置), with an
  index for searches by area; an index on ``cases.org_id`` for the duplicate check by grid.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("case_no", sa.String(length=100), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_no"], ["cases.case_no"], name=op.f("fk_attachments_case_no_cases")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index("ix_attachments_case_no", "attachments", ["case_no", "uploaded_at"])
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("lng", sa.Float(), nullable=True))
        batch.add_column(sa.Column("address", sa.String(length=200), nullable=True))
        batch.create_index("ix_cases_lat_lng", ["lat", "lng"])
        batch.create_index("ix_cases_org_id", ["org_id"])


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_index("ix_cases_org_id")
        batch.drop_index("ix_cases_lat_lng")
        batch.drop_column("address")
        batch.drop_column("lng")
        batch.drop_column("lat")
    op.drop_index("ix_attachments_case_no", table_name="attachments")
    op.drop_table("attachments")
