"""Read-only queries for front-ends: inbox, task detail, case list and detail, history, feed.

Everything here reads the projections (``cases``, ``human_tasks``, ``audit_events``,
``change_events``); only :func:`element_states` loads a workflow, through the engine's seam.
Scoping by the caller's jurisdiction and candidacy happens in SQL, from a
:class:`~engine.access.Principal`; single-object visibility checks live in :mod:`engine.access`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    false,
    func,
    or_,
    select,
    text,
    true,
    union,
    union_all,
)
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from engine import definitions as defs
from engine.access import OPERATORS, Principal
from engine.audit import Actor
from engine.clock import in_china
from engine.diagram import unpack_element_states
from engine.errors import Conflict
from engine.runtime import Engine
from engine.spiff import Workflow
from engine.storage.models import (
    AuditEvent,
    Case,
    ChangeEvent,
    Definition,
    DueItem,
    HumanTask,
    Instance,
    OrgUnit,
    TaskComment,
)

OPEN = ("open", "claimed")
TaskScope = Literal["mine", "candidate", "jurisdiction"]
TaskSort = Literal["due", "priority", "created"]


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# ---------------------------------------------------------------- views


@dataclass(frozen=True)
class TaskView:
    id: str
    case_no: str
    case_title: str
    element_id: str
    name: str
    state: str
    candidate_org: str | None
    candidate_role: str | None
    assignee: str | None
    priority: int
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    completed_by: str | None
    due_at: datetime | None
    overdue: bool
    form_ref: str | None
    ui_form_ref: str | None
    #: The case's risk level and tier, for an inbox's 红/黄/蓝 and tier filters.
    severity: str | None = None
    tier: str | None = None

    @classmethod
    def of(
        cls,
        t: HumanTask | Row[Any],
        title: str,
        now: datetime,
        case: Case | Row[Any] | None = None,
    ) -> TaskView:
        """From a task, or a row of its columns (:data:`_TASK_VIEW_COLUMNS`), with ``case``'s
        (or the row's) severity and tier when given."""
        facts = case if case is not None else t
        return cls(
            id=t.id, case_no=t.case_no, case_title=title, element_id=t.element_id, name=t.name,
            state=t.state, candidate_org=t.candidate_org, candidate_role=t.candidate_role,
            assignee=t.assignee, priority=t.priority, created_at=t.created_at,
            claimed_at=t.claimed_at, completed_at=t.completed_at, completed_by=t.completed_by,
            due_at=t.due_at, overdue=_overdue(t.due_at, t.state in OPEN, now),
            form_ref=t.form_ref, ui_form_ref=t.ui_form_ref,
            severity=getattr(facts, "severity", None), tier=getattr(facts, "tier", None),
        )  # fmt: skip


@dataclass(frozen=True)
class CommentView:
    id: int
    author: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class TaskDetail:
    task: TaskView
    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]
    comments: list[CommentView]
    instance_version: int


@dataclass(frozen=True)
class CaseView:
    case_no: str
    process_id: str
    status: str
    title: str
    category: str | None
    severity: str | None
    tier: str | None
    org_id: str | None
    org_path: str
    owner_org: str | None
    handling_unit: str | None
    case_leader: str | None
    source_channel: str | None
    reported_at: datetime
    due_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    overdue: bool
    resolved_tier: str | None = None
    satisfaction: int | None = None
    eval_excluded: bool = False
    reopen_count: int = 0
    escalation_count: int = 0
    ladder_level: int = -1

    @classmethod
    def of(cls, c: Case, now: datetime) -> CaseView:
        return cls(
            case_no=c.case_no, process_id=c.process_id, status=c.status, title=c.title,
            category=c.category, severity=c.severity, tier=c.tier, org_id=c.org_id,
            org_path=c.org_path, owner_org=c.owner_org, handling_unit=c.handling_unit,
            case_leader=c.case_leader, source_channel=c.source_channel,
            reported_at=c.reported_at, due_at=c.due_at, closed_at=c.closed_at,
            updated_at=c.updated_at, overdue=_overdue(c.due_at, c.closed_at is None, now),
            resolved_tier=c.resolved_tier, satisfaction=c.satisfaction,
            eval_excluded=c.eval_excluded, reopen_count=c.reopen_count,
            escalation_count=c.escalation_count, ladder_level=c.ladder_level,
        )  # fmt: skip


