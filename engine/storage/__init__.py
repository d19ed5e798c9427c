"""Storage: SQLAlchemy 2 models, the database handle and Alembic migrations.

``database`` is the handle (sessions, pools); ``dialects`` what differs between SQLite and
PostgreSQL for the code above; ``models`` the tables;
``migrate`` runs Alembic (``migrations/``).
"""

from engine.storage.database import Database, Timeouts
from engine.storage.dialects import dialect_of, insert_for, is_postgres, skip_locked
from engine.storage.faults import storage_fault
from engine.storage.migrate import is_at_head, upgrade
from engine.storage.models import IdempotencyRecord

__all__ = [
    "Database",
    "IdempotencyRecord",
    "Timeouts",
    "dialect_of",
    "insert_for",
    "is_at_head",
    "is_postgres",
    "skip_locked",
    "storage_fault",
    "upgrade",
]
