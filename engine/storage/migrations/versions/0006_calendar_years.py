"""official holiday tables in the database; provisional due times

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 18:00:00

* ``calendar_years``: one row per year whose official holiday table (国务院办公厅 节假日安排)
  was loaded with ``bihuan calendar load FILE`` — every node reads it, so the calendar does not
  depend on a file on one node.
* ``cases.due_provisional`` and ``human_tasks.due_provisional``: the due time was computed over a
  year without an official table (statutory holidays and weekends only) and will be recomputed
  when the table is loaded.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "calendar_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.String(length=100), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("notice", sa.String(length=500), nullable=True),
        sa.Column("holidays", JSON, nullable=False),
        sa.Column("workdays", JSON, nullable=False),
        sa.Column("source_file", sa.String(length=500), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_calendar_years")),
    )
    for table in ("cases", "human_tasks"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column(
                    "due_provisional", sa.Boolean(), server_default=sa.false(), nullable=False
                )
            )


def downgrade() -> None:
    for table in ("cases", "human_tasks"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("due_provisional")
    op.drop_table("calendar_years")