@dataclass(frozen=True)
class CaseDetail:
    case: CaseView
    fields: dict[str, Any]
    instance_id: str
    instance_status: str
    instance_version: int
    definition_version: int
    open_tasks: list[TaskView]
    elements: dict[str, str]


@dataclass(frozen=True)
class HistoryEntry:
    seq: int
    at: datetime
    event_type: str
    actor_user: str | None
    actor_role: str | None
    actor_org: str | None
    task_id: str | None
    element_id: str | None
    element_name: str | None
    reason: str | None
    data_before: dict[str, Any] | None
    data_after: dict[str, Any] | None
    details: dict[str, Any]


@dataclass(frozen=True)
class ChangeView:
    id: int
    at: datetime
    kind: str
    case_no: str | None
    payload: dict[str, Any]


@dataclass(frozen=True)
class CaseFilters:
    status: str | None = None
    tier: str | None = None
    severity: str | None = None
    category: str | None = None
    org: str | None = None
    overdue: bool | None = None
    reported_from: datetime | None = None
    reported_to: datetime | None = None
    text: str | None = None
    process_id: str | None = None


@dataclass(frozen=True)
class Gauges:
    open_tasks: int
    overdue_tasks: int
    timer_lag_seconds: float
    cases_by_status: dict[str, int] = field(default_factory=dict)


def _overdue(due_at: datetime | None, still_open: bool, now: datetime) -> bool:
    return still_open and due_at is not None and due_at < now


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _prefix(column: Any, path: str, dialect: str) -> ColumnElement[bool]:
    """``column`` starts with ``path``, in a form the dialect's btree index serves.

    PostgreSQL: ``LIKE 'path%'`` (the ``varchar_pattern_ops`` indexes of migration 0003).
    SQLite: the range ``path <= column < path'`` (``path'``: last character + 1) — SQLite's
    ``LIKE`` is case-insensitive and uses no index; the range is exact under BINARY collation.
    """
    if dialect == "sqlite" and path:
        return and_(column >= path, column < path[:-1] + chr(ord(path[-1]) + 1))
    like: ColumnElement[bool] = column.like(_like_prefix(path), escape="\\")
    return like


def _under(column: Any, paths: list[str], dialect: str = "") -> ColumnElement[bool]:
    if not paths:
        return false()
    return or_(*(_prefix(column, p, dialect) for p in paths))


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


# ---------------------------------------------------------------- scoping


def _prefix_param(column: Any, name: str, dialect: str) -> ColumnElement[bool]:
    """:func:`_prefix` with the path as parameters (see :func:`_prefix_values`)."""
    if dialect == "sqlite":
        return and_(column >= bindparam(f"{name}_lo"), column < bindparam(f"{name}_hi"))
    like: ColumnElement[bool] = column.like(bindparam(f"{name}_like"), escape="\\")
    return like


def _prefix_values(name: str, path: str, dialect: str) -> dict[str, str]:
    if dialect == "sqlite":
        return {f"{name}_lo": path, f"{name}_hi": path[:-1] + chr(ord(path[-1]) + 1)}
    return {f"{name}_like": _like_prefix(path)}


