"""``Idempotency-Key`` on POST: a retry returns the first response and changes nothing.

    first request    a row (principal, key) is inserted *before* the command runs; its primary
                     key is the lock, so two concurrent attempts cannot both run
    completed        the response (status, body, type) is stored on the row; 5xx answers are not
                     kept (the row is removed) so that a retry may try again
    retry            same principal, key and request → the stored response, with
                     ``Idempotent-Replayed: true``; still running → 409 ``request_in_progress``
    reuse            same key, different method, path or body → 422 ``idempotency_key_reused``

The engine's commands commit in their own transactions, so the response is stored just after
the command's commit: a crash between the two leaves the row "in progress" and retries answer
409 rather than run the command twice. Multipart bodies are compared without their boundary, so a
client that re-encodes the same files still matches. Sign-in is not covered (tokens are not kept).

Cost: the caller (read from the database, as on every request) and the reservation share one
transaction — one statement each, an ``INSERT … ON CONFLICT DO NOTHING`` — and the caller is
handed to the route (:func:`api.deps.remember_principal`), which does not read it again; storing
the response is one ``UPDATE`` — in the route's own last transaction when it has one
(:class:`Reservation`, the task commands that answer with a fresh read of the task), else in a
transaction of its own after the route.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import anyio
from sqlalchemy import Insert, bindparam, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response

from api.deps import remember_principal
from api.errors import IdempotencyKeyReused, RequestInProgress, RequestInvalid, problem_for
from api.limits import replaying
from api.metrics import ASGIApp, Message, Receive, Scope, Send
from engine.access import Access, AuthenticationFailed, Principal
from engine.clock import Clock
from engine.errors import BihuanError
from engine.storage import Database, IdempotencyRecord

HEADER = b"idempotency-key"
MAX_KEY = 200
EXEMPT_SUFFIXES = ("/auth/token",)


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
_WHERE = (_TABLE.c.principal == bindparam("p"), _TABLE.c.key == bindparam("k"))
_SELECT = select(_TABLE.c.request_hash, _TABLE.c.status_code, _TABLE.c.response_body,
                 _TABLE.c.content_type).where(*_WHERE)  # fmt: skip
_STORE = (
    update(_TABLE)
    .where(*_WHERE)
    .values(
        status_code=bindparam("status"),
        response_body=bindparam("body"),
        content_type=bindparam("type"),
    )
)
_FORGET = delete(_TABLE).where(*_WHERE)


def _reserve_statement(dialect: str) -> Insert:
    """``INSERT … ON CONFLICT DO NOTHING``: a retry finds the row without an aborted insert."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt: Insert = insert(_TABLE).on_conflict_do_nothing(index_elements=["principal", "key"])
    return stmt.execution_options(preserve_rowcount=True)  # 0: the key was there


