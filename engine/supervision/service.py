"""The supervision service: deadlines from the policy, the ladder, tier escalation.

It is a :class:`~engine.context.TaskListener` (wired into the engine, called inside each command's
transaction) and a provider of due-item handlers for the scheduler (``ladder`` rungs and
``tier_due`` escalations, fired under the instance lock).

What it does, by hook:

* ``task_opened`` — a user task with a ``deadline`` property (a policy step such as
  ``dispute.sign``) gets ``due_at`` and ``due_rule`` from the policy, and its ladder rungs.
* ``task_closed`` — the task's rungs are cancelled; the 延期 approval task (``approve_extension``)
  applies or refuses the extension; the 挂账 approval (``approve_hang``) stops the clock.
* ``case_changed`` — starts the case's handling limit at dispatch; reacts to what changed since
  the last command: severity (re-grade: ``due = min(current, start + new limit)``), status entering
  or leaving ``SUSPENDED`` (the clock stops; resume restores the remaining time), rework
  (``rework_count`` grew), reopen (``reopen_count`` grew: fresh limit; the 2nd reopen escalates and
  calls an interview), tier (a tier entered starts its escalation timer), closing (all rungs off).

A tier's time-out is the workflow's business: when the process catches the message
``tier_timeout`` (the shipped dispute process does, on 签收/联系当事人/处置), the handler
delivers it through the engine (:meth:`Supervision.bind` gives the service its engine) after
the firing transaction commits, and the process escalates itself. A case not at such a step is
checked again later (``tier_recheck``) unless its result is already handed in. Only a process
that does not model the message gets the old treatment: the tier is raised on the case row and
held there.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER, Actor, AuditLog
from engine.calendar_admin.store import CalendarRefresher
from engine.clock import Clock, SystemClock, as_utc
from engine.context import CommandContext
from engine.errors import Conflict, NotFound
from engine.notify import enqueue
from engine.projection import case_changes, case_snapshot
from engine.scheduler import items
from engine.scheduler.items import ClaimedItem
from engine.scheduler.periodic import PeriodicJob
from engine.scheduler.sweep import Handler
from engine.storage.database import Database
from engine.storage.models import (
    Case,
    Definition,
    HumanTask,
    Instance,
    MessageWait,
    Notification,
    OrgUnit,
)
from engine.supervision import records, texts
from engine.workdays import (
    DeadlinePolicy,
    DueResult,
    ExtensionRefused,
    RuleSpec,
    Suspend,
    WorkCalendar,
    rung_level,
)
from engine.workdays.rules import parse_instant

log = logging.getLogger("engine.supervision")
T = TypeVar("T")

CLOSED = frozenset({"CLOSED", "INVALID", "MERGED", "DIVERTED", "CANCELLED"})
HANDED_IN = frozenset({"FEEDBACK", "VERIFYING", "REVISIT"})
CLOCK_STARTS = frozenset({"DISPATCHED", "SIGNED", "IN_PROGRESS", "RETURN_REQUESTED"})
TIERS = ("grid", "village", "township", "county")


class MessageSender(Protocol):
    """What the service needs from :class:`engine.runtime.Engine` to deliver a message."""

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
    unit_leader_role: str = "unit_leader"
    supervisor_role: str = "supervisor"
    party_role: str = "party"
    extension_tasks: frozenset[str] = frozenset({"approve_extension"})
    hang_tasks: frozenset[str] = frozenset({"approve_hang"})


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


class Supervision:
    """Deadline listener + ladder/tier handlers + periodic reports."""

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

    # ================================================================ TaskListener
    def task_opened(self, ctx: CommandContext, task: HumanTask, properties: dict[str, str]) -> None:
        step = (properties or {}).get("deadline")
        if not step:
            return
        sc = self._scope(ctx)
        case_rec = sc.state.get("case")
        if case_rec is not None and case_rec.get("step") == step:
            # The task *is* the case's handling limit: same due, the case's rungs cover it.
            task.due_at, task.due_rule = records.due_of(case_rec), str(case_rec["text"])[:200]
            task.due_provisional = records.provisional(case_rec)
            case_rec["anchored"] = [*(case_rec.get("anchored") or []), task.id][-20:]
            sc.save()
            return
        severity = self._severity(sc.case)
        hours = self._office_hours(sc, task.candidate_org)
        result = self.policy.due(step, severity, ctx.now, self.calendar, sc.case.category, hours)
        rec = records.record(result, step=step, severity=severity, gen=1, fired=[])
        sc.state["tasks"][task.id] = rec
        task.due_at, task.due_rule = result.due, result.text[:200]
        task.due_provisional = result.provisional
        self._schedule_rungs(sc, task.id, rec, task_id=task.id)
        sc.save()

    def task_closed(self, ctx: CommandContext, task: HumanTask, outcome: str) -> None:
        sc = self._scope(ctx)
        if sc.state["tasks"].pop(task.id, None) is not None:
            self._cancel_rungs(sc, task.id)
        if outcome == "completed" and task.element_id in self.config.extension_tasks:
            self._extension_decided(sc, task)
        elif (
            outcome == "completed"
            and task.element_id in self.config.hang_tasks
            and _truthy(_decision(ctx.data, "hang", "approved"))
        ):
            reason = str(_decision(ctx.data, "hang", "reason") or "挂账")
            _suspend_case(ctx, reason)
            self._suspend(sc, reason=reason)
        sc.save()

    def case_changed(self, ctx: CommandContext) -> None:
        sc = self._scope(ctx)
        self.sync_case(sc, rework_count=_int(ctx.data.get("rework_count")))
        sc.save()
        sc.flush()

    # ================================================================ due item handlers
    def due_handlers(self) -> Mapping[str, Handler]:
        return {"ladder": self.fire_rung, "tier_due": self.fire_tier}

    def periodic_jobs(self) -> Sequence[PeriodicJob]:
        return self.jobs

    def fire_rung(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        sc = self._scope_for(session, item.case_no, now)
        if sc is None:
            return
        target = str(item.payload.get("target"))
        rec = sc.state.get("case") if target == "case" else sc.state["tasks"].get(target)
        if rec is None or rec.get("gen") != item.payload.get("gen") or rec.get("suspended_at"):
            return  # superseded by a recompute, or the clock is stopped
        if target == "case" and (sc.case.closed_at is not None or sc.case.status in HANDED_IN):
            return
        task = None
        if target != "case":
            task = session.get(HumanTask, target)
            if task is None or task.state not in ("open", "claimed"):
                return
        self._apply_rung(sc, str(item.payload["rung"]), rec, task)
        sc.finish()

    def fire_tier(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        sc = self._scope_for(session, item.case_no, now)
        if sc is None or sc.case.closed_at is not None or sc.case.status in CLOSED:
            return
        if sc.case.tier != item.payload.get("tier"):
            return  # the case moved on in time
        name = self.config.tier_message
        waiting = session.scalar(
            select(MessageWait.id)
            .where(MessageWait.instance_id == sc.case.instance_id, MessageWait.message_name == name)
            .limit(1)
        )
        if waiting is not None:
            self._tier_timed_out(sc, item)
        elif self._catches(session, sc.case.instance_id, name):
            self._tier_timeout_later(sc, item)
        else:  # a process that does not model the time-out: hold the tier on the case row
            self._escalate(sc, "本级办理时限届满，自动升级 (the tier's time limit is up)")
        sc.finish()

    def _tier_timed_out(self, sc: Scope, item: ClaimedItem) -> None:
        """Tell the workflow (after this transaction commits: the instance is locked now)."""
        case_no, tier = sc.case.case_no, str(sc.case.tier)
        reason = "本级办理时限届满，超时自动上报"
        payload: dict[str, Any] = {
            "tier": tier,
            "step": item.payload.get("step"),
            "rule": item.payload.get("rule"),
            "due_at": as_utc(item.due_at).isoformat(),
            "reason": reason,
        }
        if self.messages is None:
            log.warning("tier time-out of %s not delivered: no engine bound", case_no)
            sc.audit.add("tier_timeout_undelivered", SCHEDULER, reason="no engine bound",
                         **payload)  # fmt: skip
            return
        sc.audit.add("tier_timeout", SCHEDULER, **payload)
        title, body = texts.escalation_notice(case_no, tier, _next_tier(tier), reason)
        self._notify(
            sc, "tier_timeout", title, body, org=sc.case.owner_org, role=self.config.supervisor_role
        )
        sender, instance_id = self.messages, sc.case.instance_id

        def deliver(_session: Session) -> None:
            self._deliver_tier_timeout(sender, case_no, instance_id, payload)

        event.listen(sc.session, "after_commit", deliver, once=True)

    def _deliver_tier_timeout(
        self, sender: MessageSender, case_no: str, instance_id: str, payload: dict[str, Any]
    ) -> None:
        try:
            sender.deliver_message(self.config.tier_message, case_no, payload, SCHEDULER)
        except NotFound:  # the task was done in between: look again later
            self._schedule_tier_recheck(case_no, instance_id, payload)
        except Exception:  # never escape a commit hook; try again later
            log.exception("delivering the tier time-out of %s failed", case_no)
            self._schedule_tier_recheck(case_no, instance_id, payload)

    def _tier_timeout_later(self, sc: Scope, item: ClaimedItem) -> None:
        """The tier's time is up but the case waits where the process cannot escalate it."""
        if sc.case.status in HANDED_IN:
            sc.audit.add("tier_timeout_skipped", SCHEDULER, tier=sc.case.tier,
                         status=sc.case.status, reason="result handed in")  # fmt: skip
            return
        if not item.payload.get("recheck"):
            sc.audit.add("tier_timeout_deferred", SCHEDULER, tier=sc.case.tier,
                         status=sc.case.status, reason="not at a handling step")  # fmt: skip
        self._schedule_tier_recheck(
            sc.case.case_no, sc.case.instance_id, dict(item.payload), session=sc.session
        )

    def _schedule_tier_recheck(
        self,
        case_no: str,
        instance_id: str,
        payload: Mapping[str, Any],
        *,
        session: Session | None = None,
    ) -> None:
        now = self.clock.now()
        due = now + self.config.tier_recheck

        def put(s: Session) -> None:
            items.schedule(
                s,
                kind="tier_due",
                dedupe_key=f"tier:{case_no}:{payload.get('tier')}:recheck:{due.isoformat()}",
                due_at=due,
                now=now,
                instance_id=instance_id,
                case_no=case_no,
                payload={
                    "tier": payload.get("tier"),
                    "step": payload.get("step"),
                    "rule": payload.get("rule"),
                    "recheck": True,
                },
            )

        if session is not None:
            put(session)
        elif self.db is not None:
            with self.db.session() as s:
                put(s)

    def _catches(self, session: Session, instance_id: str, name: str) -> bool:
        """Whether the instance's process version catches message ``name`` anywhere."""
        definition_id = session.scalar(
            select(Instance.definition_id).where(Instance.id == instance_id)
        )
        if definition_id is None:
            return False
        found = self._catchers.get(definition_id)
        if found is None:
            spec = session.scalar(select(Definition.spec).where(Definition.id == definition_id))
            found = _catches_message(spec, name)
            self._catchers[definition_id] = found
        return found

    # ================================================================ public operations
    def resume_clock(self, case_no: str, actor: Actor, *, reason: str | None = None) -> bool:
        """End a 挂账 (restore the remaining time) outside a workflow command. Needs ``db``."""
        return bool(self._in_own_transaction(case_no, actor, lambda sc: self._resume(sc, reason)))

    def recompute_deadlines(self, *, only_low_confidence: bool = True) -> int:
        """Recompute open deadlines, e.g. after next year's holiday schedule was loaded.

        By default only the provisional ones (``confidence="low"``: computed over a year without
        an official table) — of the cases whose due time or an open task's is marked
        ``due_provisional``. Each case is recomputed in its own transaction, and a deadline is
        only rewritten (new generation, rungs moved, ``deadline_recomputed`` audited) when its
        due time or its provisional mark changes, so running it again changes nothing.
        Returns how many deadlines changed.
        """
        if self.db is None:
            raise RuntimeError("recompute_deadlines needs the service built with a database")
        open_cases = select(Case.case_no).where(Case.closed_at.is_(None))
        if only_low_confidence:
            provisional_tasks = select(HumanTask.case_no).where(
                HumanTask.due_provisional.is_(True), HumanTask.state.in_(("open", "claimed"))
            )
            open_cases = open_cases.where(
                Case.due_provisional.is_(True) | Case.case_no.in_(provisional_tasks)
            )
        with self.db.session() as s:
            self.refresher.refresh(s, force=True)
            case_nos = list(s.scalars(open_cases.order_by(Case.case_no)))
        changed = 0
        for case_no in case_nos:
            changed += (
                self._in_own_transaction(
                    case_no, SCHEDULER, lambda sc: self._recompute_case(sc, only_low_confidence)
                )
                or 0
            )
        return changed

    # ================================================================ the case, command by command
    def sync_case(self, sc: Scope, *, rework_count: int | None = None) -> None:
        case, seen = sc.case, sc.state["seen"]
        closed = case.closed_at is not None or case.status in CLOSED
        if closed:
            if sc.state["tasks"] or not seen.get("closed"):
                self._cancel_rungs(sc, "")
                sc.writes.closed = True  # tier timers off, settled items deleted
            # The deadline records are done with (the audit record keeps every deadline set,
            # extended and fired): a closed case keeps only what says it is closed.
            seen.update(closed=True, status=case.status)
            sc.state.clear()
            sc.state.update(tasks={}, seen=seen)
            return
        self._hold_escalated_tier(sc)
        # suspension by status (Engine.suspend/resume, or a process that sets SUSPENDED)
        if case.status == "SUSPENDED" and seen.get("status") != "SUSPENDED":
            self._suspend(sc, reason=str(case.fields.get("status_reason") or "挂账"))
        elif seen.get("status") == "SUSPENDED" and case.status != "SUSPENDED":
            self._resume(sc, None)
        # the case's handling limit starts at dispatch
        if sc.state.get("case") is None and case.status in CLOCK_STARTS:
            self._start_case_deadline(sc)
        # re-grade
        severity = self._severity(case)
        for target, rec in self._records(sc):
            if rec.get("severity") != severity:
                self._regrade(sc, target, rec, severity)
        # rework and reopen
        if rework_count is not None and rework_count > int(seen.get("rework_count") or 0):
            self._rework(sc)
        if rework_count is not None:
            seen["rework_count"] = rework_count
        reopens = int(case.reopen_count or 0)
        if reopens > int(seen.get("reopen_count") or 0):
            self._reopened(sc, reopens, int(seen.get("reopen_count") or 0))
        seen["reopen_count"] = reopens
        # tier timers
        if case.tier and case.tier != seen.get("tier"):
            self._tier_entered(sc, case.tier)
        seen.update(status=case.status, tier=case.tier, severity=severity)

    # ---------------------------------------------------------------- deadlines
    def _office_hours(self, sc: Scope, org_id: str | None) -> Any:
        """The organisation's own office hours (``attributes.office_hours`` in the organisation
        file, e.g. ``["08:00-12:00", "14:00-18:00"]``, or ``["00:00-24:00"]`` for a 7×24 unit),
        else None: the calendar's default windows. Cached for a minute per unit."""
        if not org_id:
            return None
        now = time.monotonic()
        hit = self._hours_cache.get(org_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        attributes = sc.session.scalar(select(OrgUnit.attributes).where(OrgUnit.id == org_id))
        value = (attributes or {}).get("office_hours")
        self._hours_cache[org_id] = (value, now + 60.0)
        return value

    def _start_case_deadline(self, sc: Scope) -> None:
        step = f"{self._prefix(sc)}.{self.config.case_step}"
        if step not in self.policy.steps:
            return
        severity = self._severity(sc.case)
        hours = self._office_hours(sc, sc.case.handling_unit or sc.case.owner_org)
        result = self.policy.due(step, severity, sc.now, self.calendar, sc.case.category, hours)
        rec = records.record(result, step=step, severity=severity, gen=1, fired=[], extensions=[])
        sc.state["case"] = rec
        self._publish(sc, "case", rec)
        self._schedule_rungs(sc, "case", rec)
        sc.audit.add(
            "deadline_set",
            sc.actor,
            step=step,
            due_at=rec["due"],
            rule=rec["text"],
            severity=severity,
            confidence=rec["confidence"],
        )

    def _replace(
        self,
        sc: Scope,
        target: str,
        old: dict[str, Any],
        new: DueResult,
        event: str,
        **details: Any,
    ) -> dict[str, Any]:
        rec = records.updated(old, new, **details.pop("changes", {}))
        self._store(sc, target, rec)
        self._cancel_rungs(sc, target)
        if not rec.get("suspended_at"):
            self._schedule_rungs(sc, target, rec, task_id=None if target == "case" else target)
        self._publish(sc, target, rec)
        sc.audit.add(
            event,
            sc.actor,
            task_id=None if target == "case" else target,
            step=rec["step"],
            due_before=old["due"],
            due_after=rec["due"],
            rule=rec["text"],
            confidence=rec["confidence"],
            **details,
        )
        return rec

    def _regrade(self, sc: Scope, target: str, rec: dict[str, Any], severity: str) -> None:
        current = records.due_result(rec)
        new = self.policy.after_reclassify(
            current, rec["step"], severity, self.calendar, sc.case.category
        )
        self._replace(
            sc,
            target,
            rec,
            new,
            "deadline_regraded",
            severity_before=rec["severity"],
            severity_after=severity,
            changes={"severity": severity},
        )

    def _rework(self, sc: Scope) -> None:
        rec = sc.state.get("case")
        if rec is None:
            return
        current = records.due_result(rec)
        new = self.policy.after_rework(current, sc.now, self.calendar)
        if new.due == current.due:
            sc.audit.add(
                "deadline_kept_on_rework",
                sc.actor,
                due_at=rec["due"],
                policy=self.policy.rework_due,
            )
            return
        self._replace(sc, "case", rec, new, "deadline_reworked", policy=self.policy.rework_due)

    def _reopened(self, sc: Scope, count: int, previous: int) -> None:
        rec = sc.state.get("case")
        if rec is not None:
            closed_at = sc.case.closed_at or sc.now
            try:
                decision = self.policy.after_reopen(
                    records.due_result(rec), as_utc(closed_at), sc.now, previous, self.calendar
                )
            except Conflict as exc:
                sc.audit.add("reopen_outside_window", sc.actor, reason=exc.message)
            else:
                self._replace(
                    sc,
                    "case",
                    rec,
                    decision.due,
                    "deadline_reopened",
                    reopen_count=count,
                    changes={"fired": []},
                )
        if count >= self.policy.reopen.auto_escalate_after:
            tier_before = sc.state["seen"].get("tier")
            if sc.case.tier == tier_before:  # the process did not escalate itself
                self._escalate(sc, f"第 {count} 次重新办理，自动升级 (reopened {count} times)")
            else:
                sc.audit.add(
                    "tier_escalated",
                    sc.actor,
                    tier_before=tier_before,
                    tier_after=sc.case.tier,
                    reason="reopen",
                    reopen_count=count,
                )
        if count >= self.policy.ladder.triggers.interview_reopen_count:
            target_rec = sc.state.get("case") or {
                "due": sc.now.isoformat(),
                "text": "-",
                "step": "reopen",
            }
            self._apply_rung(sc, "interview", target_rec, None, trigger="reopen_count")

    def _suspend(self, sc: Scope, reason: str) -> None:
        for target, rec in self._records(sc):
            if rec.get("suspended_at"):
                continue
            rec["suspended_at"] = sc.now.isoformat()
            self._store(sc, target, rec)
            self._cancel_rungs(sc, target)
            sc.audit.add(
                "deadline_suspended",
                sc.actor,
                task_id=None if target == "case" else target,
                step=rec["step"],
                due_at=rec["due"],
                reason=reason,
            )

    def _resume(self, sc: Scope, reason: str | None) -> bool:
        resumed = False
        for target, rec in self._records(sc):
            if not rec.get("suspended_at"):
                continue
            since = parse_instant(rec["suspended_at"])
            new = self.policy.after_resume(records.due_result(rec), since, sc.now, self.calendar)
            self._replace(
                sc,
                target,
                rec,
                new,
                "deadline_resumed",
                suspended_at=rec["suspended_at"],
                reason=reason,
                changes={"suspended_at": None},
            )
            resumed = True
        return resumed

    def _recompute_case(self, sc: Scope, only_low: bool) -> int:
        changed = 0
        for target, rec in self._records(sc):
            if only_low and rec.get("confidence") != "low":
                continue
            current = records.due_result(rec)
            new = self.calendar.recompute(current.rule, current.start)
            if new.due == current.due and new.confidence == current.confidence:
                continue
            self._replace(
                sc,
                target,
                rec,
                new,
                "deadline_recomputed",
                data_version=new.data_version,
                provisional_before=records.provisional(rec),
                provisional_after=new.provisional,
            )
            changed += 1
        return changed

    # ---------------------------------------------------------------- extension (延期)
    def _extension_decided(self, sc: Scope, task: HumanTask) -> None:
        data = sc.data
        reason = str(_decision(data, "extension", "reason") or "")
        unit = sc.case.handling_unit or sc.case.owner_org
        if not _truthy(_decision(data, "extension", "approved")):
            sc.audit.add("extension_denied", sc.actor, task_id=task.id, reason=reason)
            title, body = texts.extension_refused(sc.case.case_no, f"审批未通过：{reason}")
            self._notify(sc, "extension_denied", title, body, org=unit)
            return
        rec = sc.state.get("case")
        requested_at = as_utc(task.created_at)
        try:
            if rec is None:
                raise ExtensionRefused(
                    "案件尚无办理时限，无需延期 (the case has no deadline)", reason="no_deadline"
                )
            current = records.due_result(rec)
            amount = _amount_in_unit(current.rule, _decision(data, "extension", "days"))
            new = self.policy.extend(current, amount, requested_at, self.calendar)
        except ExtensionRefused as exc:
            sc.audit.add(
                "extension_refused",
                sc.actor,
                task_id=task.id,
                reason=exc.message,
                code=exc.details.get("reason"),
                requested_at=requested_at.isoformat(),
            )
            title, body = texts.extension_refused(sc.case.case_no, exc.message)
            self._notify(sc, "extension_refused", title, body, org=unit)
            return
        history = [
            *rec.get("extensions", []),
            {
                "at": sc.now.isoformat(),
                "amount": amount,
                "reason": reason,
                "due_before": rec["due"],
                "due_after": new.due.isoformat(),
            },
        ]
        self._replace(
            sc,
            "case",
            rec,
            new,
            "deadline_extended",
            reason=reason,
            amount=amount,
            extensions=len(history),
            changes={"extensions": history},
        )
        title, body = texts.extension_notice(sc.case.case_no, new.due, reason)
        self._notify(sc, "extension_notice", title, body, role=self.config.party_role)
        self._notify(sc, "extension_granted", title, body, org=unit)

    # ---------------------------------------------------------------- the ladder
    def _schedule_rungs(
        self, sc: Scope, target: str, rec: dict[str, Any], *, task_id: str | None = None
    ) -> None:
        current = records.due_result(rec)
        # Time spent suspended does not count: shares of the limit run from a start moved later
        # by the suspensions, so a rung never falls inside (or because of) a 挂账.
        stopped = sum(
            (a.end - a.start for a in current.rule.adjustments if isinstance(a, Suspend)),
            timedelta(),
        )
        start = min(current.start + stopped, current.due)
        rungs = [
            (rung.name, rung.at)
            for rung in self.policy.ladder_rungs(
                start, current.due, rec["severity"], self.calendar, rule=current.rule
            )
        ]
        triggers = self.policy.ladder.triggers
        names = {name for name, _ in rungs}
        if triggers.inspection_after_interview_no_improvement and "inspection" not in names:
            for name, at in list(rungs):
                if name == "interview":
                    wait = self.calendar.due(self.config.inspection_wait, at).due
                    rungs.append(("inspection", wait))
        fired = set(rec.get("fired") or [])
        for name, at in rungs:
            if name in fired:
                continue
            key = f"ladder:{sc.case.case_no}:{target}:{rec['gen']}:{name}"
            # queued; written with the command's other rungs in one INSERT (Scope.flush)
            sc.writes.rows.setdefault(
                key,
                items.item_row(
                    kind="ladder",
                    dedupe_key=key,
                    due_at=at,
                    now=sc.now,
                    instance_id=sc.case.instance_id,
                    case_no=sc.case.case_no,
                    task_id=task_id,
                    payload={"target": target, "rung": name, "gen": rec["gen"]},
                ),
            )

    def _cancel_rungs(self, sc: Scope, target: str) -> None:
        sc.writes.cancel(target)

    def _apply_rung(
        self,
        sc: Scope,
        name: str,
        rec: dict[str, Any],
        task: HumanTask | None,
        *,
        trigger: str = "time",
    ) -> None:
        case = sc.case
        level = rung_level(name)
        before = case.ladder_level if case.ladder_level is not None else -1
        case.ladder_level = max(before, level)  # monotone: never goes down
        case.updated_at = sc.now
        if "fired" in rec:
            rec["fired"] = [*rec["fired"], name]
        kind = texts.rung_kind(name)
        what = f"任务「{task.name}」" if task is not None else "案件办理"
        sc.audit.add(
            f"ladder_{kind}",
            SCHEDULER if trigger == "time" else sc.actor,
            task_id=task.id if task is not None else None,
            rung=name,
            label=texts.rung_label(name),
            level=level,
            ladder_level_before=before,
            ladder_level=case.ladder_level,
            due_at=rec["due"],
            rule=rec["text"],
            trigger=trigger,
        )
        title = texts.rung_title(name, case.case_no)
        body = texts.rung_body(
            name, title=case.title, what=what, due=records.due_of(rec), rule=str(rec["text"])
        )
        unit = case.handling_unit or case.owner_org
        payload = {"rung": name, "level": level, "task_id": task.id if task else None}
        if task is not None:
            self._notify(
                sc,
                f"ladder_{kind}",
                title,
                body,
                org=task.candidate_org,
                role=task.candidate_role,
                user=task.assignee,
                payload=payload,
            )
        else:
            self._notify(sc, f"ladder_{kind}", title, body, org=unit, payload=payload)
        if kind in ("warning", "interview", "inspection"):  # 抄送分管领导 / 单位负责人
            self._notify(
                sc,
                f"ladder_{kind}_cc",
                title,
                body,
                org=unit,
                role=self.config.unit_leader_role,
                payload=payload,
            )
        if kind in ("circular", "interview", "inspection"):
            self._notify(
                sc,
                f"ladder_{kind}_supervisor",
                title,
                body,
                role=self.config.supervisor_role,
                payload=payload,
            )
        if kind == "circular" and unit and case.ladder_level < rung_level("interview"):
            self._circulars_may_call_interview(sc, unit, rec)

    def _circulars_may_call_interview(self, sc: Scope, unit: str, rec: dict[str, Any]) -> None:
        since = sc.now - self.config.circular_window
        sc.session.flush()
        count = sc.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.kind == "ladder_circular",
                Notification.recipient_org == unit,
                Notification.created_at >= since,
            )
        )
        if int(count or 0) >= self.policy.ladder.triggers.interview_circulars_per_quarter:
            self._apply_rung(sc, "interview", rec, None, trigger="circulars_per_quarter")

    # ---------------------------------------------------------------- tiers
    def _tier_entered(self, sc: Scope, tier: str) -> None:
        sc.writes.cancel_tier_timers()  # every tier timer of the case (key ``tier:<case>:…``)
        step = f"{self._prefix(sc)}.{self.config.tier_step_prefix}{tier}"
        if step not in self.policy.steps or tier == TIERS[-1]:
            return
        result = self.policy.due(
            step, self._severity(sc.case), sc.now, self.calendar, sc.case.category
        )
        key = f"tier:{sc.case.case_no}:{tier}:{sc.now.isoformat()}"
        sc.writes.rows.setdefault(
            key,
            items.item_row(
                kind="tier_due",
                dedupe_key=key,
                due_at=result.due,
                now=sc.now,
                instance_id=sc.case.instance_id,
                case_no=sc.case.case_no,
                payload={"tier": tier, "step": step, "rule": result.text},
            ),
        )

    def _escalate(self, sc: Scope, reason: str) -> None:
        case = sc.case
        old = case.tier or TIERS[0]
        if old not in TIERS or old == TIERS[-1]:
            sc.audit.add("escalation_not_possible", sc.actor, tier=old, reason=reason)
            return
        new = TIERS[TIERS.index(old) + 1]
        case.tier = new
        case.escalation_count = (case.escalation_count or 0) + 1
        sc.state["tier"] = {"from": old, "to": new}
        sc.state["seen"]["tier"] = new
        sc.audit.add(
            "tier_escalated",
            sc.actor,
            tier_before=old,
            tier_after=new,
            reason=reason,
            escalation_count=case.escalation_count,
        )
        title, body = texts.escalation_notice(case.case_no, old, new, reason)
        self._notify(
            sc, "tier_escalated", title, body, org=case.owner_org, role=self.config.supervisor_role
        )
        self._tier_entered(sc, new)

    def _hold_escalated_tier(self, sc: Scope) -> None:
        """Keep an automatic escalation visible until the workflow's own data moves the tier."""
        override = sc.state.get("tier")
        if not override:
            return
        if sc.case.tier == override["from"]:
            sc.case.tier = override["to"]
        else:
            sc.state.pop("tier", None)

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
            if task is not None and task.state in ("open", "claimed"):
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