@dataclass(frozen=True)
class _InboxShape:
    """What an inbox statement's structure depends on; the values are its parameters. One
    statement is built per shape and kept (:func:`_inbox_statements`): building it and its
    cache key cost more than running it."""

    dialect: str
    scope: TaskScope
    sort: TaskSort
    pairs: int = 0  # candidate: (unit, role) branches
    units: int = 0  # candidate: (unit, no role) branches
    operators: int = 0  # candidate: tasks with no unit, by an operator grant's subtree
    paths: int = 0  # jurisdiction: subtrees
    any_open: bool = False  # jurisdiction without a state: open or claimed
    by_case: bool = False
    overdue: bool = False  # due before now
    by_severity: bool = False  # the case's risk level
    by_tier: bool = False  # the case's tier

    @property
    def disjoint(self) -> bool:
        return self.operators <= 1  # two operator grants may reach the same unit-less task


@dataclass(frozen=True)
class CaseFilter:
    """Inbox filters on the task's case and due time (the console's chips)."""

    severity: str | None = None
    tier: str | None = None
    overdue_at: datetime | None = None  # tasks due before this moment


def _inbox_shape(
    principal: Principal,
    scope: TaskScope,
    sort: TaskSort,
    state: str | None,
    case_no: str | None,
    dialect: str,
    case_filter: CaseFilter = CaseFilter(),
) -> tuple[_InboxShape, dict[str, Any]] | None:
    """The shape of the caller's inbox statement and its parameters; None for no branch."""
    shaped = _scope_shape(principal, scope, sort, state, case_no, dialect)
    if shaped is None:
        return None
    shape, params = shaped
    f = case_filter
    if f.severity is not None:
        params["severity"] = f.severity
    if f.tier is not None:
        params["tier"] = f.tier
    if f.overdue_at is not None:
        params["overdue_at"] = f.overdue_at
    shape = replace(shape, by_severity=f.severity is not None, by_tier=f.tier is not None,
                    overdue=f.overdue_at is not None)  # fmt: skip
    return shape, params


def _scope_shape(
    principal: Principal,
    scope: TaskScope,
    sort: TaskSort,
    state: str | None,
    case_no: str | None,
    dialect: str,
) -> tuple[_InboxShape, dict[str, Any]] | None:
    params: dict[str, Any] = {}
    if case_no:
        params["case_no"] = case_no
    if scope == "mine":
        params.update(user_id=principal.user_id, state=state or "claimed")
        return _InboxShape(dialect, scope, sort, by_case=bool(case_no)), params
    if scope == "candidate":
        pairs = principal.candidacy()
        units = sorted({org for org, _ in pairs})
        operators = [g for g in principal.grants if g.role in OPERATORS]
        if not (pairs or units or operators):
            return None
        for i, (org, role) in enumerate(pairs):
            params[f"pair{i}_org"], params[f"pair{i}_role"] = org, role
        for i, org in enumerate(units):
            params[f"unit{i}_org"] = org
        for i, g in enumerate(operators):
            params[f"op{i}_role"] = g.role
            params.update(_prefix_values(f"op{i}", g.org_path, dialect))
        params["state"] = state or "open"
        shape = _InboxShape(dialect, scope, sort, pairs=len(pairs), units=len(units),
                            operators=len(operators), by_case=bool(case_no))  # fmt: skip
        return shape, params
    paths = principal.paths()
    if not paths:
        return None
    for i, path in enumerate(paths):
        params.update(_prefix_values(f"path{i}", path, dialect))
    if state:
        params["state"] = state
    shape = _InboxShape(dialect, scope, sort, paths=len(paths), any_open=not state,
                        by_case=bool(case_no))  # fmt: skip
    return shape, params


