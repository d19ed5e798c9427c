"""Alembic: an empty database upgrades to head, and the models match the migrations."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.storage.database import Database
from engine.storage.migrate import is_at_head
from engine.storage.models import Base


def test_upgraded_schema_has_no_drift(db: Database) -> None:
    assert is_at_head(db)
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, Base.metadata)
    assert diffs == []
