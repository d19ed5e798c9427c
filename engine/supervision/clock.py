"""The deadline clock (办理时限): the case's handling limit from the policy, re-grading,
stopping and resuming the clock, recomputing deadlines after the calendar changed."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from engine.audit import SCHEDULER, Actor
from engine.storage.models import Case, HumanTask, OrgUnit
from engine.supervision import records
from engine.supervision.core import Scope
from engine.supervision.ladder import Ladder
from engine.vocabulary import OPEN_TASK_STATES
from engine.workdays import DueResult
from engine.workdays.rules import parse_instant


class DeadlineClock(Ladder):
    """The case's handling limit and its clock."""

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
                HumanTask.due_provisional.is_(True), HumanTask.state.in_(OPEN_TASK_STATES)
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