def _inbox_branches(shape: _InboxShape) -> list[ColumnElement[bool]]:
    """The tasks the caller may see, as branches each served by ``ix_human_tasks_inbox`` in
    index order: for the candidate scope an equality on ``candidate_org`` and an equality on,
    or IS NULL of, ``candidate_role``; the operator branches (tasks with no unit) also read
    ``cases.org_path``."""
    task, d = HumanTask, shape.dialect
    if shape.scope == "mine":
        return [task.assignee == bindparam("user_id")]
    if shape.scope == "jurisdiction":
        under = or_(*(_prefix_param(Case.org_path, f"path{i}", d) for i in range(shape.paths)))
        return [task.case_no.in_(select(Case.case_no).where(under))]
    clauses: list[ColumnElement[bool]] = []
    for i in range(shape.pairs):
        clauses.append(and_(task.candidate_org == bindparam(f"pair{i}_org"),
                            task.candidate_role == bindparam(f"pair{i}_role")))  # fmt: skip
    for i in range(shape.units):
        clauses.append(and_(task.candidate_org == bindparam(f"unit{i}_org"),
                            task.candidate_role.is_(None)))  # fmt: skip
    for i in range(shape.operators):
        clauses.append(
            and_(
                task.candidate_org.is_(None),
                or_(task.candidate_role == bindparam(f"op{i}_role"), task.candidate_role.is_(None)),
                # EXISTS, not IN: the few unit-less tasks drive (through the inbox index) and
                # probe their case; SQLite would otherwise walk every case under the grant and
                # look up their tasks
                select(Case.case_no)
                .where(Case.case_no == task.case_no, _prefix_param(Case.org_path, f"op{i}", d))
                .exists(),
            )
        )
    return clauses


def _mine_clause(principal: Principal) -> ColumnElement[bool]:
    """Tasks that are the caller's: assigned, completed by them, or open for their unit+role."""
    held = [
        and_(
            HumanTask.candidate_org == org,
            or_(HumanTask.candidate_role == role, HumanTask.candidate_role.is_(None)),
        )
        for org, role in principal.candidacy()
    ]
    return or_(
        HumanTask.assignee == principal.user_id,
        HumanTask.completed_by == principal.user_id,
        and_(HumanTask.state.in_(OPEN), or_(*held) if held else false()),
    )


def _visible_cases(principal: Principal, dialect: str = "") -> ColumnElement[bool]:
    worked = select(HumanTask.case_no).where(_mine_clause(principal))
    return or_(_under(Case.org_path, principal.paths(), dialect), Case.case_no.in_(worked))


#: Lists count their matches up to this many; past it ``Page.total`` is ``COUNT_CAP + 1``,
#: meaning "more than COUNT_CAP" (a UI shows "1,000+"). Below it the total is exact.
COUNT_CAP = 1000


def _count(s: Session, query: Select[Any], cap: int | None) -> int:
    inner = query.order_by(None)
    if cap is not None:
        inner = inner.limit(cap + 1)
    return int(s.scalar(select(func.count()).select_from(inner.subquery())) or 0)


def _page(
    s: Session, query: Select[Any], limit: int, offset: int, cap: int | None = None
) -> tuple[list[Any], int]:
    total = _count(s, query, cap)
    rows = list(s.execute(query.limit(limit).offset(offset)).all()) if total > offset else []
    return rows, total


# ---------------------------------------------------------------- tasks


def inbox(
    s: Session,
    principal: Principal,
    *,
    scope: TaskScope,
    now: datetime,
    sort: TaskSort = "due",
    case_no: str | None = None,
    state: str | None = None,
    limit: int = 50,
    offset: int = 0,
    case_filter: CaseFilter = CaseFilter(),
) -> Page[TaskView]:
    """One page of tasks, and ``total``: exact up to :data:`COUNT_CAP`, else ``COUNT_CAP + 1``.

    The page is chosen on ``human_tasks`` alone: each branch of the scope (one per candidate
    unit and role, and per due/no-due part for the due order) is an index-ordered scan of at
    most ``offset + limit`` rows; the branches are merged (``UNION ALL`` of the limited arms),
    ordered and cut to the page in the same statement, and only the page's rows are joined to
    ``cases`` for their title. So a page costs O(limit + offset) whatever the length of the
    queue, in one statement — two when the queue is longer than the page reached and the
    capped count has to run.
    """
    dialect = _dialect(s)
    shaped = _inbox_shape(principal, scope, sort, state, case_no, dialect, case_filter)
    if shaped is None:
        return Page([], 0, limit, offset)
    shape, params = shaped
    page_stmt, count_stmt = _inbox_statements(shape)
    want = offset + limit
    params.update(want=want, limit=limit, offset=offset)
    rows = s.execute(page_stmt, params).all()
    found = int(rows[0].found) if rows else (0 if offset == 0 else None)
    if found is not None and found < want:
        total = found  # no branch reached its limit: every match was seen, the count is exact
    else:
        # ``state`` is in ix_human_tasks_inbox: the counts read the index only (SQLite always;
        # PostgreSQL once the visibility map is set); one statement for all the branches
        counts = s.execute(count_stmt, params).one()
        total = min(sum(int(n or 0) for n in counts), COUNT_CAP + 1)
    items = [TaskView.of(row, row.title or "", now) for row in rows]
    return Page(items, total, limit, offset)


