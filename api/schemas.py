"""Request and response bodies. Never ORM models: responses are built from engine views."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- problems


class FieldProblem(Out):
    path: str
    message: str


class BundleProblem(Out):
    file: str
    line: int | None = None
    element_id: str | None = None
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, plus a stable ``code`` from the engine's error tree."""

    model_config = ConfigDict(extra="allow")
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    problems: list[BundleProblem] | None = None
    errors: list[FieldProblem] | None = None


# ---------------------------------------------------------------- auth and users


class TokenIn(Model):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1000)


class TokenOut(Out):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int
    expires_at: datetime


class GrantOut(Out):
    role: str
    org_id: str
    org_path: str


class PrincipalOut(Out):
    user_id: str
    display_name: str
    grants: list[GrantOut]


class GrantIn(Model):
    role: str = Field(min_length=1, max_length=32)
    org_id: str = Field(min_length=1, max_length=64)


class UserIn(Model):
    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    display_name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)
    roles: list[GrantIn] = Field(default_factory=list, max_length=50)


# ---------------------------------------------------------------- definitions


class DefinitionOut(Out):
    process_id: str
    version: int
    name: str | None
    content_hash: str
    created_at: datetime
    deployed_by: str | None = None


class DeployedOut(Out):
    process_id: str
    version: int
    name: str | None
    content_hash: str
    created_at: datetime
    created: bool


class ValidationOut(Out):
    valid: Literal[True] = True
    files: list[str]


# ---------------------------------------------------------------- tasks


class TaskOut(Out):
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
    severity: str | None = Field(default=None, description="the case's risk level (红/黄/蓝)")
    tier: str | None = Field(default=None, description="the case's tier (四事分办)")


class TaskPage(Out):
    items: list[TaskOut]
    total: int
    limit: int
    offset: int


class CommentOut(Out):
    id: int
    author: str
    text: str
    created_at: datetime


class TaskDetailOut(Out):
    task: TaskOut
    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]
    comments: list[CommentOut]
    instance_version: int


class CompleteIn(Model):
    data: dict[str, Any] = Field(default_factory=dict)
    expected_version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class AssignIn(Model):
    assignee: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=2000)


class CommentIn(Model):
    text: str = Field(min_length=1, max_length=10_000)


# ---------------------------------------------------------------- cases


class CaseIn(Model):
    """A reported matter. Known fields go to the case; ``data`` is passed to the process as is."""

    case_no: str | None = Field(default=None, min_length=1, max_length=100,
                                pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # fmt: skip
    process_id: str = Field(default="dispute", min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=20_000)
    category: str | None = Field(default=None, max_length=64)
    severity: str | None = Field(default=None, max_length=16)
    tier: str | None = Field(default=None, max_length=16)
    grid_code: str | None = Field(default=None, min_length=1, max_length=64)
    source_channel: str | None = Field(default=None, max_length=32)
    parties: list[dict[str, Any]] | None = Field(default=None, max_length=100)
    data: dict[str, Any] = Field(default_factory=dict)


class CaseOut(Out):
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


class CasePage(Out):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int


class CaseDetailOut(Out):
    case: CaseOut
    fields: dict[str, Any]
    instance_id: str
    instance_status: str
    instance_version: int
    definition_version: int
    open_tasks: list[TaskOut]
    elements: dict[str, Literal["active", "completed"]]


class HistoryOut(Out):
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


class HistoryPage(Out):
    items: list[HistoryOut]
    total: int
    limit: int
    offset: int


class ReasonIn(Model):
    reason: str = Field(min_length=1, max_length=2000)


class OptionalReasonIn(Model):
    reason: str | None = Field(default=None, max_length=2000)


# ---------------------------------------------------------------- messages and health


class MessageIn(Model):
    name: str = Field(min_length=1, max_length=200)
    correlation_key: str = Field(min_length=1, max_length=200)
    payload: dict[str, Any] = Field(default_factory=dict)


class MessageOut(Out):
    delivered: Literal[True] = True
    case_no: str


class Health(Out):
    status: Literal["ok"] = "ok"


class Readiness(Out):
    status: Literal["ready", "not_ready"]
    database: bool
    migrations_at_head: bool


# ---------------------------------------------------------------- audit, timeline, KPIs


class AuditEventOut(Out):
    id: int
    case_no: str
    seq: int
    event_type: str
    at: datetime
    actor_user: str | None
    actor_role: str | None
    actor_org: str | None
    org_path: str | None
    instance_id: str | None
    task_id: str | None
    element_id: str | None
    element_name: str | None
    data_before: dict[str, Any] | None
    data_after: dict[str, Any] | None
    reason: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(Out):
    items: list[AuditEventOut]
    next_cursor: str | None


class FieldChangeOut(Out):
    field: str
    label: str
    before: Any
    after: Any
    text: str


class TimelineStepOut(Out):
    seq: int
    at: datetime
    event_type: str
    title: str
    actor: str | None
    actor_role: str | None
    org: str | None
    element_id: str | None
    element_name: str | None
    task_id: str | None
    due_at: datetime | None
    on_time: bool | None
    changes: list[FieldChangeOut]
    comment: str | None
    reason: str | None
    ladder: str | None
    escalation: str | None


class ElementStateOut(Out):
    element_id: str
    name: str | None
    status: str
    visits: int
    last_at: datetime
    late: bool


class TimelineOut(Out):
    case_no: str
    purged: bool
    steps: list[TimelineStepOut]
    elements: dict[str, ElementStateOut]


class ChainProblemOut(Out):
    kind: str
    case_no: str | None
    seq: int | None
    event_id: int | None
    message: str


class VerifyOut(Out):
    ok: bool
    problems: list[ChainProblemOut]


class RateOut(Out):
    numerator: int
    denominator: int
    value: float | None


class KpiSetOut(Out):
    counts: dict[str, int]
    rates: dict[str, RateOut]
    resolved_by_tier: dict[str, int]


class UnitKpisOut(KpiSetOut):
    org_path: str
    name: str


class KpiReportOut(Out):
    org_path: str
    name: str
    period: str
    as_of: datetime
    total: KpiSetOut
    units: list[UnitKpisOut]
    overdue_open: list[str]


# ---------------------------------------------------------------- directory (the forms' pickers)


class OrgOut(Out):
    """An organisation unit a caller may pick (``org-picker``)."""

    id: str
    name: str
    kind: str = Field(description="county | township | village | grid | centre | department")
    tier: str | None = Field(description="grid | village | township | county")
    parent_id: str | None


class DirectoryUserOut(Out):
    """A user holding ``roles`` in the unit ``org_id`` (``user-picker``)."""

    username: str
    display_name: str
    org_id: str
    roles: list[str]


class StartFormOut(Out):
    """The form a process starts with (the report form of ``dispute``)."""

    process_id: str
    version: int
    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any] | None


class DefinitionFileOut(Out):
    filename: str
    kind: str = Field(description="bpmn | dmn | form")
    sha256: str
    source: bool = Field(description="the version's own BPMN file")


class DeadlineKeyOut(Out):
    key: str
    title: str


class CaseStatusOut(Out):
    code: str
    label: str


class CatalogOut(Out):
    deadline_keys: list[DeadlineKeyOut]
    lanes: list[str]
    case_statuses: list[CaseStatusOut]
