"""Typed dependencies: the app's state, a read session, the caller, the time, media types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.errors import UnsupportedMediaType
from api.metrics import Metrics
from engine.access import Access, AuthenticationFailed, Principal
from engine.clock import Clock
from engine.errors import InputInvalid
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
    sse_poll_seconds: float = 1.0
    sse_heartbeat_seconds: float = 15.0


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.bihuan
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_engine(state: StateDep) -> Engine:
    return state.engine


EngineDep = Annotated[Engine, Depends(get_engine)]


def get_session(state: StateDep) -> Iterator[Session]:
    """A short read transaction (commands open their own, inside the engine)."""
    with state.engine.db.session() as s:
        yield s


SessionDep = Annotated[Session, Depends(get_session)]


def get_now(state: StateDep) -> datetime:
    return state.clock.now()


NowDep = Annotated[datetime, Depends(get_now)]

_bearer = HTTPBearer(auto_error=False, description="a token from POST /api/v1/auth/token")


def current_principal(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationFailed("请先登录 (sign in: send Authorization: Bearer <token>)")
    return state.access.verify(credentials.credentials)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def media_type(request: Request) -> str | None:
    value = request.headers.get("content-type")
    if not value:
        return None
    msg = Message()
    msg["content-type"] = value
    return msg.get_content_type()


def accepts(*types: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing a body of any other media type with 415 (no body: anything goes),
    and JSON holding a NUL character (no database column can store one) with 422."""

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
        if media == "application/json" and b"\\u0000" in await request.body():
            raise InputInvalid("text must not contain NUL characters (\\u0000)")

    return check


JSON = Depends(accepts("application/json"))
MULTIPART = Depends(accepts("multipart/form-data"))
JSON_OR_FORM = Depends(accepts("application/json", "application/x-www-form-urlencoded"))
