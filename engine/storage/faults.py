"""Storage faults → the engine's retryable errors, in one place.

A database that is down, full, locked or too slow is not the client's fault and not a bug:
every such error becomes :class:`~engine.errors.StorageError` (503, retry later) or
:class:`~engine.errors.StorageBusy` (409, another transaction holds what this one needs: retry
in a moment). Both carry ``retry_after``; the API answers with a ``Retry-After`` header.

    PostgreSQL  55P03 lock_not_available (lock_timeout), 40001, 40P01    → StorageBusy
                57014 query_canceled (statement_timeout), 08… connection,
                53… insufficient resources (disk full), 57P0… shutdown,
                25P03 idle-in-transaction timeout                         → StorageError
    SQLite      "database is locked", "database or disk is full", I/O     → StorageError
    any         OperationalError, InterfaceError, a pool timeout, a lost
                connection                                                → StorageError
"""

from __future__ import annotations

from sqlalchemy import exc as sa_exc

from engine.errors import BihuanError, StorageBusy, StorageError

_BUSY_STATES = frozenset({"55P03", "40001", "40P01"})
_DOWN_CLASSES = ("08", "53", "57", "58", "25P03", "XX")
_DRIVER_MODULES = ("sqlite3", "psycopg", "psycopg2")
_DRIVER_NAMES = frozenset({"OperationalError", "InterfaceError"})


def _sqlstate(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return state if isinstance(state, str) else ""


def _from_driver(exc: BaseException) -> bool:
    kind = type(exc)
    return kind.__name__ in _DRIVER_NAMES and kind.__module__.split(".")[0] in _DRIVER_MODULES


def storage_fault(exc: BaseException) -> BihuanError | None:
    """The retryable engine error a storage failure stands for, or None (not a storage fault).
    Looks through exception groups and ``__cause__`` chains."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = storage_fault(inner)
            if found is not None:
                return found
        return None
    if isinstance(exc, StorageError | StorageBusy):
        return exc
    state = _sqlstate(exc)
    if state in _BUSY_STATES:
        return StorageBusy(
            "另一操作正占用该案件，请稍后重试 (another transaction holds this case; retry)",
            sqlstate=state,
        )
    if state == "57014":
        return StorageError(
            "数据库语句超时，请稍后重试 (a database statement timed out; retry later)"
        )
    down = isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError
                      | sa_exc.DisconnectionError) or _from_driver(exc)  # fmt: skip
    down = down or state.startswith(_DOWN_CLASSES)
    down = down or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
    if down:
        return StorageError("数据库暂不可用，请稍后重试 (the database is unavailable; retry later)")
    cause = exc.__cause__ or exc.__context__
    return storage_fault(cause) if cause is not None and cause is not exc else None
