"""What the supervision rooms share: the configuration, the state of one case being
supervised (:class:`Scope`), the writes it collects, and :class:`SupervisionCore` with the
service's state and its record, notification and transaction helpers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER, Actor, AuditLog
from engine.calendar_admin import CalendarRefresher
from engine.clock import Clock, SystemClock
from engine.notify import enqueue
from engine.runtime import CommandContext
from engine.runtime.projection import case_changes, case_snapshot
from engine.scheduler import items
from engine.scheduler.periodic import PeriodicJob
from engine.storage.database import Database
from engine.storage.models import Case, HumanTask, Instance, OrgUnit, User, UserRole
from engine.supervision import records
from engine.vocabulary import CLOSED_CASE_STATUSES, OPEN_TASK_STATES
from engine.workdays import DeadlinePolicy, RuleSpec, WorkCalendar

log = logging.getLogger("engine.supervision")
T = TypeVar("T")
CLOSED = frozenset(CLOSED_CASE_STATUSES)
HANDED_IN = frozenset({"FEEDBACK", "VERIFYING", "REVISIT"})
CLOCK_STARTS = frozenset({"DISPATCHED", "SIGNED", "IN_PROGRESS", "RETURN_REQUESTED"})


class MessageSender(Protocol):
    """What the service needs from :class:`engine.runtime.commands.Engine` to deliver a message."""

    def deliver_message(
        self, name: str, correlation_key: str, payload: Mapping[str, Any], actor: Actor
    ) -> str: ...


@dataclass(frozen=True)
class SupervisionConfig:
    default_severity: str = "blue"
    #: The case's handling limit is the policy step ``<prefix>.<case_step>``.
    case_step: str = "resolve"
    #: process id → step prefix (default: the process id itself, e.g. ``dispute``).
    profiles: Mapping[str, str] = field(default_factory=dict)
    #: Tier escalation: a tier's time is the policy step ``<prefix>.<tier_step_prefix><tier>``.
    tier_step_prefix: str = "tier_"
    #: The message a process catches to escalate itself when its tier's time is up.
    tier_message: str = "tier_timeout"
    #: A case whose tier's time is up but that waits elsewhere (交办, 调解…) is checked again after
    #: this long; so is a delivery that failed.
    tier_recheck: timedelta = timedelta(hours=1)
    #: Wait after 约谈 before 督查 when the case has not improved (``inspection`` trigger).
    inspection_wait: RuleSpec = field(default_factory=lambda: RuleSpec("working_days", 5))
    circular_window: timedelta = timedelta(days=90)
    #: Who receives the copies of 警示/约谈/督查 (抄送分管领导): the holder of this role at the
    #: handling unit or, failing one there, at the nearest unit above it (the 包案领导 of the
    #: street or the county). No holder anywhere: the copy goes to the whole unit.
    unit_leader_role: str = "case_leader"
    supervisor_role: str = "supervisor"
    party_role: str = "party"
    extension_tasks: frozenset[str] = frozenset({"approve_extension", "leader_approve_extension"})
    hang_tasks: frozenset[str] = frozenset({"approve_hang"})
    #: The 退单 review: ``return_approved`` false means the return was improper (通报).
    return_review_tasks: frozenset[str] = frozenset({"return_review"})


@dataclass
class Writes:
    """The due-item writes of one command, made at its end in (at most) three statements:
    one UPDATE cancelling rungs, one multi-row INSERT of new rungs, and — when the case
    closed — one DELETE of its settled items."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # dedupe_key → row
    cancel_tasks: set[str] = field(default_factory=set)
    cancel_case: bool = False
    cancel_all: bool = False
    cancel_tiers: bool = False
    closed: bool = False

    def cancel_tier_timers(self) -> None:
        """Take the case's tier timers off: the stored ones and those queued."""
        self.cancel_tiers = True
        self.rows = {k: r for k, r in self.rows.items() if r["kind"] != "tier_due"}

    def cancel(self, target: str) -> None:
        """Take ``target``'s rungs off ("" = every rung): the stored ones and those queued."""
        if target == "":
            self.cancel_all = True
            self.rows = {k: r for k, r in self.rows.items() if r["kind"] != "ladder"}
            return
        if target == "case":
            self.cancel_case = True
        else:
            self.cancel_tasks.add(target)
        self.rows = {
            k: r
            for k, r in self.rows.items()
            if r["kind"] != "ladder" or r["payload"].get("target") != target
        }

    def flush(self, session: Session, instance_id: str) -> None:
        tiers = self.cancel_tiers or self.closed
        if self.cancel_all or self.cancel_tasks or self.cancel_case or tiers:
            items.cancel_ladder(
                session,
                instance_id,
                tasks=sorted(self.cancel_tasks),
                case=self.cancel_case,
                everything=self.cancel_all,
                tiers=tiers,
            )
        if self.closed:
            # A closed case's settled items are done with (the firing proofs stay in
            # ``firings``); only what is still pending (nothing, normally) is kept.
            items.delete_settled(session, instance_id)
        items.schedule_many(session, list(self.rows.values()))
        self.rows, self.cancel_tasks = {}, set()
        self.cancel_case = self.cancel_all = self.cancel_tiers = self.closed = False


