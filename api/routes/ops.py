"""Operations: liveness, readiness (database and migrations), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import StateDep
from api.schemas import Health, Readiness
from engine import reads
from engine.storage import is_at_head

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process answers (no dependencies checked)."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(state: StateDep) -> Response:
    """Ready when the database answers and its schema is at the newest migration."""
    db = state.engine.db
    database = migrated = False
    try:
        with db.session() as s:
            reads.ping(s)
        database = True
        migrated = is_at_head(db)
    except Exception:  # any failure means "not ready", never a 500
        pass
    ready = database and migrated
    body = Readiness(
        status="ready" if ready else "not_ready", database=database, migrations_at_head=migrated
    )
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
def metrics(state: StateDep) -> PlainTextResponse:
    """Prometheus text format: requests, latencies, open and overdue tasks, timer lag."""
    with state.engine.db.session() as s:
        gauges = reads.gauges(s, state.clock.now())
    return PlainTextResponse(
        state.metrics.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
