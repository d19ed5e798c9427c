"""The database handle: one SQLAlchemy engine and a session factory, SQLite (WAL) or PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, make_url
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


#: Set for the code that only reads (GET routes, streams, the scheduler's scans): SQLite then
#: begins a *deferred* transaction, which in WAL mode runs beside the one writer instead of
#: queueing behind it for the write lock.  ``session(reading=False)`` writes anyway.
_READING: ContextVar[bool] = ContextVar("bihuan_reading", default=False)
_DEFERRED = "bihuan_deferred"


def _sqlite_begin(conn: Any) -> None:
    # A writer takes the write lock at BEGIN, so that two writers serialise instead of
    # deadlocking on upgrade; a reader's transaction is deferred (a snapshot, no lock).
    deferred = conn.get_execution_options().get(_DEFERRED, False)
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


def _postgres_timeouts(url: str, lock: float, statement: float, idle: float) -> dict[str, str]:
    """``-c`` options for every PostgreSQL connection: a lock wait, a statement and a
    transaction left idle (a frozen node) are each bounded; 0 turns one off. Options the URL
    already gives (``?options=-csearch_path%3D…``) are kept, before ours."""
    settings = (("lock_timeout", lock), ("statement_timeout", statement),
                ("idle_in_transaction_session_timeout", idle))  # fmt: skip
    ours = " ".join(f"-c {name}={round(s * 1000)}" for name, s in settings)
    given = make_url(url).query.get("options")
    before = " ".join(given) if isinstance(given, tuple) else (given or "")
    return {"options": f"{before} {ours}".strip()}


@dataclass(frozen=True)
class Timeouts:
    """PostgreSQL's bounds on waiting, in seconds (``engine.settings``: ``db_*_seconds``)."""

    lock: float = 5.0
    statement: float = 30.0
    idle_in_transaction: float = 60.0


@dataclass(frozen=True)
class _Unit:
    db: Database
    session: Session
    after_commit: list[Callable[[], None]] = field(default_factory=list)


#: The transaction a whole request runs in (:meth:`Database.join`): every ``session()`` opened
#: in the context becomes a savepoint of it, so that the request's commands and what is
#: recorded about the request (an idempotent answer) commit together or not at all.
_UNIT: ContextVar[_Unit | None] = ContextVar("bihuan_unit", default=None)


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
        timeouts: Timeouts | None = None,
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
            args = (
                _postgres_timeouts(
                    url, timeouts.lock, timeouts.statement, timeouts.idle_in_transaction
                )
                if timeouts is not None
                else {}
            )
            self.engine = (
                create_engine(
                    url,
                    echo=echo,
                    pool_size=pool_size,
                    max_overflow=10,
                    connect_args=args,
                    **JSON_CODEC,
                )
                if pooled
                else create_engine(
                    url, echo=echo, poolclass=NullPool, connect_args=args, **JSON_CODEC
                )
            )
            if pooled:
                event.listen(self.engine, "checkin", _idle_since)
                event.listen(self.engine, "checkout", _ping_after_idle(ping_after_idle))
        self._factory = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = self.engine.execution_options(**{_DEFERRED: True})

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, reading: bool | None = None) -> Iterator[Session]:
        """One transaction, committed when the block ends (rolled back if it raises). Inside
        :meth:`join` it is a savepoint of the joined transaction instead. ``reading``: only
        reads (a deferred transaction on SQLite); None: as :meth:`reading` says."""
        unit = _UNIT.get()
        if unit is not None and unit.db is self:
            with unit.session.begin_nested():
                yield unit.session
            return
        deferred = _READING.get() if reading is None else reading
        s = self._factory(bind=self._reader) if deferred else self._factory()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Within the block, transactions only read: deferred on SQLite (no write lock)."""
        token = _READING.set(True)
        try:
            yield
        finally:
            _READING.reset(token)

    def new_session(self) -> Session:
        """A session for :meth:`join`; the caller commits, rolls back and closes it."""
        return self._factory()

    def join(self, s: Session) -> Token[_Unit | None]:
        """Make every ``session()`` in this context (and the threads it starts) a savepoint of
        ``s``; undo with :meth:`leave`."""
        return _UNIT.set(_Unit(self, s))

    @staticmethod
    def leave(token: Token[_Unit | None]) -> list[Callable[[], None]]:
        """Undo :meth:`join`; returns what :meth:`after_commit` deferred: run it only once the
        joined transaction committed."""
        unit = _UNIT.get()
        _UNIT.reset(token)
        return unit.after_commit if unit is not None else []

    def after_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once the work so far is committed: now, or after a joined
        transaction's commit (never, if it rolls back)."""
        unit = _UNIT.get()
        if unit is not None and unit.db is self:
            unit.after_commit.append(action)
        else:
            action()

    def dispose(self) -> None:
        self.engine.dispose()