def _next_tier(tier: str) -> str:
    return TIERS[min(TIERS.index(tier) + 1, len(TIERS) - 1)] if tier in TIERS else tier


def _catches_message(spec: Any, name: str) -> bool:
    """A message event definition named ``name`` somewhere in a serialized process spec."""
    if isinstance(spec, dict):
        if spec.get("name") == name and str(spec.get("typename", "")).startswith("Message"):
            return True
        return any(_catches_message(v, name) for v in spec.values())
    if isinstance(spec, list):
        return any(_catches_message(v, name) for v in spec)
    return False


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "approved", "approve", "同意", "批准")
    return bool(value)


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _amount_in_unit(rule: RuleSpec, days: Any) -> float:
    """The form asks for days; express them in the limit's own unit."""
    if isinstance(days, bool) or not isinstance(days, int | float | str):
        raise ExtensionRefused("延期天数无效 (the number of days is missing)", reason="bad_amount")
    try:
        value = float(days)
    except ValueError:
        raise ExtensionRefused(f"延期天数无效: {days!r}", reason="bad_amount") from None
    if value <= 0:
        raise ExtensionRefused("延期天数必须大于 0 (days must be positive)", reason="bad_amount")
    factor = {"days": 1, "working_days": 1, "hours": 24, "minutes": 1440}.get(rule.unit)
    if factor is None:  # working hours: a working day of office time
        factor = 8
    amount = value * factor
    return int(amount) if amount.is_integer() else amount


def _decision(data: Mapping[str, Any], prefix: str, name: str) -> Any:
    """A field of an approval form: the shipped forms name them ``extension_days``,
    ``hang_reason``…; plain ``days``/``reason``/``approved`` are accepted too."""
    value = data.get(f"{prefix}_{name}")
    return data.get(name) if value is None else value


def _suspend_case(ctx: CommandContext, reason: str) -> None:
    """An approved 挂账 suspends the case as ``Engine.suspend`` does: status SUSPENDED, no work on
    it until a centre resumes it (``Engine.resume`` / ``POST /cases/{no}/resume``), which also
    restores the remaining time."""
    inst, case = ctx.instance, ctx.case
    if inst.status != "running":
        return
    inst.status, inst.status_reason = "suspended", reason
    case.fields = {**case.fields, "status_before_suspend": case.status, "status_reason": reason}
    case.status = "SUSPENDED"
    ctx.audit.add("instance_suspended", ctx.actor, reason=reason, previous_status="running",
                  via="hang_approval")  # fmt: skip
