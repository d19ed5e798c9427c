"""Errors → RFC 9457 problem details (``application/problem+json``), in one place.

Every error class carries its stable ``code``, its HTTP ``status`` and whether a retry can help
(engine/errors.py draws the tree); the few errors that exist only at the HTTP edge (size, media
type, idempotency) join the same tree here.
Nothing a client sends gives a 500: an unexpected exception is logged and answered with a bare
500 problem that reveals nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import BihuanError, Conflict, InputInvalid
from engine.jsondata import printable
from engine.storage import storage_fault

log = logging.getLogger("bihuan.api")
PROBLEM_JSON = "application/problem+json"


class MalformedRequest(BihuanError):
    """The body is not valid JSON."""

    code = "malformed_request"
    status = 400


class RequestInvalid(BihuanError):
    """The request does not match the operation's parameters or body model."""

    code = "invalid_request"
    status = 422


class PayloadTooLarge(BihuanError):
    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(BihuanError):
    code = "unsupported_media_type"
    status = 415


class IdempotencyKeyReused(BihuanError):
    """The key was used before with another request."""

    code = "idempotency_key_reused"
    status = 422


class RequestInProgress(Conflict):
    """The first request with this key is still running."""

    code = "request_in_progress"
    retryable = True
    retry_after = 1


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


RESERVED = frozenset({"type", "title", "status", "detail", "code", "instance", "context"})


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    extra: dict[str, Any] | None = None,
    retry_after: int | None = None,
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
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse(
        _printable(body), status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


def _printable(value: Any) -> Any:
    """A problem echoes what the client sent (a field, a key): lone surrogates are shown as
    escapes, so that the answer can always be encoded."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value


def problem_for(exc: BihuanError, instance: str | None = None) -> JSONResponse:
    data = exc.to_dict()
    data.pop("code", None)
    data.pop("message", None)
    return problem(exc.status, exc.code, exc.message.split("\n")[0], instance=instance,
                   extra=data, retry_after=exc.retry_after)  # fmt: skip


def storage_problem(exc: BaseException, instance: str | None = None) -> JSONResponse | None:
    """The 503 (or 409 ``busy``) with ``Retry-After`` for a storage fault, else None. For the
    layers outside the routes' handlers (middleware, streams) as well as for the handlers."""
    fault = storage_fault(exc)
    if fault is None:
        return None
    log.error("database error on %s: %s", instance, exc)
    return problem_for(fault, instance)


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
            return problem_for(MalformedRequest("the body is not valid JSON"), request.url.path)
        return problem_for(
            RequestInvalid("the request is invalid", errors=errors), request.url.path
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        response = problem(exc.status_code, code, str(exc.detail), instance=request.url.path)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    async def on_database_error(request: Request, exc: Exception) -> JSONResponse:
        answer = storage_problem(exc, request.url.path)
        return answer if answer is not None else await on_unexpected(request, exc)

    async def on_bad_value(request: Request, exc: Exception) -> JSONResponse:
        log.warning("the database refused a value on %s: %s", request.url.path, exc)
        refused = InputInvalid(
            "a value was refused by the database (out of range, or a character it cannot store)"
        )
        return problem_for(refused, request.url.path)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Also the handler of errors raised outside the routes (middleware): a storage fault
        # there is still a 503, never a 500.
        answer = storage_problem(exc, request.url.path)
        if answer is not None:
            return answer
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "an unexpected error occurred",
                       instance=request.url.path)  # fmt: skip

    app.add_exception_handler(BihuanError, on_engine_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(SQLAlchemyError, on_database_error)
    app.add_exception_handler(DataError, on_bad_value)
    app.add_exception_handler(Exception, on_unexpected)


#: Problem responses added to every operation in the OpenAPI document.
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 413, 415, 422, 503)
