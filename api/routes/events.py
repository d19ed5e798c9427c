"""``GET /events``: server-sent events of the task and case changes the caller may see."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import PREFIX, StateDep
from api.sse import StreamOptions, stream
from engine.access import AuthenticationFailed, Principal

router = APIRouter(prefix=PREFIX, tags=["events"])
_bearer = HTTPBearer(auto_error=False)


def stream_principal(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    access_token: Annotated[
        str | None, Query(description="for EventSource, which cannot send headers")
    ] = None,
) -> Principal:
    token = credentials.credentials if credentials is not None else access_token
    if not token:
        raise AuthenticationFailed("请先登录 (sign in: send Authorization: Bearer <token>)")
    return state.access.verify(token)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}}},
)
def events(
    state: StateDep,
    principal: Annotated[Principal, Depends(stream_principal)],
    last_event_id_header: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=2**62)
    ] = None,
    last_event_id: Annotated[int | None, Query(ge=0, le=2**62)] = None,
    until: Literal["caught_up"] | None = None,
    max_events: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> StreamingResponse:
    """Each event: ``id`` (resume with ``Last-Event-ID``), ``event`` (``task`` | ``case``) and a
    JSON ``data`` line. ``until=caught_up`` ends the stream when nothing newer is left."""
    options = StreamOptions(
        after=last_event_id_header if last_event_id_header is not None else last_event_id,
        until_caught_up=until == "caught_up",
        max_events=max_events,
        poll_seconds=state.sse_poll_seconds,
        heartbeat_seconds=state.sse_heartbeat_seconds,
    )
    return StreamingResponse(
        stream(state.engine.db, principal, options),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
