"""What the read side hands out: pages, task and case views, history entries, changes,
gauges (plain dataclasses, shared with the API's response models)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy.engine import Row

from engine.place import Box, Circle
from engine.storage.models import Case, HumanTask
from engine.vocabulary import OPEN_TASK_STATES
from engine.workdays import PROVISIONAL_LABEL

OPEN = OPEN_TASK_STATES
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
    #: the due time consulted a year without an official holiday table (see due_label)
    due_provisional: bool = False
    #: The case's risk level and tier, for an inbox's 红/黄/蓝 and tier filters.
    severity: str | None = None
    tier: str | None = None

    @property
    def due_label(self) -> str | None:
        return PROVISIONAL_LABEL if self.due_provisional else None

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
            due_provisional=bool(t.due_provisional),
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
    due_provisional: bool = False
    lat: float | None = None
    lng: float | None = None
    address: str | None = None

    @property
    def due_label(self) -> str | None:
        return PROVISIONAL_LABEL if self.due_provisional else None

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
            due_provisional=bool(c.due_provisional), lat=c.lat, lng=c.lng, address=c.address,
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
    near: Circle | None = None  # within a radius of a point (需坐标)
    bbox: Box | None = None  # inside a rectangle


@dataclass(frozen=True)
class Gauges:
    open_tasks: int
    overdue_tasks: int
    timer_lag_seconds: float
    failed_due_items: int = 0  # incidents: due items that failed for good (engine/scheduler)
    cases_by_status: dict[str, int] = field(default_factory=dict)


def _overdue(due_at: datetime | None, still_open: bool, now: datetime) -> bool:
    return still_open and due_at is not None and due_at < now