#: The ``human_tasks`` columns a :class:`TaskView` shows.
_TASK_VIEW_COLUMNS = (
    "id", "case_no", "element_id", "name", "state", "candidate_org", "candidate_role",
    "assignee", "priority", "created_at", "claimed_at", "completed_at", "completed_by", "due_at",
    "form_ref", "ui_form_ref",
)  # fmt: skip


@lru_cache(maxsize=512)
def _inbox_statements(shape: _InboxShape) -> tuple[Select[Any], Select[Any]]:
    """The page statement and the capped-count statement of one shape of inbox."""
    branches = _inbox_branches(shape)
    wanted: list[ColumnElement[bool]] = [
        HumanTask.state.in_(OPEN) if shape.any_open else HumanTask.state == bindparam("state")
    ]
    if shape.by_case:
        wanted.append(HumanTask.case_no == bindparam("case_no"))
    if shape.overdue:
        wanted.append(HumanTask.due_at < bindparam("overdue_at"))
    for flag, column, name in (
        (shape.by_severity, Case.severity, "severity"),
        (shape.by_tier, Case.tier, "tier"),
    ):
        if flag:  # the case's field: a lookup by case number per task scanned
            wanted.append(
                HumanTask.case_no.in_(select(Case.case_no).where(column == bindparam(name)))
            )
    keyed = select(HumanTask.id, HumanTask.due_at, HumanTask.priority, HumanTask.created_at)
    order: dict[str, tuple[Any, ...]] = {
        "due": (HumanTask.due_at.asc(), HumanTask.priority.desc(), HumanTask.id),
        "priority": (
            HumanTask.priority.desc(), HumanTask.due_at.is_(None), HumanTask.due_at.asc(),
            HumanTask.id,
        ),
        "created": (HumanTask.created_at.desc(), HumanTask.id),
    }  # fmt: skip
    parts: list[ColumnElement[bool]] = (
        [HumanTask.due_at.is_not(None), HumanTask.due_at.is_(None)]
        if shape.sort == "due"
        else [true()]
    )
    want = bindparam("want", type_=Integer)
    arms = [
        select(*arm.c)
        for arm in (
            keyed.where(branch, part, *wanted).order_by(*order[shape.sort]).limit(want).subquery()
            for part in parts
            for branch in branches
        )
    ]
    # overlapping branches (two operator grants) may find a task twice: UNION drops repeats
    merged = (union_all(*arms) if shape.disjoint else union(*arms)).subquery("k")

    def merged_order(c: Any) -> tuple[Any, ...]:
        return {
            "due": (c.due_at.is_(None), c.due_at.asc(), c.priority.desc(), c.id),
            "priority": (c.priority.desc(), c.due_at.is_(None), c.due_at.asc(), c.id),
            "created": (c.created_at.desc(), c.id),
        }[shape.sort]

    page = (
        select(*merged.c, func.count().over().label("found"))
        .order_by(*merged_order(merged.c))
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    # plain columns, not entities: the rows become views at once (no identity map, no ORM
    # objects to build and throw away)
    tasks = HumanTask.metadata.tables[HumanTask.__tablename__]
    page_stmt = (
        select(
            *(tasks.c[name] for name in _TASK_VIEW_COLUMNS),
            Case.title,
            Case.severity,
            Case.tier,
            page.c.found,
        )
        .select_from(tasks)
        .join(page, page.c.id == tasks.c.id)
        .join(Case, Case.case_no == tasks.c.case_no)
        .order_by(*merged_order(page.c))
    )
    cap = COUNT_CAP + 1
    counted = (
        [select(HumanTask.state).where(b, *wanted) for b in branches]
        if shape.disjoint
        else [select(HumanTask.state).where(or_(*branches), *wanted)]
    )
    count_stmt = select(
        *(select(func.count()).select_from(q.limit(cap).subquery()).scalar_subquery()
          for q in counted)
    )  # fmt: skip
    return page_stmt, count_stmt


def task_view(s: Session, task_id: str, now: datetime) -> TaskView:
    """The task as stored now, with its case's title, severity and tier (one statement)."""
    row = s.execute(
        select(HumanTask, Case.title, Case.severity, Case.tier)
        .join(Case, Case.case_no == HumanTask.case_no)
        .where(HumanTask.id == task_id)
        .execution_options(populate_existing=True)
    ).first()
    assert row is not None
    return TaskView.of(row[0], row[1] or "", now, row)


def task_detail(s: Session, task: HumanTask, now: datetime) -> TaskDetail:
    case = s.get(Case, task.case_no)
    instance = s.get(Instance, task.instance_id)
    assert case is not None and instance is not None
    definition = s.get(Definition, instance.definition_id)
    assert definition is not None
    form = defs.form_document(s, definition.bundle_id, task.form_ref) if task.form_ref else None
    ui = defs.form_document(s, definition.bundle_id, task.ui_form_ref) if task.ui_form_ref else None
    comments = [
        CommentView(c.id, c.author, c.text, c.created_at)
        for c in s.scalars(
            select(TaskComment).where(TaskComment.task_id == task.id).order_by(TaskComment.id)
        )
    ]
    data = {k: v for k, v in (instance.data or {}).items() if not k.startswith("_")}
    return TaskDetail(TaskView.of(task, case.title, now, case), form, ui, data, comments,
                      instance.version)  # fmt: skip


# ---------------------------------------------------------------- cases


def list_cases(
    s: Session,
    principal: Principal,
    filters: CaseFilters,
    *,
    now: datetime,
    limit: int = 50,
    offset: int = 0,
) -> Page[CaseView]:
    dialect = _dialect(s)
    query = select(Case).where(_visible_cases(principal, dialect))
    f = filters
    for column, value in (
        (Case.status, f.status), (Case.tier, f.tier), (Case.severity, f.severity),
        (Case.category, f.category), (Case.process_id, f.process_id),
    ):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if f.org is not None:
        unit_path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == f.org))
        query = query.where(_under(Case.org_path, [unit_path] if unit_path else [], dialect))
    if f.overdue is not None:
        late = and_(Case.closed_at.is_(None), Case.due_at.is_not(None), Case.due_at < now)
        query = query.where(late if f.overdue else ~late)
    if f.reported_from is not None:
        query = query.where(Case.reported_at >= f.reported_from)
    if f.reported_to is not None:
        query = query.where(Case.reported_at < f.reported_to)
    if f.text:
        needle = "%" + f.text.lower().replace("\\", "\\\\").replace("%", "\\%").replace(
            "_", "\\_"
        ) + "%"  # fmt: skip
        query = query.where(
            or_(
                func.lower(Case.title).like(needle, escape="\\"),
                func.lower(Case.case_no).like(needle, escape="\\"),
            )
        )
    query = query.order_by(Case.reported_at.desc(), Case.case_no.desc())
    rows, total = _page(s, query, limit, offset, COUNT_CAP)
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

    A finished instance has no state: its overlay was kept when it finished (engine/diagram.py).
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
    rows, total = _page(s, query, limit, offset)
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


