"""The edge of every request: no NUL characters in the URL (422), and the size limit (413):
before the body is read when Content-Length says so, and while it streams when it does not
(chunked uploads are counted as they arrive)."""

from __future__ import annotations

from api.errors import PayloadTooLarge, RequestInvalid, problem_for
from api.metrics import ASGIApp, Message, Receive, Scope, Send


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
