"""Cases: the filtered list, the detail with its diagram states, the history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from engine.access import Principal
from engine.place import METRES_PER_DEGREE, Circle
from engine.reads.scope import COUNT_CAP, page_of, under_paths, visible_cases
from engine.reads.views import OPEN, CaseDetail, CaseFilters, CaseView, HistoryEntry, Page, TaskView
from engine.runtime import Engine
from engine.runtime.diagram import unpack_element_states
from engine.spiff import Workflow
from engine.storage.dialects import dialect_of
from engine.storage.models import AuditEvent, Case, Definition, HumanTask, Instance, OrgUnit


def list_cases(
    s: Session,
    principal: Principal,
    filters: CaseFilters,
    *,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> Page[CaseView]:
    dialect = dialect_of(s)
    query = select(Case).where(visible_cases(principal, dialect))
    f = filters
    for column, value in (
        (Case.status, f.status), (Case.tier, f.tier), (Case.severity, f.severity),
        (Case.category, f.category), (Case.process_id, f.process_id),
    ):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if f.org is not None:
        unit_path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == f.org))
        query = query.where(under_paths(Case.org_path, [unit_path] if unit_path else [], dialect))
    if f.overdue is not None:
        late = and_(Case.closed_at.is_(None), Case.due_at.is_not(None), Case.due_at < now)
        query = query.where(late if f.overdue else ~late)
    if f.reported_from is not None:
        query = query.where(Case.reported_at >= f.reported_from)
    if f.reported_to is not None:
        query = query.where(Case.reported_at < f.reported_to)
    if f.near is not None:
        query = query.where(*_within(f.near))
    if f.bbox is not None:
        b = f.bbox
        query = query.where(
            Case.lat.between(b.min_lat, b.max_lat), Case.lng.between(b.min_lng, b.max_lng)
        )
    if f.text:
        needle = "%" + f.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_"
        ) + "%"  # fmt: skip
        query = query.where(
            or_(
                func.lower(Case.title).like(needle, escape="\\"),
                func.lower(Case.case_no).like(needle, escape="\\"),
                func.lower(Case.address).like(needle, escape="\\"),
            )
        )
    query = query.order_by(Case.reported_at.desc(), Case.case_no.desc())
    rows, total = page_of(s, query, limit, offset, COUNT_CAP)
    return Page([CaseView.of(r[0], now) for r in rows], total, limit, offset)


def case_detail(engine: Engine, s: Session, case: Case, now: datetime) -> CaseDetail:
    instance = s.get(Instance, case.instance_id)
    assert instance is not None
    definition = s.get(Definition, instance.definition_id)
    assert definition is not None
    tasks = s.scalars(
        select(HumanTask)
        .where(HumanTask.case_no == case.case_no, HumanTask.state.in_(OPEN))
        .order_by(HumanTask.created_at, HumanTask.id)
    )
    return CaseDetail(
        case=CaseView.of(case, now),
        fields=dict(case.fields or {}),
        instance_id=instance.id,
        instance_status=instance.status,
        instance_version=instance.version,
        definition_version=definition.version,
        open_tasks=[TaskView.of(t, case.title, now, case) for t in tasks],
        elements=element_states(engine, definition, instance),
    )


def element_states(engine: Engine, definition: Definition, instance: Instance) -> dict[str, str]:
    """BPMN element id → ``active`` | ``completed``, for diagram overlays.

    A finished instance has no state: its overlay was kept when it finished
    (engine/runtime/diagram.py).
    """
    if instance.element_states is not None:
        return unpack_element_states(instance.element_states, definition.elements or {})
    if not instance.state:
        return {}  # finished before the overlay was kept, and purged by retention since
    wf = Workflow.load(
        engine.cache.spec(definition),
        instance.state,
        instance.serializer_version,
        engine.script_engine,
    )
    return dict(sorted(wf.element_states().items()))


def history(s: Session, case_no: str, *, limit: int = 500, offset: int = 0) -> Page[HistoryEntry]:
    query = select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
    rows, total = page_of(s, query, limit, offset)
    items = [
        HistoryEntry(
            e.seq,
            e.at,
            e.event_type,
            e.actor_user,
            e.actor_role,
            e.actor_org,
            e.task_id,
            e.element_id,
            e.element_name,
            e.reason,
            e.data_before,
            e.data_after,
            e.details or {},
        )
        for (e,) in rows
    ]
    return Page(items, total, limit, offset)


def _within(circle: Circle) -> list[ColumnElement[bool]]:
    """The circle's bounding box (served by ``ix_cases_lat_lng``), then the distance itself —
    equirectangular, in plain arithmetic both databases compute."""
    lo_lat, hi_lat, lo_lng, hi_lng = circle.box()
    c, k = circle.centre, circle.lng_scale
    dy = (Case.lat - c.lat) * METRES_PER_DEGREE
    dx = (Case.lng - c.lng) * (METRES_PER_DEGREE * k)
    return [
        Case.lat.between(lo_lat, hi_lat),
        Case.lng.between(lo_lng, hi_lng),
        dx * dx + dy * dy <= circle.radius_m * circle.radius_m,
    ]
