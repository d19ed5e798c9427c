"""Operations: liveness, readiness (database and migrations), Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import AppState, StateDep
from api.routes.admin_calendar import calendar_refresher
from api.schemas import Health, Readiness
from engine import reads
from engine.calendar_admin import calendar_status
from engine.errors import StorageError
from engine.storage import is_at_head

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process answers (no dependencies checked)."""
    return Health()


RETRY = StorageError.retry_after or 5


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(state: StateDep) -> Response:
    """Ready when the database answers and its schema is at the newest migration; ``warnings``
    lists what the operator should act on without making the service unready."""
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
        status="ready" if ready else "not_ready",
        database=database,
        migrations_at_head=migrated,
        warnings=_calendar_warnings(state) if ready else [],
    )
    if ready:
        return JSONResponse(body.model_dump())
    return JSONResponse(body.model_dump(), status_code=503, headers={"Retry-After": str(RETRY)})


def _calendar_warnings(state: AppState) -> list[str]:
    """Next year's holiday table missing, and the like: shown, never a reason to be unready."""
    refresher = calendar_refresher(state.engine)
    if refresher is None:
        return []
    try:
        with state.engine.db.session() as s:
            refresher.refresh(s)
        return calendar_status(refresher.calendar, state.clock.now()).warnings
    except Exception:  # a warning that cannot be computed is not a readiness failure
        return ["工作日历状态无法读取 (the working-day calendar status could not be read)"]


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
