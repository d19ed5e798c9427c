"""The inbox (待办): tasks a principal holds, may claim, or oversees, as one paged query;
the task view and task detail."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    and_,
    bindparam,
    func,
    or_,
    select,
    true,
    union,
    union_all,
)
from sqlalchemy.orm import Session

from engine.access import OPERATORS, Principal
from engine.reads.scope import COUNT_CAP, prefix_param, prefix_values
from engine.reads.views import OPEN, CommentView, Page, TaskDetail, TaskScope, TaskSort, TaskView
from engine.runtime import definitions as defs
from engine.storage.dialects import dialect_of
from engine.storage.models import Case, Definition, HumanTask, Instance, TaskComment
from engine.vocabulary import TaskState


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
        params.update(user_id=principal.user_id, state=state or TaskState.CLAIMED.value)
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
            params.update(prefix_values(f"op{i}", g.org_path, dialect))
        params["state"] = state or TaskState.OPEN.value
        shape = _InboxShape(dialect, scope, sort, pairs=len(pairs), units=len(units),
                            operators=len(operators), by_case=bool(case_no))  # fmt: skip
        return shape, params
    paths = principal.paths()
    if not paths:
        return None
    for i, path in enumerate(paths):
        params.update(prefix_values(f"path{i}", path, dialect))
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
        under = or_(*(prefix_param(Case.org_path, f"path{i}", d) for i in range(shape.paths)))
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
                .where(Case.case_no == task.case_no, prefix_param(Case.org_path, f"op{i}", d))
                .exists(),
            )
        )
    return clauses


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
    dialect = dialect_of(s)
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
    "form_ref", "ui_form_ref", "due_provisional",
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
