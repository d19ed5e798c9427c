"""Tier escalation (层级): a tier's time-out, delivered to the process as ``tier_timeout``
or, for a process that does not model it, raised on the case row and held."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER
from engine.clock import as_utc
from engine.errors import NotFound
from engine.scheduler import items
from engine.scheduler.items import ClaimedItem
from engine.storage.models import Definition, Instance, MessageWait
from engine.supervision import records, texts
from engine.supervision.core import (
    CLOSED,
    HANDED_IN,
    MessageSender,
    Scope,
    SupervisionCore,
    log,
)
from engine.vocabulary import TIERS
from engine.workdays import DueResult, Extend, ExtensionRefused, RuleSpec
from engine.workdays.rules import parse_instant

#: The case's tier time limit in the supervision state (a deadline record plus ``tier``).
TIER_CLOCK = "tier_clock"


class Tiers(SupervisionCore):
    """Tier time-outs and escalation."""

    def fire_tier(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        sc = self._scope_for(session, item.case_no, now)
        if sc is None or sc.case.closed_at is not None or sc.case.status in CLOSED:
            return
        if sc.case.tier != item.payload.get("tier"):
            return  # the case moved on in time
        if not self._tier_item_current(sc, item):
            return  # the tier clock is stopped (挂账) or was moved (延期) since
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
                    "gen": payload.get("gen"),
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

    # ---------------------------------------------------------------- tiers
    def _tier_entered(self, sc: Scope, tier: str) -> None:
        sc.writes.cancel_tier_timers()  # every tier timer of the case (key ``tier:<case>:…``)
        sc.state.pop(TIER_CLOCK, None)
        step = f"{self._prefix(sc)}.{self.config.tier_step_prefix}{tier}"
        if step not in self.policy.steps or tier == TIERS[-1]:
            return
        result = self.policy.due(
            step, self._severity(sc.case), sc.now, self.calendar, sc.case.category
        )
        sc.state[TIER_CLOCK] = records.record(
            result, step=step, severity=self._severity(sc.case), gen=1, tier=tier
        )
        self._schedule_tier(sc, sc.state[TIER_CLOCK])

    def _schedule_tier(self, sc: Scope, rec: dict[str, Any]) -> None:
        tier, due = str(rec["tier"]), records.due_of(rec)
        key = f"tier:{sc.case.case_no}:{tier}:{sc.now.isoformat()}:{rec['gen']}"
        sc.writes.rows.setdefault(
            key,
            items.item_row(
                kind="tier_due",
                dedupe_key=key,
                due_at=due,
                now=sc.now,
                instance_id=sc.case.instance_id,
                case_no=sc.case.case_no,
                payload={"tier": tier, "step": rec["step"], "rule": rec["text"], "gen": rec["gen"]},
            ),
        )

    def _tier_item_current(self, sc: Scope, item: ClaimedItem) -> bool:
        """Whether a firing ``tier_due`` item still stands: not while the tier clock is stopped
        (挂账), and not an item of an older generation (the clock was resumed or extended)."""
        rec = sc.state.get(TIER_CLOCK)
        if sc.case.status == "SUSPENDED":
            return False
        if rec is None or item.payload.get("gen") is None:
            return True  # an item scheduled before the tier clock was recorded
        if rec.get("suspended_at"):
            return False
        return bool(item.payload.get("gen") == rec.get("gen"))

    def _tier_clock_stopped(self, sc: Scope, reason: str) -> None:
        """挂账: the tier's time stops with the case's (domain §5.2, §6)."""
        rec = sc.state.get(TIER_CLOCK)
        if rec is None or rec.get("suspended_at"):
            return
        sc.state[TIER_CLOCK] = {**rec, "suspended_at": sc.now.isoformat()}
        sc.writes.cancel_tier_timers()
        sc.audit.add("tier_clock_suspended", sc.actor, tier=rec["tier"], step=rec["step"],
                     due_at=rec["due"], reason=reason)  # fmt: skip

    def _tier_clock_resumed(self, sc: Scope, reason: str | None) -> bool:
        rec = sc.state.get(TIER_CLOCK)
        if rec is None or not rec.get("suspended_at"):
            return False
        since = parse_instant(rec["suspended_at"])
        new = self.policy.after_resume(records.due_result(rec), since, sc.now, self.calendar)
        self._move_tier_clock(sc, rec, new, "tier_clock_resumed", reason=reason,
                              suspended_at=rec["suspended_at"])  # fmt: skip
        return True

    def _tier_clock_extended(self, sc: Scope, days: Any, reason: str) -> None:
        """An approved 延期 moves the tier's time limit by the days granted, in its own unit."""
        rec = sc.state.get(TIER_CLOCK)
        if rec is None:
            return
        current = records.due_result(rec)
        try:
            amount = amount_in_unit(current.rule, days)
        except ExtensionRefused:
            return
        new = self.calendar.due(current.rule.with_adjustment(Extend(amount)), current.start)
        self._move_tier_clock(sc, rec, new, "tier_deadline_extended", reason=reason,
                              amount=amount)  # fmt: skip

    def _move_tier_clock(
        self, sc: Scope, rec: dict[str, Any], new: DueResult, event: str, **details: Any
    ) -> None:
        moved = records.updated(rec, new, suspended_at=rec.get("suspended_at"))
        if event == "tier_clock_resumed":
            moved["suspended_at"] = None
        sc.state[TIER_CLOCK] = moved
        sc.writes.cancel_tier_timers()
        if not moved.get("suspended_at"):
            self._schedule_tier(sc, moved)
        sc.audit.add(event, sc.actor, tier=rec["tier"], step=rec["step"], due_before=rec["due"],
                     due_after=moved["due"], rule=moved["text"], **details)  # fmt: skip

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


def amount_in_unit(rule: RuleSpec, days: Any) -> float:
    """A form asks for days; express them in the limit's own unit (raises ExtensionRefused)."""
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
