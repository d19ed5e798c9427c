"""Storage: SQLAlchemy 2 models, the database handle and Alembic migrations."""

from engine.storage.database import Database

__all__ = ["Database"]
