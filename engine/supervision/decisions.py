"""Decisions that move a deadline: rework (返工), reopen (重办: the 2nd escalates and calls
an interview), extension approvals (延期)."""

from __future__ import annotations

from engine.clock import as_utc
from engine.errors import Conflict
from engine.storage.models import HumanTask
from engine.supervision import records, texts
from engine.supervision.clock import DeadlineClock
from engine.supervision.core import Scope, decision, truthy
from engine.supervision.tiers import Tiers, amount_in_unit
from engine.workdays import ExtensionRefused


class Decisions(DeadlineClock, Tiers):
    """Rework, reopen and extension decisions."""

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

    # ---------------------------------------------------------------- 挂账 stops the tier clock too
    def _suspend(self, sc: Scope, reason: str) -> None:
        super()._suspend(sc, reason)
        self._tier_clock_stopped(sc, reason)

    def _resume(self, sc: Scope, reason: str | None) -> bool:
        resumed = super()._resume(sc, reason)
        return self._tier_clock_resumed(sc, reason) or resumed

    # ---------------------------------------------------------------- extension (延期)
    def _extension_decided(self, sc: Scope, task: HumanTask) -> None:
        data = sc.data
        reason = str(decision(data, "extension", "reason") or "")
        unit = sc.case.handling_unit or sc.case.owner_org
        if not truthy(decision(data, "extension", "approved")):
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
            amount = amount_in_unit(current.rule, decision(data, "extension", "days"))
            # 上一级审批 (a second or a longer extension, decided by the process) lifts the
            # policy's count and length limits for this grant.
            higher = truthy(decision(data, "extension", "higher_approval"))
            new = self.policy.extend(
                current, amount, requested_at, self.calendar, higher_approval=higher
            )
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
        self._tier_clock_extended(sc, decision(data, "extension", "days"), reason)
        title, body = texts.extension_notice(sc.case.case_no, new.due, reason)
        self._notify(sc, "extension_notice", title, body, role=self.config.party_role)
        self._notify(sc, "extension_granted", title, body, org=unit)
