"""read-path indexes: LIKE-prefix subtree filters on PostgreSQL

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 07:00:00

Subtree filters read ``org_path LIKE '/county/town/%'``. Under a non-C database collation
(``C.UTF-8``, ``zh_CN.UTF-8``, …) a PostgreSQL btree with the default operator class cannot
serve a LIKE prefix, so ``ix_cases_org_path`` and ``ix_audit_events_org`` are rebuilt with
``varchar_pattern_ops`` (which also serves equality). SQLite is unchanged: its queries use
``org_path >= :prefix AND org_path < :prefix_next`` (engine/reads/scope.py), which the existing
BINARY-collated indexes serve.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATTERN = {"org_path": "varchar_pattern_ops"}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_cases_org_path", table_name="cases")
    op.create_index("ix_cases_org_path", "cases", ["org_path"], postgresql_ops=PATTERN)
    op.drop_index("ix_audit_events_org", table_name="audit_events")
    op.create_index(
        "ix_audit_events_org", "audit_events", ["org_path", "at"], postgresql_ops=PATTERN
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_audit_events_org", table_name="audit_events")
    op.create_index("ix_audit_events_org", "audit_events", ["org_path", "at"])
    op.drop_index("ix_cases_org_path", table_name="cases")
    op.create_index("ix_cases_org_path", "cases", ["org_path"])
