"""``Idempotency-Key`` on POST: a retry returns the first response and changes nothing.

    first request    a row (principal, key) is reserved *before* the command runs, leased to
                     this request (owner, ``lease_until``); its primary key is the lock, so two
                     concurrent attempts cannot both run
    the command      the whole route runs in ONE transaction (:meth:`Database.join`: every
                     ``session()`` inside is a savepoint of it); the answer (status, body, type)
                     is written on the reservation in that same transaction, and only then is
                     the response sent. A crash before the commit leaves nothing of the command
                     and an unanswered, leased reservation; after it, the answer is there.
    retry            same principal, key and request → the stored response, with
                     ``Idempotent-Replayed: true``; still running (lease held) → 409
                     ``request_in_progress`` with ``Retry-After``; lease lapsed (its owner died,
                     or its release failed in an outage) → the retry takes the key over and runs
    not kept         5xx answers and retryable ones (carrying ``Retry-After``: 503, 409 busy)
                     roll the command back and release the key, so that a retry may run again
    reuse            same key, different method, path or body → 422 ``idempotency_key_reused``

The lease is renewed while the request runs (PostgreSQL; on SQLite the request's transaction
holds the write lock from the start, so no one can take the key over meanwhile). Storing the
answer is conditional on still owning the key: an owner whose lease lapsed and was taken over
(a frozen node) rolls its command back instead of committing it twice. Multipart bodies are
compared without their boundary, so a client that re-encodes the same files still matches.
Sign-in is not covered (tokens are not kept).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Boolean, Insert, bindparam, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.errors import IdempotencyKeyReused, RequestInProgress
from engine.clock import Clock
from engine.storage import Database, IdempotencyRecord


@dataclass(frozen=True)
class Stored:
    status: int
    body: bytes
    content_type: str


def request_hash(method: str, path: str, query: bytes, content_type: str, body: bytes) -> str:
    if "boundary=" in content_type:
        boundary = content_type.split("boundary=", 1)[1].split(";")[0].strip().strip('"')
        if boundary:
            body = body.replace(boundary.encode("latin-1"), b"")
            content_type = content_type.split(";")[0]
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, content_type.encode("latin-1"), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


_TABLE = IdempotencyRecord.metadata.tables[IdempotencyRecord.__tablename__]
_C = _TABLE.c
_WHERE = (_C.principal == bindparam("p"), _C.key == bindparam("k"))
_MINE = (*_WHERE, _C.owner == bindparam("me"), _C.status_code.is_(None))
_SELECT = select(_C.request_hash, _C.status_code, _C.response_body, _C.content_type,
                 _C.owner, _C.lease_until).where(*_WHERE)  # fmt: skip
_STORE = update(_TABLE).where(*_MINE).values(
    status_code=bindparam("status"), response_body=bindparam("body"),
    content_type=bindparam("type"), lease_until=None,
).execution_options(preserve_rowcount=True)  # fmt: skip
_RENEW = update(_TABLE).where(*_MINE).values(lease_until=bindparam("until"))
_RELEASE = delete(_TABLE).where(*_MINE)
_LAPSED = or_(
    _C.lease_until.is_(None),
    _C.lease_until <= bindparam("now"),
    bindparam("dead", type_=Boolean),
)
_TAKE_OVER = (
    update(_TABLE)
    .where(*_WHERE, _C.status_code.is_(None), _C.owner.is_not_distinct_from(bindparam("was")))
    .where(_LAPSED)
    .values(owner=bindparam("me"), lease_until=bindparam("until"))
    .execution_options(preserve_rowcount=True)
)

_REUSED = "该幂等键已用于另一个请求 (this Idempotency-Key was used for a different request)"
_IN_PROGRESS = "使用该幂等键的请求仍在处理中 (the first request with this key is still running)"


def _reserve_statement(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: a retry finds the row without an aborted insert."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt: Insert = insert(_TABLE).on_conflict_do_nothing(index_elements=["principal", "key"])
    return stmt.execution_options(preserve_rowcount=True)  # 0: the key was there


def new_owner() -> str:
    """Who runs a request: host, process and a random part (one per request)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(6)}"


