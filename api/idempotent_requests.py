"""The ``Idempotency-Key`` middleware: reserve the key, run the route in one transaction with
its answer, send the answer only once it is committed (api/idempotency.py tells the rules)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import anyio
from sqlalchemy.orm import Session

from api.deps import remember_principal
from api.errors import RequestInProgress, RequestInvalid, problem_for, storage_problem
from api.idempotency import IdempotencyStore, Stored, new_owner, request_hash
from api.limits import read_body, replaying
from api.metrics import ASGIApp, Message, Receive, Scope, Send
from engine.access import Access, AuthenticationFailed, Principal
from engine.errors import BihuanError

log = logging.getLogger("bihuan.api")
HEADER = b"idempotency-key"
MAX_KEY = 200
EXEMPT_SUFFIXES = ("/auth/token",)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


class _Heartbeat:
    """Renews the request's lease every ``every`` seconds on a thread of its own, until
    stopped; a failed renewal is logged (the lease then lapses, which is safe)."""

    def __init__(self, renew: Callable[[], None], every: float) -> None:
        self._stop = threading.Event()
        self._renew = renew
        self._every = every
        self._thread = threading.Thread(target=self._run, name="idempotency-lease", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                self._renew()
            except Exception as exc:  # an outage: the lease lapses, a retry may take over
                log.warning("could not renew an idempotency lease: %s", exc)

    def stop(self) -> None:
        self._stop.set()


class _Answer:
    """The route's response, held back until its transaction has committed."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.status = 500
        self.content_type = "application/json"
        self.retry_later = False

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            for k, v in message.get("headers", []):
                name = bytes(k).lower()
                if name == b"content-type":
                    self.content_type = bytes(v).decode("latin-1")
                self.retry_later = self.retry_later or name == b"retry-after"
        self.messages.append(message)

    def stored(self) -> Stored | None:
        """What a retry replays; None for an answer that says "try again" (5xx, Retry-After)."""
        if self.status >= 500 or self.retry_later:
            return None
        body = b"".join(m.get("body", b"") for m in self.messages if m["type"] != "http."
                        "response.start")  # fmt: skip
        return Stored(self.status, body, self.content_type)

    async def send(self, send: Send) -> None:
        for message in self.messages:
            await send(message)


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
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        digest = request_hash("POST", path, scope.get("query_string", b""),
                              _header(scope, b"content-type") or "", body)  # fmt: skip
        owner = new_owner()

        def reserve() -> tuple[Principal, Stored | None]:
            # the caller and a look at the key in a read; the reservation (a write) if free
            with self.store.db.session(reading=True) as s:
                caller = self.access.verify_in(s, token)
                found = self.store.look(s, caller.user_id, key, digest)
            if found is not None:
                return caller, found
            with self.store.db.session(reading=False) as s:
                found = self.store.begin(s, owner, key, "POST", path, digest,
                                         principal=caller.user_id)  # fmt: skip
                return caller, found

        try:
            who, stored = await anyio.to_thread.run_sync(reserve)
        except AuthenticationFailed:
            await self.app(scope, replaying(body, receive), send)  # the route answers 401
            return
        except BihuanError as exc:
            await problem_for(exc, path)(scope, receive, send)
            return
        except Exception as exc:
            answer = storage_problem(exc, path)
            if answer is None:
                raise
            await answer(scope, receive, send)
            return
        remember_principal(scope, token, who)
        if stored is not None:
            await send({"type": "http.response.start", "status": stored.status, "headers": [
                (b"content-type", stored.content_type.encode("latin-1")),
                (b"content-length", str(len(stored.body)).encode()),
                (b"idempotent-replayed", b"true"),
            ]})  # fmt: skip
            await send({"type": "http.response.body", "body": stored.body})
            return
        await self._run(scope, replaying(body, receive), send, owner, who.user_id, key)

    async def _run(self, scope: Scope, receive: Receive, send: Send, owner: str,
                   principal: str, key: str) -> None:  # fmt: skip
        """The route inside one transaction with its answer; the answer sent once committed."""
        db = self.store.db
        unit = db.new_session()
        joined = db.join(unit)
        beat = (_Heartbeat(lambda: self.store.renew(owner, principal, key),
                           self.store.renew_every) if self.store.renews else None)  # fmt: skip
        answer = _Answer()
        deferred: list[Callable[[], None]] = []
        try:
            await anyio.to_thread.run_sync(unit.connection)  # SQLite: the write lock from here
            await self.app(scope, receive, answer.capture)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._abandon, unit, owner, principal, key)
            raise
        finally:
            deferred = db.leave(joined)
            if beat is not None:
                beat.stop()
        path = str(scope.get("path", ""))
        stored = answer.stored()
        with anyio.CancelScope(shield=True):
            try:
                if stored is None:
                    await anyio.to_thread.run_sync(self._abandon, unit, owner, principal, key)
                else:
                    kept = await anyio.to_thread.run_sync(
                        self._commit, unit, owner, principal, key, stored
                    )
                    for action in deferred if kept else ():
                        action()  # what the commands kept for after their commit (caches)
                    if not kept:
                        await problem_for(RequestInProgress(_TAKEN), path)(scope, receive, send)
                        return
            except Exception as exc:  # the commit failed: committed or not, a retry will know
                failed = storage_problem(exc, path)
                if failed is None:
                    raise
                await failed(scope, receive, send)
                return
        await answer.send(send)

    def _commit(self, unit: Session, owner: str, principal: str, key: str, stored: Stored) -> bool:
        try:
            if not self.store.store(unit, owner, principal, key, stored):
                unit.rollback()  # a retry took the key over: its run is the one that counts
                return False
            unit.commit()
            return True
        finally:
            unit.close()

    def _abandon(self, unit: Session, owner: str, principal: str, key: str) -> None:
        """Roll the request's work back and release its key (best effort: else it lapses)."""
        try:
            unit.rollback()
            unit.close()
        except Exception as exc:
            log.warning("could not roll back a keyed request: %s", exc)
        try:
            self.store.release(owner, principal, key)
        except Exception as exc:
            log.warning("could not release an idempotency key (its lease will lapse): %s", exc)


_TAKEN = (
    "该请求耗时过长，已由重试接手 (this request outlived its lease and a retry took it over; "
    "retry to get that answer)"
)