# ---------------------------------------------------------------- reporting a case


def next_case_no(s: Session, now: datetime) -> str:
    """``BH-<year>-<6 digits>``: one more than the highest number of the year (China time)."""
    prefix = f"BH-{in_china(now).year}-"
    last = s.scalar(
        select(Case.case_no)
        .where(Case.case_no.like(prefix + "%"))
        .order_by(func.length(Case.case_no).desc(), Case.case_no.desc())
        .limit(1)
    )
    number = 0
    if last is not None:
        try:
            number = int(last[len(prefix) :])
        except ValueError:
            number = 0
    return f"{prefix}{number + 1:06d}"


def report_case(
    engine: Engine,
    process_id: str,
    case_no: str | None,
    data: Mapping[str, Any],
    actor: Actor,
    *,
    attempts: int = 5,
) -> str:
    """Start the process for a new case; with no case number, take the next free one."""
    if case_no is not None:
        engine.start(process_id, case_no, data, actor)
        return case_no
    for attempt in range(attempts):
        with engine.db.session() as s:
            number = next_case_no(s, engine.clock.now())
        try:
            engine.start(process_id, number, data, actor)
            return number
        except Conflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- definitions


def definitions(s: Session) -> list[Definition]:
    return defs.list_definitions(s)


def definition_xml(s: Session, process_id: str, version: int) -> bytes:
    return defs.source_xml(s, defs.get_version(s, process_id, version))


