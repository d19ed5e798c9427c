"""SQLAlchemy models: the whole storage layout (see docs/architecture.md).

Instances store the workflow's *state* only; the process spec is stored once per definition
version. Human tasks, due items, message waits and cases are projections written in the same
transaction as the instance state, so queries never load a workflow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class HexDigest(TypeDecorator[str]):
    """A SHA-256 digest: 32 bytes in the database, lowercase hex (64 characters) in Python.

    Reads a hex text as it is too (a digest written as text by hand or by an old tool)."""

    impl = LargeBinary(32)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> bytes | None:
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None or isinstance(value, str):
            return value
        return bytes(value).hex()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType, datetime: UTCDateTime}


# ---------------------------------------------------------------- organisations and people


class OrgUnit(Base):
    """An organisation unit: county, township, village/community, grid, or a department."""

    __tablename__ = "org_units"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # county|township|village|grid|department
    tier: Mapped[str | None] = mapped_column(String(16))  # grid|village|township|county
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("org_units.id"))
    # Materialised path "/county/township/village/": subtree = LIKE path || '%'
    path: Mapped[str] = mapped_column(String(600), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("org_units.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    __table_args__ = (Index("ix_user_roles_org_role", "org_id", "role"),)


# ---------------------------------------------------------------- definitions


class Bundle(Base):
    """One deployment: the exact files, byte for byte."""

    __tablename__ = "bundles"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64))


class BundleFile(Base):
    __tablename__ = "bundle_files"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"), index=True)
    filename: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # bpmn|dmn|form
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    __table_args__ = (UniqueConstraint("bundle_id", "filename"),)


class Definition(Base):
    """A definition version: one executable process id at one content hash."""

    __tablename__ = "definitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    process_id: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(300))
    content_hash: Mapped[str] = mapped_column(String(64))
    bundle_id: Mapped[int] = mapped_column(ForeignKey("bundles.id"))
    source_file: Mapped[str] = mapped_column(String(300))
    # Serialized process spec + subprocess specs, stored once per version.
    spec: Mapped[dict[str, Any]]
    # Per-element facts the engine needs without loading the spec (forms, lanes, names).
    elements: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    deployed_by: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("process_id", "version"),
        UniqueConstraint("process_id", "content_hash", name="uq_definitions_process_hash"),
    )


# ---------------------------------------------------------------- instances and cases


class Instance(Base):
    __tablename__ = "instances"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("definitions.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running|suspended|completed|cancelled|error
    # Optimistic concurrency: every command bumps it with a conditional UPDATE.
    version: Mapped[int] = mapped_column(Integer, default=1)
    state: Mapped[dict[str, Any]]
    serializer_version: Mapped[str] = mapped_column(String(16))
    spiff_version: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the projections hold for this instance, so a command touches only what changed:
    # {spiff task id: human task id} of open tasks, and the keys of waiting timers/messages.
    open_tasks: Mapped[dict[str, Any]] = mapped_column(default=dict)
    waits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    loop_compactions: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status_reason: Mapped[str | None] = mapped_column(Text)
    # A finished instance keeps no state (it never runs again): what its diagram overlay shows
    # is kept here instead (packed, engine/runtime/diagram.py); None while it runs.
    element_states: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    __mapper_args__ = {"version_id_col": version}


class Case(Base):
    """The business view of a case (矛盾纠纷/事件): the projection the inbox and filters read."""

    __tablename__ = "cases"
    case_no: Mapped[str] = mapped_column(String(100), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    process_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(32), index=True)  # domain state, e.g. SCREENING
    title: Mapped[str] = mapped_column(String(500), default="")
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    severity: Mapped[str | None] = mapped_column(String(16), index=True)
    tier: Mapped[str | None] = mapped_column(String(16), index=True)
    org_id: Mapped[str | None] = mapped_column(String(64))  # grid/unit where the matter arose
    org_path: Mapped[str] = mapped_column(String(600), default="/")
    owner_org: Mapped[str | None] = mapped_column(String(64))  # current owner (tier centre/unit)
    handling_unit: Mapped[str | None] = mapped_column(String(64))
    case_leader: Mapped[str | None] = mapped_column(String(64))
    source_channel: Mapped[str | None] = mapped_column(String(32))
    reported_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    due_rule: Mapped[str | None] = mapped_column(String(200))
    # The due time consulted a year without an official holiday table (暂定): recomputed when
    # ``bihuan calendar load`` loads that year.
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    closed_at: Mapped[datetime | None]
    resolved_tier: Mapped[str | None] = mapped_column(String(16))
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    escalation_count: Mapped[int] = mapped_column(Integer, default=0)
    ladder_level: Mapped[int] = mapped_column(Integer, default=-1)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    eval_excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime]
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The head of the case's audit chain, kept here so appending needs no extra query; the
    # chain itself (audit_events) is what verification reads.
    audit_seq: Mapped[int] = mapped_column(Integer, default=0)
    audit_head: Mapped[str] = mapped_column(String(64), default="0" * 64)
    # Subtree filters are ``org_path LIKE '/county/town/%'``: on PostgreSQL a btree serves a
    # LIKE prefix only with the pattern operator class (the database collation is not C).
    __table_args__ = (
        Index("ix_cases_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}),
    )


class HumanTask(Base):
    """The inbox projection of a READY user task."""

    __tablename__ = "human_tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"))
    case_no: Mapped[str] = mapped_column(String(100), index=True)
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    candidate_org: Mapped[str | None] = mapped_column(String(64))
    candidate_role: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # open|claimed|completed|cancelled
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    due_rule: Mapped[str | None] = mapped_column(String(200))
    due_provisional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    priority: Mapped[int] = mapped_column(Integer, default=50)
    form_ref: Mapped[str | None] = mapped_column(String(200))
    ui_form_ref: Mapped[str | None] = mapped_column(String(200))
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index("ix_human_tasks_inbox", "candidate_org", "candidate_role", "state", "due_at"),
        Index("ix_human_tasks_assignee", "assignee", "state", "due_at"),
        Index("ix_human_tasks_instance_state", "instance_id", "state"),
    )


class TaskComment(Base):
    __tablename__ = "task_comments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(ForeignKey("human_tasks.id"), index=True)
    instance_id: Mapped[str] = mapped_column(String(36))
    author: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class MessageWait(Base):
    """A message an instance is waiting for, so delivery finds it without loading instances."""

    __tablename__ = "message_waits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_id: Mapped[str] = mapped_column(ForeignKey("instances.id"), index=True)
    message_name: Mapped[str] = mapped_column(String(200))
    correlation_key: Mapped[str] = mapped_column(String(200))
    __table_args__ = (Index("ix_message_waits_lookup", "message_name", "correlation_key"),)


# ---------------------------------------------------------------- time


class DueItem(Base):
    """Something that must happen at a time: a BPMN timer, a deadline, a ladder rung, a job.

    The scheduler sweeps ``state='pending' AND due_at <= now`` through ``ix_due_items_sweep`` and
    leases rows; ``dedupe_key`` is unique so a firing is recorded once whoever tries it.
    """

    __tablename__ = "due_items"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # bpmn_timer|task_due|case_due|ladder|job
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    instance_id: Mapped[str | None] = mapped_column(String(36), index=True)
    case_no: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|done|cancelled
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_due_items_sweep", "state", "due_at"),)


class CalendarYear(Base):
    """One year's official holiday table (国务院办公厅 节假日安排): ``bihuan calendar load``.

    In the database so that every node computes with it; it wins over the bundled table and the
    ``chinesecalendar`` package (the operator's override file still wins over it).
    """

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[str] = mapped_column(String(100))  # the file's ``version``
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the year's content
    notice: Mapped[str | None] = mapped_column(String(500))
    holidays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # "YYYY-MM-DD" → name
    workdays: Mapped[dict[str, Any]] = mapped_column(default=dict)  # 调休上班 days
    source_file: Mapped[str] = mapped_column(String(500))
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str] = mapped_column(String(64))


class Firing(Base):
    """Proof that a due item took effect: the primary key makes it happen once."""

    __tablename__ = "firings"
    dedupe_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    fired_at: Mapped[datetime]
    fired_by: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]


class SchedulerLease(Base):
    """Leader election for the scheduler embedded in ``bihuan serve``."""

    __tablename__ = "scheduler_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    lease_until: Mapped[datetime]


# ---------------------------------------------------------------- audit and outbox


class AuditEvent(Base):
    """Append-only; hash-chained per case: ``hash`` covers the previous event's hash.

    ``prev_hash`` is stored only where it is not implied (retention summaries, and events
    written before migration 0005 whose link was not the previous row): NULL means "the hash
    of the case's previous event" (GENESIS for the first). See docs/audit.md.
    """

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    case_no: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(Integer)
    instance_id: Mapped[str | None] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(48))
    at: Mapped[datetime]
    actor_user: Mapped[str | None] = mapped_column(String(64))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    actor_org: Mapped[str | None] = mapped_column(String(64))
    org_path: Mapped[str | None] = mapped_column(String(600))
    task_id: Mapped[str | None] = mapped_column(String(36))
    element_id: Mapped[str | None] = mapped_column(String(200))
    element_name: Mapped[str | None] = mapped_column(String(300))
    data_before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    data_after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str | None] = mapped_column(HexDigest())
    hash: Mapped[str] = mapped_column(HexDigest())
    __table_args__ = (
        UniqueConstraint("case_no", "seq", name="uq_audit_events_case_seq"),
        Index("ix_audit_events_at", "at"),
        Index(
            "ix_audit_events_org",
            "org_path",
            "at",
            postgresql_ops={"org_path": "varchar_pattern_ops"},
        ),
    )


class AuditAnchor(Base):
    """A periodic anchor of every chain head, signed with the server key."""

    __tablename__ = "audit_anchors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    heads: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class Notification(Base):
    """The outbox: front-ends read it, a pluggable sender delivers it."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    created_at: Mapped[datetime]
    case_no: Mapped[str | None] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(48))
    recipient_org: Mapped[str | None] = mapped_column(String(64))
    recipient_role: Mapped[str | None] = mapped_column(String(32))
    recipient_user: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    delivered_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (Index("ix_notifications_state", "state", "id"),)