class IdempotencyStore:
    """The reservation and the stored response: one statement each (plus a read on a retry)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self._reserve = _reserve_statement(db.dialect)

    def begin(
        self, s: Session, principal: str, key: str, method: str, path: str, digest: str
    ) -> Stored | None:
        """Reserve the key in the caller's transaction, or return the stored response of the
        first request."""
        conn = s.connection()
        values = {"principal": principal, "key": key, "method": method, "path": path[:500],
                  "request_hash": digest, "created_at": self.clock.now()}  # fmt: skip
        if conn.execute(self._reserve, values).rowcount:
            return None
        row = conn.execute(_SELECT, {"p": principal, "k": key}).first()
        if row is None:  # removed after a 5xx in between: try once more
            raise RequestInProgress("the first request with this key is still running")
        if row.request_hash != digest:
            raise IdempotencyKeyReused(
                "该幂等键已用于另一个请求 (this Idempotency-Key was used for a different request)"
            )
        if row.status_code is None:
            raise RequestInProgress(
                "使用该幂等键的请求仍在处理中 (the first request with this key is still running)"
            )
        return Stored(row.status_code, bytes(row.response_body or b""),
                      row.content_type or "application/json")  # fmt: skip

    def finish(self, principal: str, key: str, stored: Stored | None) -> None:
        """Store the response on the reservation (or forget the reservation: ``None``)."""
        with self.db.engine.begin() as conn:
            if stored is None:
                conn.execute(_FORGET, {"p": principal, "k": key})
            else:
                values = {"status": stored.status, "body": stored.body,
                          "type": stored.content_type[:100]}  # fmt: skip
                conn.execute(_STORE, {"p": principal, "k": key, **values})


_RESERVATION = "bihuan.idempotency"


@dataclass
class Reservation:
    """The key a request reserved, handed to the route: a route that ends with a read of its
    own may store its response in that transaction (:meth:`store`), and the middleware then
    has nothing left to write."""

    principal: str
    key: str
    stored: Stored | None = None

    def store(self, s: Session, response: Response) -> None:
        if response.status_code >= 500:
            return
        body = bytes(response.body)
        kind = response.headers.get("content-type", "application/json")
        s.connection().execute(_STORE, {"p": self.principal, "k": self.key,
                                        "status": response.status_code, "body": body,
                                        "type": kind[:100]})  # fmt: skip
        self.stored = Stored(response.status_code, body, kind)


def reservation_of(request: Request) -> Reservation | None:
    """The request's reserved ``Idempotency-Key``, if it sent one."""
    found = request.scope.get("state", {}).get(_RESERVATION)
    return found if isinstance(found, Reservation) else None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, access: Access, store: IdempotencyStore) -> None:
        self.app = app
        self.access = access
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, HEADER) if scope["type"] == "http" else None
        path = str(scope.get("path", ""))
        if key is None or scope.get("method") != "POST" or path.endswith(EXEMPT_SUFFIXES):
            await self.app(scope, receive, send)
            return
        if not 1 <= len(key) <= MAX_KEY or any(ord(c) < 0x20 or c == "\x7f" for c in key):
            bad_key = RequestInvalid(
                f"Idempotency-Key must be 1–{MAX_KEY} characters, none of them a control "
                "character (NUL included: no database stores it)"
            )
            await problem_for(bad_key, path)(scope, receive, send)
            return
        authorization = _header(scope, b"authorization") or ""
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        digest = request_hash("POST", path, scope.get("query_string", b""),
                              _header(scope, b"content-type") or "", body)  # fmt: skip

        def reserve() -> tuple[Principal, Stored | None]:
            # the caller and the reservation in one transaction
            with self.store.db.session() as s:
                caller = self.access.verify_in(s, token)
                return caller, self.store.begin(s, caller.user_id, key, "POST", path, digest)

        try:
            who, stored = await anyio.to_thread.run_sync(reserve)
        except AuthenticationFailed:
            await self.app(scope, replaying(body, receive), send)  # the route answers 401
            return
        except BihuanError as exc:
            await problem_for(exc, path)(scope, receive, send)
            return
        principal = who.user_id
        remember_principal(scope, token, who)
        reservation = Reservation(principal, key)
        scope.setdefault("state", {})[_RESERVATION] = reservation
        if stored is not None:
            await send({"type": "http.response.start", "status": stored.status, "headers": [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replayed", b"true"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": stored.body})
            return

        status = [500]
        content_type = ["application/json"]
        out: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
                for k, v in message.get("headers", []):
                    if bytes(k).lower() == b"content-type":
                        content_type[0] = bytes(v).decode("latin-1")
            elif message["type"] == "http.response.body":
                out.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replaying(body, receive), capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.store.finish, principal, key, None)
            raise
        result = Stored(status[0], b"".join(out), content_type[0]) if status[0] < 500 else None
        if result is not None and result == reservation.stored:
            return  # the route stored exactly this answer in its last transaction
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.store.finish, principal, key, result)