def owner_is_dead(owner: str | None) -> bool:
    """Whether ``owner`` was a process on this host that no longer runs (killed, crashed): its
    key need not wait for the lease to lapse. Taking over too early is safe anyway — the
    owner's answer is stored only while it still owns the key, else its command rolls back."""
    host, _, rest = (owner or "").partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class IdempotencyStore:
    """Reservations with a lease, and the stored answers: one statement each."""

    def __init__(self, db: Database, clock: Clock, *, lease_seconds: float = 15.0) -> None:
        self.db = db
        self.clock = clock
        self.lease = timedelta(seconds=lease_seconds)
        self._reserve = _reserve_statement(db.dialect)

    @property
    def renews(self) -> bool:
        """Whether a running request must renew its lease (see the module's docstring)."""
        return not self.db.is_sqlite

    @property
    def renew_every(self) -> float:
        return self.lease.total_seconds() / 3

    def look(self, s: Session, principal: str, key: str, digest: str) -> Stored | None:
        """A read first (no write lock): the stored answer; 409 while the first request holds
        its lease; 422 for another request's key; None when the key is free to reserve."""
        row = s.connection().execute(_SELECT, {"p": principal, "k": key}).first()
        if row is None:
            return None
        if row.request_hash != digest:
            raise IdempotencyKeyReused(_REUSED)
        if row.status_code is not None:
            return Stored(row.status_code, bytes(row.response_body or b""),
                          row.content_type or "application/json")  # fmt: skip
        lapsed = row.lease_until is None or row.lease_until <= self.clock.now()
        if not lapsed and not owner_is_dead(row.owner):
            raise RequestInProgress(_IN_PROGRESS)
        return None

    def begin(self, s: Session, owner: str, key: str, method: str, path: str, digest: str,
              *, principal: str) -> Stored | None:  # fmt: skip
        """Reserve the key for ``owner`` in the caller's transaction (or take over a lapsed
        reservation), or return the stored response of the first request."""
        conn = s.connection()
        now = self.clock.now()
        values = {"principal": principal, "key": key, "method": method, "path": path[:500],
                  "request_hash": digest, "created_at": now, "owner": owner,
                  "lease_until": now + self.lease}  # fmt: skip
        if conn.execute(self._reserve, values).rowcount:
            return None
        row = conn.execute(_SELECT, {"p": principal, "k": key}).first()
        if row is None:  # released after a 5xx in between: try once more
            raise RequestInProgress(_IN_PROGRESS)
        if row.request_hash != digest:
            raise IdempotencyKeyReused(_REUSED)
        if row.status_code is not None:
            return Stored(row.status_code, bytes(row.response_body or b""),
                          row.content_type or "application/json")  # fmt: skip
        taken = conn.execute(_TAKE_OVER, {"p": principal, "k": key, "now": now, "me": owner,
                                          "until": now + self.lease, "was": row.owner,
                                          "dead": owner_is_dead(row.owner)})  # fmt: skip
        if taken.rowcount:
            return None  # its owner died (or could not release it): this request runs
        raise RequestInProgress(_IN_PROGRESS)

    def store(self, s: Session, owner: str, principal: str, key: str, stored: Stored) -> bool:
        """Write the answer in the command's transaction ``s``; False if the key is no longer
        this request's (its lease lapsed and a retry took it over): then roll ``s`` back."""
        values = {"status": stored.status, "body": stored.body,
                  "type": stored.content_type[:100]}  # fmt: skip
        done = s.connection().execute(_STORE, {"p": principal, "k": key, "me": owner, **values})
        return bool(done.rowcount)

    def renew(self, owner: str, principal: str, key: str) -> None:
        """Extend the lease, in a transaction of its own (not the request's)."""
        with self.db.engine.begin() as conn:
            until = self.clock.now() + self.lease
            conn.execute(_RENEW, {"p": principal, "k": key, "me": owner, "until": until})

    def release(self, owner: str, principal: str, key: str) -> None:
        """Forget an unanswered reservation, so that a retry runs at once (if this fails, the
        lease lapses and a retry takes the key over then)."""
        with self.db.engine.begin() as conn:
            conn.execute(_RELEASE, {"p": principal, "k": key, "me": owner})
