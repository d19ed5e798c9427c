"""Request and response bodies. Never ORM models: responses are built from engine views."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Literal, TypeVar, get_args, get_origin, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model

from engine.audit import (
    AuditRecord,
    ChainProblem,
    ElementState,
    FieldChange,
    Timeline,
    TimelineStep,
)
from engine.evidence import AttachmentView
from engine.reads import CaseDetail, CaseView, CommentView, HistoryEntry, TaskDetail, TaskView


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# ---------------------------------------------------------------- models derived from engine views

M = TypeVar("M", bound=BaseModel)
#: engine view → the response model derived from it (nested views become their models)
DERIVED: dict[type, type[BaseModel]] = {}


def _swap(tp: Any) -> Any:
    """A view's field type with nested views replaced by their models (tuples become lists)."""
    if tp in DERIVED:
        return DERIVED[tp]
    origin, args = get_origin(tp), get_args(tp)
    if origin in (list, tuple) and args:
        return list.__class_getitem__(_swap(args[0]))
    if origin is dict and args:
        return dict.__class_getitem__((args[0], _swap(args[1])))
    return tp


def derived_from(view: type, **types: Any) -> Callable[[type[M]], type[M]]:
    """Give a response model the fields of an engine view (a dataclass): their names, order,
    types and defaults, so the two cannot drift apart. ``types`` narrows a field's type for the
    API document (e.g. a ``Literal``) or adds a field the API computes."""

    def build(stub: type[M]) -> type[M]:
        hints = get_type_hints(view)
        fields: dict[str, Any] = {}
        for f in dataclasses.fields(view):
            tp = types.get(f.name, _swap(hints[f.name]))
            if f.default is not dataclasses.MISSING:
                fields[f.name] = (tp, f.default)
            elif f.default_factory is not dataclasses.MISSING:
                fields[f.name] = (tp, Field(default_factory=f.default_factory))
            else:
                fields[f.name] = (tp, ...)
        for name, tp in types.items():
            fields.setdefault(name, (tp, ...))  # a value the API adds (e.g. a rendered text)
        model = create_model(
            stub.__name__, __base__=stub, __module__=stub.__module__, __doc__=stub.__doc__, **fields
        )
        DERIVED[view] = model
        return model

    return build


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
    warnings: list[BundleProblem] = []
    """What deploys but deserves a look (e.g. a user task without a form: a confirmation)."""


class ValidationOut(Out):
    valid: Literal[True] = True
    files: list[str]
    warnings: list[BundleProblem] = []


# ---------------------------------------------------------------- tasks


@derived_from(TaskView, due_label=str | None)
class TaskOut(Out):
    pass


class TaskPage(Out):
    items: list[TaskOut]
    total: int
    limit: int
    offset: int


@derived_from(CommentView)
class CommentOut(Out):
    pass


@derived_from(TaskDetail)
class TaskDetailOut(Out):
    pass


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


@derived_from(CaseView, due_label=str | None)
class CaseOut(Out):
    pass


class CasePage(Out):
    items: list[CaseOut]
    total: int
    limit: int
    offset: int


@derived_from(CaseDetail, elements=dict[str, Literal["active", "completed"]])
class CaseDetailOut(Out):
    pass


@derived_from(HistoryEntry)
class HistoryOut(Out):
    pass


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
    warnings: list[str] = Field(
        default_factory=list,
        description="operator warnings that do not make the service unready (e.g. next year's "
        "official holiday table is not loaded)",
    )


class CalendarYearOut(Out):
    year: int
    status: Literal["official", "provisional"]
    source: str = Field(
        description="official: override, database, bundled or chinese_calendar; provisional: "
        "the missing-year policy (provisional = statutory holidays + weekends)"
    )
    notice: str | None = None


class CalendarOut(Out):
    today: date | None = None
    missing_year_policy: str
    data_version: str
    years: list[CalendarYearOut]
    warnings: list[str]


# ---------------------------------------------------------------- audit, timeline, KPIs


@derived_from(AuditRecord)
class AuditEventOut(Out):
    pass


class AuditPage(Out):
    items: list[AuditEventOut]
    next_cursor: str | None


@derived_from(FieldChange, text=str)
class FieldChangeOut(Out):
    pass


@derived_from(TimelineStep)
class TimelineStepOut(Out):
    pass


@derived_from(ElementState, status=str)
class ElementStateOut(Out):
    pass


@derived_from(Timeline)
class TimelineOut(Out):
    pass


@derived_from(ChainProblem)
class ChainProblemOut(Out):
    pass


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


class HandlerKpisOut(KpiSetOut):
    """One 承办单位's figures over the cases it held in the report's area."""

    unit: str
    name: str


class RankedOut(Out):
    """A 承办单位's place in the monthly 通报 ranking (docs/kpis.md gives the score)."""

    rank: int | None
    unit: str
    name: str
    score: float | None


class KpiReportOut(Out):
    org_path: str
    name: str
    period: str
    as_of: datetime
    total: KpiSetOut
    units: list[UnitKpisOut] = Field(description="by the area where the matter arose")
    handlers: list[HandlerKpisOut] = Field(description="by the 承办单位 that held the work")
    ranking: list[RankedOut]
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


# ---------------------------------------------------------------- evidence (证据材料)


@derived_from(AttachmentView)
class AttachmentOut(Out):
    pass


class AttachmentList(Out):
    items: list[AttachmentOut]