@dataclass
class Scope:
    """What one piece of supervision work touches: one case, in one transaction."""

    session: Session
    case: Case
    audit: AuditLog
    now: datetime
    actor: Actor
    state: dict[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    writes: Writes = field(default_factory=Writes)

    #: The tracked case fields when supervision works in its own transaction (a firing, an
    #: operator's command); None inside an engine command, which records its own changes.
    before: dict[str, Any] | None = None

    def save(self) -> None:
        records.save(self.case, self.state)

    def finish(self) -> None:
        """End work done in its own transaction: the records, the due items, and — as an engine
        command does — the tracked case fields it changed (a ladder rise, a tier held) as a
        ``case_updated`` event, which the KPIs and the timeline read."""
        self.save()
        self.flush()
        if self.before is not None:
            before, after = case_changes(self.before, case_snapshot(self.case))
            if after:
                self.audit.add("case_updated", self.actor, data_before=before, data_after=after)
        self.audit.flush()

    def flush(self) -> None:
        """Write the queued due-item changes (at the end of the command's supervision work)."""
        self.writes.flush(self.session, self.case.instance_id)


class SupervisionCore:
    """Deadline listener + ladder/tier handlers + periodic reports: the state they share."""

    def __init__(
        self,
        policy: DeadlinePolicy,
        calendar: WorkCalendar,
        *,
        config: SupervisionConfig | None = None,
        db: Database | None = None,
        clock: Clock | None = None,
        jobs: Sequence[PeriodicJob] = (),
        refresher: CalendarRefresher | None = None,
    ) -> None:
        self.policy = policy
        self.calendar = calendar
        #: Keeps ``calendar`` in step with the official tables loaded into the database.
        self.refresher = refresher or CalendarRefresher(calendar)
        self.config = config or SupervisionConfig()
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.jobs = list(jobs)
        self.messages: MessageSender | None = None
        self._catchers: dict[int, bool] = {}
        self._hours_cache: dict[str, tuple[Any, float]] = {}

    def bind(self, engine: MessageSender) -> None:
        """The engine that delivers ``tier_timeout`` (``build_engine`` wires it)."""
        self.messages = engine

    # ---------------------------------------------------------------- plumbing
    def _records(self, sc: Scope) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        if sc.state.get("case") is not None:
            found.append(("case", sc.state["case"]))
        found.extend(sc.state["tasks"].items())
        return found

    def _store(self, sc: Scope, target: str, rec: dict[str, Any]) -> None:
        if target == "case":
            sc.state["case"] = rec
        else:
            sc.state["tasks"][target] = rec

    def _publish(self, sc: Scope, target: str, rec: dict[str, Any]) -> None:
        """Copy a record's due time to the rows the inbox reads (case, task, anchored tasks)."""
        due, text = records.due_of(rec), str(rec["text"])[:200]
        provisional = records.provisional(rec)
        if target != "case":
            task = _task_row(sc.session, target)
            if task is not None:
                task.due_at, task.due_rule, task.due_provisional = due, text, provisional
            return
        sc.case.due_at, sc.case.due_rule, sc.case.due_provisional = due, text, provisional
        for task_id in rec.get("anchored") or []:
            task = _task_row(sc.session, task_id)
            if task is not None and task.state in OPEN_TASK_STATES:
                task.due_at, task.due_rule, task.due_provisional = due, text, provisional

    def _notify(
        self,
        sc: Scope,
        kind: str,
        title: str,
        body: str,
        *,
        org: str | None = None,
        role: str | None = None,
        user: str | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> None:
        enqueue(
            sc.session,
            now=sc.now,
            kind=kind,
            title=title,
            body=body,
            case_no=sc.case.case_no,
            recipient_org=org,
            recipient_role=role,
            recipient_user=user,
            payload=payload,
        )

    def _leader_of(self, session: Session, unit: str | None) -> tuple[str | None, str | None]:
        """(org, role) to address a copy to the unit's leader (分管领导): see
        :attr:`SupervisionConfig.unit_leader_role`."""
        if unit is None:
            return None, self.config.supervisor_role
        path = session.scalar(select(OrgUnit.path).where(OrgUnit.id == unit))
        chain = [p for p in (path or f"/{unit}/").split("/") if p]
        role = self.config.unit_leader_role
        held = set(
            session.scalars(
                select(UserRole.org_id)
                .join(User, User.id == UserRole.user_id)
                .where(UserRole.role == role, UserRole.org_id.in_(chain), User.active.is_(True))
            )
        )
        for org in reversed(chain):
            if org in held:
                return org, role
        return unit, None

    def _severity(self, case: Case) -> str:
        return case.severity or self.config.default_severity

    def _prefix(self, sc: Scope) -> str:
        return self.config.profiles.get(sc.case.process_id, sc.case.process_id)

    def _scope(self, ctx: CommandContext) -> Scope:
        self.refresher.refresh(ctx.session)
        state = getattr(ctx, "_supervision_state", None)
        if state is None or state[0] is not ctx.case:
            state = (ctx.case, records.state(ctx.case), Writes())
            ctx._supervision_state = state  # type: ignore[attr-defined]
        return Scope(
            ctx.session, ctx.case, ctx.audit, ctx.now, ctx.actor, state[1], ctx.data, state[2]
        )

    def _scope_for(self, session: Session, case_no: str | None, now: datetime) -> Scope | None:
        if case_no is None:
            return None
        self.refresher.refresh(session)
        case = session.get(Case, case_no, populate_existing=True)
        if case is None:
            return None
        audit = AuditLog(session, case.case_no, case.instance_id, now, org_path=case.org_path)
        return Scope(
            session, case, audit, now, SCHEDULER, records.state(case), before=case_snapshot(case)
        )

    def _in_own_transaction(
        self, case_no: str, actor: Actor, work: Callable[[Scope], T]
    ) -> T | None:
        if self.db is None:
            raise RuntimeError("this operation needs the service built with a database")
        now = self.clock.now()
        with self.db.session() as s:
            case = s.get(Case, case_no)
            if case is None:
                return None
            s.execute(select(Instance.id).where(Instance.id == case.instance_id).with_for_update())
            s.refresh(case)
            self.refresher.refresh(s)
            sc = Scope(
                s,
                case,
                AuditLog(s, case_no, case.instance_id, now, org_path=case.org_path),
                now,
                actor,
                records.state(case),
                before=case_snapshot(case),
            )
            result = work(sc)
            sc.finish()
            return result


def _task_row(session: Session, task_id: str) -> HumanTask | None:
    """A task row, also one added in this command and not flushed yet (the engine extracts the
    projections without autoflush)."""
    for obj in session.new:
        if isinstance(obj, HumanTask) and obj.id == task_id:
            return obj
    return session.get(HumanTask, task_id)


def truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "approved", "approve", "同意", "批准")
    return bool(value)


def decision(data: Mapping[str, Any], prefix: str, name: str) -> Any:
    """A field of an approval form: the shipped forms name them ``extension_days``,
    ``hang_reason``…; plain ``days``/``reason``/``approved`` are accepted too."""
    value = data.get(f"{prefix}_{name}")
    return data.get(name) if value is None else value
