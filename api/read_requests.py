"""GET and HEAD requests only read: their transactions are deferred (SQLite), so that readers —
an abandoned export, hundreds of event streams — never hold or wait for the write lock."""

from __future__ import annotations

from api.metrics import ASGIApp, Receive, Scope, Send
from engine.storage import Database

READ_METHODS = frozenset({"GET", "HEAD"})


class ReadRequestsMiddleware:
    def __init__(self, app: ASGIApp, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") not in READ_METHODS:
            await self.app(scope, receive, send)
            return
        with self.db.reading():
            await self.app(scope, receive, send)
