"""The HTTP API: ``create_app(settings)`` builds everything; nothing happens at import time.

    request → metrics (count, time) → body limit (413) → reads (GET: deferred transactions)
            → JSON values (422) → idempotency (replay; the keyed command and its answer in one
            transaction) → routes
    routes:  parse → authorise (engine.access) → call the engine → answer a schema

``serve(settings)`` runs uvicorn with ``settings.workers`` workers on the factory
``api.app:app_from_env``; every worker builds its own engine from the environment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from api import errors
from api.deps import PREFIX, AppState
from api.idempotency import IdempotencyStore
from api.idempotent_requests import IdempotencyMiddleware
from api.limits import BodyLimitMiddleware, JsonValuesMiddleware
from api.metrics import Metrics, MetricsMiddleware
from api.read_requests import ReadRequestsMiddleware
from api.routes import (
    admin_calendar,
    audit,
    auth,
    cases,
    definitions,
    directory,
    events,
    evidence,
    messages,
    notices,
    ops,
    reports,
    supervision,
    tasks,
    users,
)
from api.routes.pages import console_router, docs_router
from api.schemas import Problem
from api.serving import die_with_parent
from api.threads import limit_threads
from engine.access import Access, JwksCache, load_message_policy
from engine.bootstrap import build_engine, build_evidence
from engine.clock import Clock
from engine.runtime import Engine
from engine.scheduler import start_in_background
from engine.settings import Settings

VERSION = "1.0.0"


class UnsafeSecret(RuntimeError):
    pass


def create_app(
    settings: Settings,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    jwks: JwksCache | None = None,
    sse_poll_seconds: float = 1.0,
    sse_heartbeat_seconds: float = 15.0,
) -> FastAPI:
    """Build the app. Pass ``engine`` (and ``clock``) to share them with tests or the CLI."""
    engine = engine or build_engine(settings, clock=clock)
    clock = clock or engine.clock
    access = Access(engine.db, settings, clock=clock, jwks=jwks)
    metrics = Metrics()
    db = engine.db

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        limit_threads(db)  # as many request threads as pooled connections (api/threads.py)
        yield

    app = FastAPI(
        title="bihuan API",
        version=VERSION,
        description="Thin JSON API over the bihuan case engine (闭环). See docs/api.md.",
        openapi_url="/openapi.json",
        docs_url=None,  # served from local files by api.routes.pages (no CDN)
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.bihuan = AppState(
        settings=settings,
        engine=engine,
        access=access,
        clock=clock,
        metrics=metrics,
        evidence=build_evidence(settings, engine.db, clock),
        sse_poll_seconds=sse_poll_seconds,
        sse_heartbeat_seconds=sse_heartbeat_seconds,
        messages=load_message_policy(settings.messages_file, engine.engine_messages),
    )
    errors.install(app)
    modules = (auth, definitions, cases, evidence, tasks, messages, events, users, directory, ops,
               audit, reports)  # fmt: skip
    for module in modules:
        app.include_router(module.router)
    app.include_router(supervision.router)
    app.include_router(notices.router)
    app.include_router(admin_calendar.router)
    app.include_router(docs_router())
    app.include_router(console_router(settings.console_dir))  # last: it answers /{file}
    # Added innermost first: the last one added is the outermost.
    app.add_middleware(
        IdempotencyMiddleware,
        access=access,
        store=IdempotencyStore(engine.db, clock, lease_seconds=settings.idempotency_lease_seconds),
    )
    app.add_middleware(JsonValuesMiddleware)  # after the size limit, before idempotency
    app.add_middleware(ReadRequestsMiddleware, db=engine.db)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        # an upload of evidence may be larger: its own limit, plus the multipart envelope
        upload_bytes=settings.evidence_max_bytes + 64 * 1024,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if settings.cors_origins:  # off by default; outermost, so a preflight is answered first
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=["Content-Disposition", "Location", "Retry-After"],
            max_age=600,
        )
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document, with the problem responses every operation can give."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description,
                      routes=app.routes)  # fmt: skip
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in problem_schema.pop("$defs", {}).items():
        schemas[name] = sub
    schemas["Problem"] = problem_schema
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)  # FastAPI's own validation body: ours is a problem
            wanted = set(errors.PROBLEM_STATUSES)
            if method != "post":
                wanted -= {413, 415}
            if path.startswith(("/healthz", "/readyz", "/metrics")):
                wanted = {503} if path.startswith("/readyz") else set()
            for status in sorted(wanted):
                key = str(status)
                if key in responses and status != 503:
                    continue
                title = errors.TITLES.get(status, "Error")
                content = {"application/problem+json": {"schema": ref}}
                if key in responses:
                    responses[key].setdefault("content", {}).update(content)
                else:
                    responses[key] = {"description": title, "content": content}
            if path.startswith(PREFIX + "/") and not path.endswith("/auth/token"):
                operation.setdefault("security", [{"HTTPBearer": []}])
    app.openapi_schema = doc
    return doc


def app_from_env() -> FastAPI:
    """The uvicorn factory: settings from ``BIHUAN_*`` variables, a fresh engine per worker.

    Every worker also runs the scheduler in the background with leader election, so exactly one
    of them sweeps due timers, deadlines and ladder rungs at a time (``scheduler_enabled``).
    """
    die_with_parent()  # a worker under `bihuan serve` never outlives its supervisor
    settings = Settings()
    if settings.secret_is_unsafe():
        raise UnsafeSecret(_UNSAFE)
    app = create_app(settings)
    if settings.scheduler_enabled:
        engine = app.state.bihuan.engine
        base = app.router.lifespan_context

        @asynccontextmanager
        async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
            async with base(_app):
                runner = start_in_background(settings, engine, elect=True)
                try:
                    yield
                finally:
                    runner.stop()

        app.router.lifespan_context = lifespan
    return app


_UNSAFE = (
    "refusing to serve: BIHUAN_SECRET_KEY is the demo default or shorter than 32 characters; "
    "set a long random secret (or BIHUAN_DEMO=1 for a local demo)"
)


def serve(settings: Settings) -> None:
    """Run the API with ``settings.workers`` worker processes (see :mod:`api.serving`)."""
    if settings.secret_is_unsafe():
        raise UnsafeSecret(_UNSAFE)
    from api.serving import serve as supervise

    supervise(settings)