class ChangeEvent(Base):
    """A feed of task/case changes for the server-sent event stream (any worker can tail it)."""

    __tablename__ = "change_events"
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))  # task|case
    case_no: Mapped[str | None] = mapped_column(String(100))
    org_path: Mapped[str | None] = mapped_column(String(600))
    candidate_org: Mapped[str | None] = mapped_column(String(64))
    candidate_role: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    principal: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(500))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime]


class Report(Base):
    """Stored periodic reports: 日排查, 周汇总, 月研判."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    org_id: Mapped[str] = mapped_column(String(64))
    period: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    content: Mapped[dict[str, Any]]
    __table_args__ = (UniqueConstraint("kind", "org_id", "period", name="uq_reports_period"),)


# ---------------------------------------------------------------- KPI facts (engine/kpi)

#: JSON written as SQL NULL for None (the facts of most cases have no lists at all)
NullableJson = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class CaseFactsRow(Base):
    """One case's KPI facts: the fold of its audit events up to ``last_seq`` (engine/kpi).

    Kept current by the transaction that appends the case's events (``AuditLog.flush`` →
    ``engine.kpi.store.advance``); rows written without it are caught up before a report
    (``engine.kpi.catchup``). The KPI report sums these columns in SQL; ``lists`` holds the
    instants of the repeatable facts and the fold's open look-ahead (to continue the fold).
    """

    __tablename__ = "case_facts"
    case_no: Mapped[str] = mapped_column(String(100), primary_key=True)
    org_path: Mapped[str | None] = mapped_column(String(600))  # as the fold last saw it
    last_seq: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime]  # the latest event instant folded (max, not the last seq's)
    moved_at: Mapped[datetime | None]  # the latest instant the org_path changed
    reported_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    to_county_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(String)
    tier: Mapped[str | None] = mapped_column(String)
    resolved_tier: Mapped[str | None] = mapped_column(String)
    severity: Mapped[str | None] = mapped_column(String)
    category: Mapped[str | None] = mapped_column(String)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    eval_excluded: Mapped[bool] = mapped_column(Boolean)
    ladder_level: Mapped[int] = mapped_column(Integer)
    reopen_count: Mapped[int] = mapped_column(Integer)
    rework_count: Mapped[int] = mapped_column(Integer)
    return_count: Mapped[int] = mapped_column(Integer)
    correction_count: Mapped[int] = mapped_column(Integer)
    improper_return_count: Mapped[int] = mapped_column(Integer)
    agreement_count: Mapped[int] = mapped_column(Integer)
    jc_count: Mapped[int] = mapped_column(Integer)
    supervision_count: Mapped[int] = mapped_column(Integer)  # ladder rises to 警示 or above
    # earliest / latest instant of the facts counted per period (reworks, corrections, improper
    # returns, agreements, rises to 警示+): a period holding both is summed in SQL
    marks_from: Mapped[datetime | None]
    marks_to: Mapped[datetime | None]
    lists: Mapped[dict[str, Any] | None] = mapped_column(NullableJson)
    __table_args__ = (
        Index(
            "ix_case_facts_org_path", "org_path", postgresql_ops={"org_path": "varchar_pattern_ops"}
        ),
    )


class KpiWatermark(Base):
    """How far the KPI catch-up has looked at ``audit_events`` (by id)."""

    __tablename__ = "kpi_watermark"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    audit_id: Mapped[int] = mapped_column(BigInteger)
