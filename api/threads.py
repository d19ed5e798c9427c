"""How many requests a worker runs at once in threads, and sign-ins apart from the rest.

Routes and the engine are synchronous: each request's database work runs in anyio's thread
pool (40 threads by default). A thread holds at most one pooled connection at a time, so with
more threads than the pool keeps (``pool_size``, 5), the extra ones open *overflow* connections
that the pool closes again when they come back: under load every such request paid for a new
PostgreSQL connection (a backend process and a handshake; 177 backends were started during one
benchmark run of 1,280 task cycles). One process runs Python on one core at a time anyway, so
the pool's size is also enough threads to keep that core busy while others wait for the
database. :func:`limit_threads` sets the worker's thread limit to the pool's size.

Sign-in waits for one of the few argon2 slots (``engine.access.PASSWORD_SLOTS``); run in the
shared pool, a burst of sign-ins would take every thread while waiting. They run under their
own limiter of that many threads (:func:`sign_in_limiter`), one per event loop.
"""

from __future__ import annotations

from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from sqlalchemy.pool import QueuePool

from engine.access import PASSWORD_SLOTS
from engine.storage import Database

_SIGN_INS: RunVar[CapacityLimiter] = RunVar("bihuan_sign_ins")


def thread_limit(db: Database) -> int | None:
    """The pool's size, or None for a pool without one (SQLite in memory: no limit set)."""
    pool = db.engine.pool
    return pool.size() if isinstance(pool, QueuePool) else None


def limit_threads(db: Database) -> None:
    """Call inside the worker's event loop (the app's lifespan)."""
    limit = thread_limit(db)
    if limit is not None:
        to_thread.current_default_thread_limiter().total_tokens = limit


def sign_in_limiter() -> CapacityLimiter:
    try:
        return _SIGN_INS.get()
    except LookupError:
        limiter = CapacityLimiter(PASSWORD_SLOTS)
        _SIGN_INS.set(limiter)
        return limiter
