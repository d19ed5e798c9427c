"""What differs between SQLite and PostgreSQL for the code above storage, in one place.

The rest of the engine asks these functions instead of reading ``dialect.name`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, Select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

POSTGRES = "postgresql"
SQLITE = "sqlite"
S = TypeVar("S", bound=Select[Any])


def dialect_of(s: Session | Connection) -> str:
    """``postgresql`` or ``sqlite``: the dialect the session or connection talks to."""
    bind = s.get_bind() if isinstance(s, Session) else s
    return bind.dialect.name


def is_postgres(s: Session | Connection) -> bool:
    return dialect_of(s) == POSTGRES


def insert_for(s: Session | Connection) -> Callable[..., Any]:
    """The dialect's ``INSERT`` (with ``on_conflict_do_nothing`` / ``on_conflict_do_update``)."""
    return postgresql.insert if is_postgres(s) else sqlite.insert


def skip_locked(query: S, s: Session) -> S:
    """Claim rows other workers have not locked: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL; on
    SQLite writers are serialised by ``BEGIN IMMEDIATE``, so the query stays as it is."""
    return query.with_for_update(skip_locked=True) if is_postgres(s) else query
