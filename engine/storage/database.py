"""The database handle: one SQLAlchemy engine and a session factory, SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool


def dumps_json(value: Any) -> str:
    """JSON for the JSON columns: orjson (≈8× the standard library on a workflow's state),
    UTF-8 rather than ``\\u`` escapes, and non-string keys written as strings as ``json`` does."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


JSON_CODEC: dict[str, Any] = {"json_serializer": dumps_json, "json_deserializer": orjson.loads}


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
    # The append-only triggers on audit rows ask this; only retention's maintenance block says 1.
    dbapi_connection.create_function("bihuan_audit_maintenance", 0, lambda: 0)


_READ_ONLY = "bihuan_read_only"


def _sqlite_begin(conn: Any) -> None:
    # Take the write lock at BEGIN so that two writers serialise instead of deadlocking on upgrade.
    # A read-only session (Database.read_session) begins deferred: in WAL mode it reads its
    # snapshot while a writer holds the lock, instead of queueing behind it.
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


#: A pooled PostgreSQL connection idle for this long is pinged before it is handed out, so one
#: dropped while idle (a restarted server, a firewall's idle timeout) is replaced instead of
#: failing the command. A connection in steady use is not pinged: SQLAlchemy's
#: ``pool_pre_ping`` cost a round trip on every transaction. One that breaks while in use fails
#: its transaction, and SQLAlchemy then discards the pool's other connections.
PING_AFTER_IDLE = 10.0


def _idle_since(_dbapi_connection: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_after_idle(seconds: float) -> Any:
    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < seconds:
            return  # new, or back from use a moment ago
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
            dbapi_connection.rollback()
        except Exception as exc:  # the driver's own error types; any failure means "gone"
            raise DisconnectionError(f"pooled connection lost while idle: {exc}") from exc

    return ping


class Database:
    """Owns the SQLAlchemy engine. ``session()`` is one transaction: commit on success."""

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 5,
        pooled: bool = True,
        ping_after_idle: float = PING_AFTER_IDLE,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = url.split("///", 1)[1] if "///" in url else ""
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            self.engine: Engine = create_engine(
                url,
                echo=echo,
                connect_args={"check_same_thread": False, "timeout": 30},
                **JSON_CODEC,
                poolclass=NullPool if path == ":memory:" or not pooled else None,
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
            # pysqlite's own transaction handling is off; we issue BEGIN IMMEDIATE ourselves.
            event.listen(
                self.engine,
                "connect",
                lambda c, _r: setattr(c, "isolation_level", None),
            )
            event.listen(self.engine, "begin", _sqlite_begin)
        else:
            self.engine = (
                create_engine(
                    url,
                    echo=echo,
                    pool_size=pool_size,
                    max_overflow=10,
                    **JSON_CODEC,
                )
                if pooled
                else create_engine(url, echo=echo, poolclass=NullPool, **JSON_CODEC)
            )
            if pooled:
                event.listen(self.engine, "checkin", _idle_since)
                event.listen(self.engine, "checkout", _ping_after_idle(ping_after_idle))
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._read_factory = sessionmaker(
            self.engine.execution_options(**{_READ_ONLY: True}), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        s = self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A transaction that only reads: on SQLite it does not wait for (or hold) the write
        lock, so sign-in and other reads go on while a command writes. Never write in it."""
        s = self._read_factory()
        try:
            yield s
        finally:
            s.rollback()
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
