"""The edge of every request: no NUL characters in the URL (422), and the size limit (413):
before the body is read when Content-Length says so, and while it streams when it does not
(chunked uploads are counted as they arrive). Then a JSON body's values (422 naming the path of
the first value no database stores exactly: ``engine.jsondata``), before any route parses it."""

from __future__ import annotations

from email.message import Message as MediaType

from api.errors import PayloadTooLarge, RequestInvalid, problem_for
from api.metrics import ASGIApp, Message, Receive, Scope, Send
from engine.jsondata import scan_json


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, upload_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = max(upload_bytes or max_bytes, max_bytes)

    def limit_for(self, scope: Scope) -> int:
        """Evidence uploads (``POST …/attachments``) have their own, larger limit."""
        path = str(scope.get("path", ""))
        if scope.get("method") == "POST" and path.endswith("/attachments"):
            return self.upload_bytes
        return self.max_bytes

    def _refuse(self, scope: Scope) -> ASGIApp:
        limit = self.limit_for(scope)
        too_large = PayloadTooLarge(f"the request body exceeds {limit} bytes", limit=limit)
        return problem_for(too_large, str(scope.get("path", "")))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = bytes(scope.get("raw_path") or b"") + b"?" + bytes(scope.get("query_string", b""))
        if b"%00" in raw or b"\x00" in raw or "\x00" in str(scope.get("path", "")):
            nul = RequestInvalid("the URL must not contain NUL characters")
            await problem_for(nul, str(scope.get("path", "")))(scope, receive, send)
            return
        limit = self.limit_for(scope)
        for key, value in scope.get("headers", []):
            if bytes(key).lower() == b"content-length":
                try:
                    declared = int(bytes(value))
                except ValueError:
                    declared = 0
                if declared > limit:
                    await self._refuse(scope)(scope, receive, send)
                    return
        received = 0
        tripped = False
        started = False

        async def limited() -> Message:
            nonlocal received, tripped
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    tripped = True
                    raise _TooLarge
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if tripped:
                return  # whatever the app answers to the aborted read, the answer is 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, guarded)
        except Exception:
            if not tripped:
                raise
        if tripped and not started:
            await self._refuse(scope)(scope, receive, send)


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body; None when the client disconnects before it is sent."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = bool(message.get("more_body", False))
    return b"".join(chunks)


def replaying(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body already read, then whatever comes next."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _is_json(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if bytes(key).lower() == b"content-type":
            media = MediaType()
            media["content-type"] = bytes(value).decode("latin-1")
            kind = media.get_content_type()
            return kind == "application/json" or kind.endswith("+json")
    return False


class JsonValuesMiddleware:
    """Refuse a JSON body holding NaN, Infinity, a number beyond 64 bits, a lone surrogate or a
    NUL character (in a value or a key), or nested deeper than ``engine.jsondata.MAX_DEPTH``:
    422 ``invalid_request`` with ``errors: [{path, message}]`` — every route, whatever its model
    (``dict[str, Any]`` fields included), before the route parses the body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        if not _is_json(scope):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        if body is None:
            return  # the client went away
        found = scan_json(body) if body else []
        if found:
            refused = RequestInvalid(
                f"the request is invalid: {found[0].message}",
                errors=[{"path": "/body" + p.path.rstrip("/"), "message": p.message}
                        for p in found],
            )  # fmt: skip
            await problem_for(refused, str(scope.get("path", "")))(scope, receive, send)
            return
        await self.app(scope, replaying(body, receive), send)
