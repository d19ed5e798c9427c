"""Errors → RFC 9457 problem details (``application/problem+json``), in one place.

The engine's errors carry a stable ``code``; :data:`STATUS` maps each to an HTTP status. The few
errors that only exist at the HTTP edge (size, media type, idempotency) join the same tree.
Nothing a client sends gives a 500: an unexpected exception is logged and answered with a bare
500 problem that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.access import AuthenticationFailed
from engine.errors import BihuanError, Conflict

log = logging.getLogger("bihuan.api")
PROBLEM_JSON = "application/problem+json"


class PayloadTooLarge(BihuanError):
    code = "payload_too_large"


class UnsupportedMediaType(BihuanError):
    code = "unsupported_media_type"


class IdempotencyKeyReused(BihuanError):
    code = "idempotency_key_reused"


class RequestInProgress(Conflict):
    code = "request_in_progress"


class MalformedRequest(BihuanError):
    code = "malformed_request"


class NotReady(BihuanError):
    code = "not_ready"


STATUS: dict[str, int] = {
    "malformed_request": 400,
    AuthenticationFailed.code: 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "stale_version": 409,
    "already_claimed": 409,
    "task_not_open": 409,
    "deadline_passed": 409,
    "instance_not_active": 409,
    "no_message_waiting": 409,
    "duplicate_request": 409,
    "audit_chain_broken": 409,
    "request_in_progress": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "invalid_bundle": 422,
    "form_invalid": 422,
    "invalid_input": 422,
    "invalid_request": 422,
    "idempotency_key_reused": 422,
    "script_error": 422,
    "calendar_data_missing": 503,
    "storage_error": 503,
    "not_ready": 503,
}
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def status_of(exc: BihuanError) -> int:
    found = STATUS.get(exc.code)
    if found is not None:
        return found
    return 409 if isinstance(exc, Conflict) else 400


RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance", "context"})


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    """A problem response; members of ``extra`` that clash with RFC 9457's go under
    ``context``."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    context: dict[str, Any] = {}
    for key, value in (extra or {}).items():
        if value is None:
            continue
        if key in RESERVED:
            context[key] = value
        else:
            body[key] = value
    if context:
        body["context"] = context
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def problem_for(exc: BihuanError, instance: str | None = None) -> JSONResponse:
    data = exc.to_dict()
    data.pop("code", None)
    data.pop("message", None)
    return problem(
        status_of(exc), exc.code, exc.message.split("\n")[0], instance=instance, extra=data
    )


def install(app: FastAPI) -> None:
    """Register the handlers: engine errors, request validation, HTTP errors, the rest."""

    async def on_engine_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BihuanError)
        return problem_for(exc, request.url.path)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = []
        malformed = False
        for err in exc.errors():
            malformed = malformed or err.get("type") == "json_invalid"
            loc = [str(p) for p in err.get("loc", ())]
            errors.append({"path": "/" + "/".join(loc), "message": str(err.get("msg", ""))})
        if malformed:
            return problem(400, "malformed_request", "the body is not valid JSON",
                           instance=request.url.path)  # fmt: skip
        return problem(422, "invalid_request", "the request is invalid",
                       instance=request.url.path, extra={"errors": errors})  # fmt: skip

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail), instance=request.url.path)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
        log.error("database error on %s: %s", request.url.path, exc)
        return problem(503, "storage_error", "the database is unavailable; retry later",
                       instance=request.url.path)  # fmt: skip

    async def on_bad_value(request: Request, exc: Exception) -> JSONResponse:
        log.warning("the database refused a value on %s: %s", request.url.path, exc)
        return problem(422, "invalid_input", "a value was refused by the database "
                       "(out of range, or a character it cannot store)",
                       instance=request.url.path)  # fmt: skip

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "an unexpected error occurred",
                       instance=request.url.path)  # fmt: skip

    app.add_exception_handler(BihuanError, on_engine_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(OperationalError, on_database_down)
    app.add_exception_handler(DataError, on_bad_value)
    app.add_exception_handler(Exception, on_unexpected)


#: Problem responses added to every operation in the OpenAPI document.
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 503)
