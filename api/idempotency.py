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
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from api.errors import IdempotencyKeyReused, RequestInProgress, problem, problem_for
from api.metrics import ASGIApp, Message, Receive, Scope, Send
from engine.access import Access, AuthenticationFailed
from engine.clock import Clock
from engine.errors import BihuanError
from engine.storage.database import Database
from engine.storage.models import IdempotencyRecord

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


class IdempotencyStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def begin(self, principal: str, key: str, method: str, path: str, digest: str) -> Stored | None:
        """Reserve the key, or return the stored response of the first request."""
        now: datetime = self.clock.now()
        try:
            with self.db.session() as s:
                record = IdempotencyRecord(
                    principal=principal,
                    key=key,
                    method=method,
                    path=path[:500],
                    request_hash=digest,
                    created_at=now,
                )
                s.add(record)
                s.flush()
            return None
        except IntegrityError:
            pass
        with self.db.session() as s:
            row = s.scalar(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
                )
            )
            if row is None:  # removed after a 5xx in between: try once more
                raise RequestInProgress("the first request with this key is still running")
            if row.request_hash != digest:
                raise IdempotencyKeyReused(
                    "该幂等键已用于另一个请求 "
                    "(this Idempotency-Key was used for a different request)"
                )
            if row.status_code is None:
                raise RequestInProgress(
                    "使用该幂等键的请求仍在处理中 "
                    "(the first request with this key is still running)"
                )
            return Stored(row.status_code, bytes(row.response_body or b""),
                          row.content_type or "application/json")  # fmt: skip

    def finish(self, principal: str, key: str, stored: Stored | None) -> None:
        with self.db.session() as s:
            row = s.get(IdempotencyRecord, (principal, key))
            if row is None:
                return
            if stored is None:
                s.execute(
                    delete(IdempotencyRecord).where(
                        IdempotencyRecord.principal == principal, IdempotencyRecord.key == key
                    )
                )
                return
            row.status_code = stored.status
            row.response_body = stored.body
            row.content_type = stored.content_type[:100]


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
        if not 1 <= len(key) <= MAX_KEY:
            await problem(422, "invalid_request", f"Idempotency-Key must be 1–{MAX_KEY} characters",
                          instance=path)(scope, receive, send)  # fmt: skip
            return
        authorization = _header(scope, b"authorization") or ""
        token = authorization[7:] if authorization.lower().startswith("bearer ") else ""
        try:
            principal = (await anyio.to_thread.run_sync(self.access.verify, token)).user_id
        except AuthenticationFailed:
            await self.app(scope, receive, send)  # the route answers 401
            return
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
        try:
            stored = await anyio.to_thread.run_sync(
                self.store.begin, principal, key, "POST", path, digest
            )
        except BihuanError as exc:
            await problem_for(exc, path)(scope, receive, send)
            return
        if stored is not None:
            await send({"type": "http.response.start", "status": stored.status, "headers": [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replayed", b"true"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": stored.body})
            return

        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

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
            await self.app(scope, replay, capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self.store.finish, principal, key, None)
            raise
        result = Stored(status[0], b"".join(out), content_type[0]) if status[0] < 500 else None
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.store.finish, principal, key, result)
