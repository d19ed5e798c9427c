"""audit tables are append-only

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 06:00:00

PostgreSQL: a row trigger refuses UPDATE and DELETE on ``audit_events`` and ``audit_anchors``
unless the transaction has set ``SET LOCAL bihuan.audit_maintenance = 'on'`` (only the retention
purge does, see engine/audit/retention.py). TRUNCATE is not a row operation and is not refused: the test
suite empties tables with it, and production must REVOKE TRUNCATE from the application role
(docs/audit.md).

SQLite has no session settings: the triggers ask the connection-local SQL function
``bihuan_audit_maintenance()``, which only engine/audit/retention.py registers (returning 1 while it
purges). On a connection without it, an UPDATE or DELETE fails with "no such function", which
refuses it just the same.

The triggers protect the rows against the application; the hash chain and the signed anchors
protect them against everyone else (a superuser can disable a trigger).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("audit_events", "audit_anchors")

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION bihuan_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('bihuan.audit_maintenance', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'audit rows are never changed; see docs/audit.md';
END
$$
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for table in TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION bihuan_audit_append_only()"
            )
    elif dialect == "sqlite":
        for table in TABLES:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    "WHEN coalesce(bihuan_audit_maintenance(), 0) = 0 "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in TABLES:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS bihuan_audit_append_only()")
    elif dialect == "sqlite":
        for table in TABLES:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