# ---------------------------------------------------------------- change feed


def last_change_id(s: Session) -> int:
    return int(s.scalar(select(func.max(ChangeEvent.id))) or 0)


def changes_after(
    s: Session, principal: Principal, after: int, *, limit: int = 100
) -> tuple[list[ChangeView], list[int]]:
    """Changes after id ``after`` that the caller may see, and every id examined (in order)."""
    scanned = list(
        s.scalars(
            select(ChangeEvent).where(ChangeEvent.id > after).order_by(ChangeEvent.id).limit(limit)
        )
    )
    paths = principal.paths()
    pairs = set(principal.candidacy())
    out = []
    for e in scanned:
        path = e.org_path or "/"
        mine = e.assignee == principal.user_id or (
            e.candidate_org is not None
            and any(
                org == e.candidate_org and e.candidate_role in (None, role) for org, role in pairs
            )
        )
        if mine or any(path.startswith(p) for p in paths):
            out.append(ChangeView(e.id, e.at, e.kind, e.case_no, dict(e.payload or {})))
    return out, [e.id for e in scanned]


# ---------------------------------------------------------------- operations


def gauges(s: Session, now: datetime) -> Gauges:
    open_tasks = s.scalar(select(func.count()).where(HumanTask.state.in_(OPEN))) or 0
    overdue = (
        s.scalar(
            select(func.count()).where(
                HumanTask.state.in_(OPEN), HumanTask.due_at.is_not(None), HumanTask.due_at < now
            )
        )
        or 0
    )
    oldest = s.scalar(
        select(func.min(DueItem.due_at)).where(DueItem.state == "pending", DueItem.due_at <= now)
    )
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    by_status = {
        str(status): int(n)
        for status, n in s.execute(select(Case.status, func.count()).group_by(Case.status))
    }
    return Gauges(int(open_tasks), int(overdue), lag, by_status)


def ping(s: Session) -> None:
    s.execute(text("SELECT 1"))


__all__ = [
    "CaseDetail",
    "CaseFilters",
    "CaseView",
    "ChangeView",
    "CommentView",
    "Gauges",
    "HistoryEntry",
    "Page",
    "TaskDetail",
    "TaskView",
    "case_detail",
    "changes_after",
    "definition_xml",
    "definitions",
    "element_states",
    "gauges",
    "history",
    "inbox",
    "last_change_id",
    "list_cases",
    "next_case_no",
    "report_case",
    "task_detail",
    "task_view",
]
