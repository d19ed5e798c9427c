"""Sign-in: user name and password (JSON or form) → a bearer token; who am I."""

from __future__ import annotations

import json
from typing import Any

import anyio
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import JSON_OR_FORM, PREFIX, PrincipalDep, StateDep, media_type
from api.errors import MalformedRequest
from api.schemas import PrincipalOut, TokenIn, TokenOut
from api.threads import sign_in_limiter

router = APIRouter(prefix=PREFIX, tags=["auth"])

_TOKEN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": TokenIn.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": TokenIn.model_json_schema()},
        },
    }
}


async def _credentials(request: Request) -> TokenIn:
    raw: Any
    if media_type(request) == "application/x-www-form-urlencoded":
        form = await request.form()
        raw = {k: v for k, v in form.items() if isinstance(v, str)}
    else:
        try:
            raw = json.loads(await request.body() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise MalformedRequest("the body is not valid JSON") from None
    try:
        return TokenIn.model_validate(raw)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_context=False)]
        ) from None


@router.post(
    "/auth/token", response_model=TokenOut, dependencies=[JSON_OR_FORM], openapi_extra=_TOKEN_BODY
)
async def token(request: Request, state: StateDep) -> TokenOut:
    """Sign in with a user name and password; answers a bearer token (JWT)."""
    creds = await _credentials(request)
    principal = await anyio.to_thread.run_sync(
        state.access.authenticate, creds.username, creds.password, limiter=sign_in_limiter()
    )
    issued = state.access.issue(principal)
    return TokenOut(
        access_token=issued.access_token,
        expires_in=issued.expires_in,
        expires_at=issued.expires_at,
    )


@router.get("/auth/me", response_model=PrincipalOut)
def me(principal: PrincipalDep) -> PrincipalOut:
    """The signed-in user and the roles they hold in which units."""
    return PrincipalOut.model_validate(principal)
