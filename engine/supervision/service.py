"""The supervision service: deadlines from the policy, the ladder, tier escalation.

It is a :class:`~engine.runtime.context.TaskListener` (wired into the engine, called inside each
command's transaction) and a provider of due-item handlers for the scheduler (``ladder`` rungs and
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

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.runtime import CommandContext
from engine.scheduler.periodic import PeriodicJob
from engine.scheduler.sweep import Handler
from engine.storage.models import HumanTask
from engine.supervision import records
from engine.supervision.core import CLOCK_STARTS, CLOSED, Scope, decision, truthy
from engine.supervision.decisions import Decisions
from engine.supervision.triggers import Triggers
from engine.vocabulary import InstanceStatus, TaskState
from engine.workdays import DueResult


class Supervision(Decisions, Triggers):
    """Deadline listener + ladder/tier handlers + periodic reports (the face of the rooms:
    core, ladder, tiers, clock, decisions, orders, triggers)."""

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
        result = _due_from_data(result, ctx, (properties or {}).get("dueField"))
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
        if outcome == TaskState.COMPLETED and task.element_id in self.config.extension_tasks:
            self._extension_decided(sc, task)
        elif (
            outcome == TaskState.COMPLETED
            and task.element_id in self.config.hang_tasks
            and truthy(decision(ctx.data, "hang", "approved"))
        ):
            reason = str(decision(ctx.data, "hang", "reason") or "挂账")
            _suspend_case(ctx, reason)
            self._suspend(sc, reason=reason)
        elif (
            outcome == TaskState.COMPLETED
            and task.element_id in self.config.return_review_tasks
            and not truthy(ctx.data.get("return_approved"))
        ):  # the 退单 was judged improper: 通报
            opinion = str(ctx.data.get("return_review_opinion") or "")
            self.improper_return(ctx.session, ctx.case, ctx.audit, ctx.actor, task.id, opinion,
                                 ctx.now)  # fmt: skip
        sc.save()

    def case_changed(self, ctx: CommandContext) -> None:
        sc = self._scope(ctx)
        self.sync_case(sc, rework_count=_int(ctx.data.get("rework_count")))
        sc.save()
        sc.flush()

    # ================================================================ due item handlers
    def due_handlers(self) -> Mapping[str, Handler]:
        return {"ladder": self.fire_rung, "tier_due": self.fire_tier, "order_due": self.fire_order}

    def periodic_jobs(self) -> Sequence[PeriodicJob]:
        return self.jobs

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


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _suspend_case(ctx: CommandContext, reason: str) -> None:
    """An approved 挂账 suspends the case as ``Engine.suspend`` does: status SUSPENDED, no work on
    it until a centre resumes it (``Engine.resume`` / ``POST /cases/{no}/resume``), which also
    restores the remaining time."""
    inst, case = ctx.instance, ctx.case
    if inst.status != InstanceStatus.RUNNING:
        return
    inst.status, inst.status_reason = InstanceStatus.SUSPENDED.value, reason
    case.fields = {**case.fields, "status_before_suspend": case.status, "status_reason": reason}
    case.status = "SUSPENDED"
    ctx.audit.add("instance_suspended", ctx.actor, reason=reason,
                  previous_status=InstanceStatus.RUNNING.value, via="hang_approval")  # fmt: skip


def _due_from_data(result: DueResult, ctx: CommandContext, field: str | None) -> DueResult:
    """A task whose limit the process computed itself (property ``dueField``: the data field
    holding the due instant, e.g. a court-referred mediation's 30 days from the referral and its
    consented extensions) is due then, not the step's limit from the task's opening."""
    value = ctx.data.get(field) if field else None
    if not isinstance(value, str):
        return result
    try:
        due = datetime.fromisoformat(value)
    except ValueError:
        return result
    if due.tzinfo is None or due <= ctx.now:
        return result
    text = f"{result.text[:120]}；按流程计算的期限 ({field}) {due.isoformat()}"
    return replace(result, due=due, text=text)
