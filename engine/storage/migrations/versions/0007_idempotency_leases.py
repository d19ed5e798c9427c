"""idempotency reservations carry an owner and a lease

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 21:45:00

* ``idempotency_keys.owner`` and ``idempotency_keys.lease_until``: the process running the first
  request with a key and until when it holds it (renewed while it runs). A reservation whose
  owner died lapses and a retry takes it over, so no key is left unanswerable. Rows written
  before this revision have no lease: they count as lapsed.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("owner")
