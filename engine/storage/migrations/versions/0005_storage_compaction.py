"""smaller closed cases: compact audit hashes, implied chain links, no state for finished instances

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 08:00:00

* ``audit_events.hash`` and ``prev_hash`` hold the 32 bytes of the SHA-256 digest (``bytea`` /
  ``BLOB``) instead of 64 hex characters; the model (``HexDigest``) still hands out hex.
* ``audit_events.prev_hash`` may be NULL: the link is implied — the hash of the case's previous
  event, GENESIS for the first (engine/audit/log.py). Existing rows whose stored link is exactly that
  are converted to NULL; a row whose stored link is anything else keeps it (that is evidence a
  verification reports). The hash input does not change, so every chain verifies as before.
* ``instances.element_states``: the diagram overlay a finished instance keeps instead of its
  workflow state (engine/runtime/diagram.py). Instances that finished before keep their state (the
  overlay is then read from it).

Converting the audit rows: on PostgreSQL ``ALTER … TYPE … USING decode(…)`` (a table rewrite,
not a row UPDATE, so the append-only trigger of 0002 does not fire) and one UPDATE of the links
under the maintenance setting the trigger honours. On SQLite the table is rebuilt (batch
mode), which drops its triggers: the rows are converted before the triggers of 0002 are made
again, exactly as 0002 made them.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

# A link equal to the previous event's hash (GENESIS for the first event) is implied.
PG_UNLINK = """
UPDATE audit_events AS e SET prev_hash = NULL
WHERE e.prev_hash IS NOT DISTINCT FROM coalesce(
    (SELECT p.hash FROM audit_events AS p
     WHERE p.case_no = e.case_no AND p.seq < e.seq ORDER BY p.seq DESC LIMIT 1),
    decode(repeat('0', 64), 'hex'))
"""
PG_RELINK = """
UPDATE audit_events AS e SET prev_hash = coalesce(
    (SELECT p.hash FROM audit_events AS p
     WHERE p.case_no = e.case_no AND p.seq < e.seq ORDER BY p.seq DESC LIMIT 1),
    decode(repeat('0', 64), 'hex'))
WHERE e.prev_hash IS NULL
"""
SQLITE_UNLINK = """
UPDATE audit_events SET prev_hash = NULL
WHERE prev_hash = coalesce(
    (SELECT p.hash FROM audit_events AS p
     WHERE p.case_no = audit_events.case_no AND p.seq < audit_events.seq
     ORDER BY p.seq DESC LIMIT 1),
    zeroblob(32))
"""
SQLITE_RELINK = """
UPDATE audit_events SET prev_hash = coalesce(
    (SELECT p.hash FROM audit_events AS p
     WHERE p.case_no = audit_events.case_no AND p.seq < audit_events.seq
     ORDER BY p.seq DESC LIMIT 1),
    zeroblob(32))
WHERE prev_hash IS NULL
"""


def _sqlite_triggers() -> None:
    """The append-only triggers of migration 0002 (a batch rebuild drops them with the table)."""
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{action.lower()} BEFORE {action} ON audit_events "
            "WHEN coalesce(bihuan_audit_maintenance(), 0) = 0 "
            f"BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: {action} refused'); END"
        )


def _digest(value: Any) -> bytes | None:
    """A hex digest (text, or text copied as a BLOB by the rebuild) → its 32 bytes."""
    if value is None:
        return None
    if isinstance(value, bytes) and len(value) == 32:
        return value
    return bytes.fromhex(value.decode("ascii") if isinstance(value, bytes) else str(value))


def _hex(value: Any) -> str | None:
    return None if value is None else bytes(value).hex()


def _sqlite_function(name: str, function: Any) -> None:
    raw: Any = op.get_bind().connection.driver_connection
    raw.create_function(name, 1, function, deterministic=True)


def upgrade() -> None:
    op.add_column("instances", sa.Column("element_states", JSON, nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE audit_events "
            "ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex'), "
            "ALTER COLUMN prev_hash TYPE bytea USING decode(prev_hash, 'hex'), "
            "ALTER COLUMN prev_hash DROP NOT NULL"
        )
        op.execute("SET LOCAL bihuan.audit_maintenance = 'on'")
        op.execute(PG_UNLINK)
        op.execute("SET LOCAL bihuan.audit_maintenance = 'off'")
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
    with op.batch_alter_table("audit_events", recreate="always") as batch:
        batch.alter_column("hash", existing_type=sa.String(64), type_=sa.LargeBinary(32))
        batch.alter_column(
            "prev_hash", existing_type=sa.String(64), type_=sa.LargeBinary(32), nullable=True
        )
    _sqlite_function("bihuan_digest", _digest)
    op.execute(
        "UPDATE audit_events SET hash = bihuan_digest(hash), prev_hash = bihuan_digest(prev_hash)"
    )
    op.execute(SQLITE_UNLINK)
    _sqlite_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SET LOCAL bihuan.audit_maintenance = 'on'")
        op.execute(PG_RELINK)
        op.execute("SET LOCAL bihuan.audit_maintenance = 'off'")
        op.execute(
            "ALTER TABLE audit_events "
            "ALTER COLUMN hash TYPE varchar(64) USING encode(hash, 'hex'), "
            "ALTER COLUMN prev_hash TYPE varchar(64) USING encode(prev_hash, 'hex'), "
            "ALTER COLUMN prev_hash SET NOT NULL"
        )
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        op.execute(SQLITE_RELINK)
        _sqlite_function("bihuan_hex", _hex)
        op.execute(
            "UPDATE audit_events SET hash = bihuan_hex(hash), prev_hash = bihuan_hex(prev_hash)"
        )
        with op.batch_alter_table("audit_events", recreate="always") as batch:
            batch.alter_column("hash", existing_type=sa.LargeBinary(32), type_=sa.String(64))
            batch.alter_column(
                "prev_hash", existing_type=sa.LargeBinary(32), type_=sa.String(64), nullable=False
            )
        _sqlite_triggers()
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("element_states")
