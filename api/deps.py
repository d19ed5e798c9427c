"""Typed dependencies: the app's state, a read session, the caller, the time, media types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.errors import UnsupportedMediaType
from api.metrics import Metrics
from engine.access import Access, AuthenticationFailed, MessagePolicy, Principal
from engine.clock import Clock
from engine.evidence import Evidence
from engine.runtime import Engine
from engine.settings import Settings

PREFIX = "/api/v1"


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    access: Access
    clock: Clock
    metrics: Metrics
    evidence: Evidence
    sse_poll_seconds: float = 1.0
    sse_heartbeat_seconds: float = 15.0
    #: who may send which message (Settings.messages_file; engine-only names refused)
    messages: MessagePolicy = field(default_factory=MessagePolicy)


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.bihuan
    return state


StateDep = Annotated[AppState, Depends(get_state)]


async def get_engine(state: StateDep) -> Engine:
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_session(state: StateDep) -> Iterator[Session]:
    """A short read transaction (commands open their own, inside the engine)."""
    with state.engine.db.session() as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


def get_write_session(state: StateDep) -> Iterator[Session]:
    """A transaction that writes even on a GET (a report bringing its facts up to date):
    on SQLite it takes the write lock at once instead of a read snapshot it cannot upgrade."""
    with state.engine.db.session(reading=False) as s:
        yield s


WriteSessionDep = Annotated[Session, Depends(get_write_session)]


async def get_now(state: StateDep) -> datetime:
    return state.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/auth/token")


_PRINCIPAL = "bihuan.principal"


def remember_principal(scope: MutableMapping[str, Any], token: str, principal: Principal) -> None:
    """Keep the caller an outer layer (the idempotency middleware) already read from the
    database for this request, so that the route does not read it again."""
    scope.setdefault("state", {})[_PRINCIPAL] = (token, principal)


async def current_principal(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, read fresh from the database once per request (roles, active flag)."""
    token = _token(credentials)
    known = _known(request, token)
    if known is not None:
        return known
    return await run_in_threadpool(state.access.verify, token)


def _token(credentials: HTTPAuthorizationCredentials | None) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("请先登录 (sign in: send Authorization: Bearer <token>)")
    return credentials.credentials


def _known(request: Request, token: str) -> Principal | None:
    """The caller an outer layer read for this very token, if any."""
    known = request.scope.get("state", {}).get(_PRINCIPAL)
    if known is not None and known[0] == token:
        principal: Principal = known[1]
        return principal
    return None


PrincipalDep = Annotated[Principal, Depends(current_principal)]


@dataclass
class Caller:
    """The bearer of a valid token, whose principal (roles, active flag) is read fresh in the
    first transaction the route opens anyway — one statement, not a transaction of its own."""

    access: Access
    user_id: str
    known: Principal | None = None

    def principal(self, s: Session) -> Principal:
        if self.known is None:
            self.known = self.access.principal_in(s, self.user_id)
        return self.known


async def current_caller(
    request: Request,
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Like :func:`current_principal` (401 for a missing or invalid token, before anything
    else), but the principal is read by the route, in its own transaction."""
    token = _token(credentials)
    known = _known(request, token)
    if known is not None:
        return Caller(state.access, known.user_id, known)
    if state.access.jwks is None:  # a signed token of ours: checked in memory
        return Caller(state.access, state.access.subject(token))
    return Caller(state.access, await run_in_threadpool(state.access.subject, token))


CallerDep = Annotated[Caller, Depends(current_caller)]


def media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    if not value:
        return None
    msg = Message()
    msg["content-type"] = value
    return msg.get_content_type()


def accepts(*types: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing a body of any other media type with 415 (no body: anything goes);
    a JSON body's values were checked before (``api.limits.JsonValuesMiddleware``)."""

    async def check(request: Request) -> None:
        has_body = request.headers.get("content-length", "0") != "0" or (
            "transfer-encoding" in request.headers
        )
        if not has_body:
            return
        media = media_type(request)
        if media not in types:
            raise UnsupportedMediaType(
                f"expected {' or '.join(types)}, got {media or 'no Content-Type'}",
                accepted=list(types),
            )

    return check


JSON = Depends(accepts("application/json"))
MULTIPART = Depends(accepts("multipart/form-data"))
JSON_OR_FORM = Depends(accepts("application/json", "application/x-www-form-urlencoded"))
