"""Storage: SQLAlchemy 2 models, the database handle and Alembic migrations.

``database`` is the handle (sessions, SQLite/PostgreSQL differences); ``models`` the tables;
``migrate`` runs Alembic (``migrations/``).
"""

from engine.storage.database import Database
from engine.storage.migrate import is_at_head, upgrade
from engine.storage.models import IdempotencyRecord

__all__ = ["Database", "IdempotencyRecord", "is_at_head", "upgrade"]
