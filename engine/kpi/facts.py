"""Per-case facts folded from the case's audit events: the only input the KPIs read.

Which event gives which fact (see docs/kpis.md for the full table):

* ``case_updated`` (the domain record; ``data_after`` holds each tracked field as it changes):
  status → registered / dispatched / closed (and reopened) instants; ``due_at``; ``tier`` (a
  rise from a known lower tier is an escalation, a rise to ``county`` is 上行); ``reopen_count``
  rises → 重办; ``ladder_level`` rises → 督办 rungs; ``resolved_tier``, ``satisfaction``,
  ``eval_excluded``, ``severity``, ``category`` as last recorded.
* ``task_completed`` of the dispute process's tasks (engine's ``data_after`` holds only the
  *changed* form fields, so a decision equal to the previous one is missing; then the outcome is
  read from the next task the same command created — the process's flows fix it):

  ================== ============================== =========================================
  element            explicit field                 next task created by the same command
  ================== ============================== =========================================
  sign_case          sign_decision == "return"      return_review → 退单 (return requested)
  return_review      return_approved (bool)         dispatch_case → approved (错派, corrected)
                                                    first_contact → denied (不当退单)
  review_result      review_decision == "rework"    handle_case → 返工 (rework)
  mediate_case       mediation_outcome=="agreement" judicial_confirmation / feedback_result →
                                                    agreement reached
  judicial_confirmation (completed at all)          → 司法确认 applied
  feedback_result    resolved (bool)                → the handling unit's feedback (反馈): its
                                                    instant (按期办结) and its 化解 outcome
  revisit_party      contact_result, problem_solved, → the 回访 outcome (化解 confirmed by the
                     agreement_performed            party; 协议履行)
  first_contact      (completed at all; ``late``)   → 响应 (first contact within its limit)
  ================== ============================== =========================================

  A case going back into handling (status DISPATCHED, SIGNED, IN_PROGRESS, RETURN_REQUESTED:
  a rework, an escalation, a reopen) clears the feedback and 回访 outcomes: the next round's
  count.

* explicit domain events, when a process emits them, count directly: ``rework``,
  ``dispatch_corrected`` (domain §8.1 asks for these two to be kept apart).
* ``audit_summary`` (retention): restores the facts saved when the case's detail was purged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from engine.clock import as_utc
from engine.vocabulary import SUMMARY_EVENT, TIER_RANK

REGISTERED_STATES = frozenset(
    {
        "REGISTERED",
        "DISPATCHED",
        "SIGNED",
        "RETURN_REQUESTED",
        "IN_PROGRESS",
        "SUSPENDED",
        "FEEDBACK",
        "VERIFYING",
        "REVISIT",
        "CLOSED",
    }
)


#: the task whose completion is the first contact (响应); its ``details.late`` is read
CONTACT = "first_contact"
#: statuses of a case in a unit's hands before its feedback: entering one clears the round's
#: feedback and 回访 outcomes (rework, escalation, reopen)
HANDLING_STATES = frozenset(
    {"REGISTERED", "DISPATCHED", "SIGNED", "RETURN_REQUESTED", "IN_PROGRESS"}
)


class EventLike(Protocol):
    """What the fold reads of an event (an ``AuditEvent`` row or a Core row both fit)."""

    @property
    def seq(self) -> int: ...
    @property
    def event_type(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def org_path(self) -> str | None: ...
    @property
    def element_id(self) -> str | None: ...
    @property
    def data_before(self) -> dict[str, Any] | None: ...
    @property
    def data_after(self) -> dict[str, Any] | None: ...
    @property
    def details(self) -> dict[str, Any]: ...


@dataclass
class CaseFacts:
    """What the record says about one case (instants are aware UTC)."""

    case_no: str
    org_path: str | None = None
    reported_at: datetime | None = None
    registered_at: datetime | None = None
    dispatched_at: datetime | None = None
    closed_at: datetime | None = None  # the last closure, None while (re)opened
    status: str | None = None
    due_at: datetime | None = None
    tier: str | None = None
    resolved_tier: str | None = None
    severity: str | None = None
    category: str | None = None
    satisfaction: int | None = None
    eval_excluded: bool = False
    ladder_level: int = -1
    escalations: list[datetime] = field(default_factory=list)
    to_county_at: datetime | None = None
    reopens: list[datetime] = field(default_factory=list)
    reworks: list[datetime] = field(default_factory=list)
    returns: list[datetime] = field(default_factory=list)
    corrections: list[datetime] = field(default_factory=list)  # approved returns (错派)
    improper_returns: list[datetime] = field(default_factory=list)  # denied returns
    agreements: list[datetime] = field(default_factory=list)
    jc_applied: list[datetime] = field(default_factory=list)
    rungs: list[tuple[datetime, int]] = field(default_factory=list)  # ladder rises (at, level)
    handling_unit: str | None = None  # 承办单位 (org id) that last held the work
    fed_back_at: datetime | None = None  # the handling unit's last feedback (反馈) this round
    feedback_resolved: bool | None = None  # that feedback's 化解 outcome
    revisit_contact: str | None = None  # last 回访: "reached" / "unreachable"
    problem_solved: bool | None = None  # last 回访: the party says the problem is solved
    agreement_performed: bool | None = None  # last 回访: the agreement was performed (协议履行)
    first_contact_at: datetime | None = None  # 响应: the first contact with the party
    contact_late: bool | None = None  # that contact was after its limit

    # ---- derived
    @property
    def closed(self) -> bool:
        return self.closed_at is not None and self.status == "CLOSED"

    @property
    def resolved(self) -> bool:
        """化解 in substance: closed through the process's 办结 step (which records the resolving
        tier), the handling unit's feedback saying resolved, and the party confirming at 回访
        that the problem is solved. A party never reached confirms nothing."""
        return (
            self.closed
            and self.resolved_tier is not None
            and self.feedback_resolved is True
            and self.revisit_contact == "reached"
            and self.problem_solved is True
        )

    @property
    def unverified(self) -> bool:
        """Closed with the party never reached at 回访 (the resolution is unconfirmed)."""
        return self.closed and self.revisit_contact == "unreachable"

    @property
    def fed_back_on_time(self) -> bool:
        """按期办结 measured at the handling unit's feedback, not at the centre's 办结."""
        return self.fed_back_at is not None and (
            self.due_at is None or self.fed_back_at <= self.due_at
        )

    @property
    def responded(self) -> bool:
        """响应: the first contact with the party made within its limit."""
        return self.first_contact_at is not None and self.contact_late is False

    def open_at(self, moment: datetime) -> bool:
        """Registered before ``moment`` and not closed by then (on the last closure)."""
        return (
            self.registered_at is not None
            and self.registered_at < moment
            and not (self.closed and self.closed_at is not None and self.closed_at < moment)
        )

    @property
    def closed_on_time(self) -> bool:
        return (
            self.closed
            and self.closed_at is not None
            and (self.due_at is None or self.closed_at <= self.due_at)
        )

    def overdue_at(self, moment: datetime) -> bool:
        """Past its due date at ``moment``: open and due before it, or closed after the due."""
        if self.due_at is None:
            return False
        if self.closed and self.closed_at is not None:
            return self.closed_at > self.due_at
        return self.due_at < moment

    # ---- persistence (retention summaries)
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
            elif isinstance(value, list):
                out[key] = [_plain(v) for v in value]
            else:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseFacts:
        facts = cls(case_no=str(data["case_no"]))
        for key, value in data.items():
            if key == "case_no" or not hasattr(facts, key):
                continue
            current = getattr(facts, key)
            if key == "rungs":
                value = [(_instant(at), int(level)) for at, level in value]
            elif isinstance(current, list):
                value = [_instant(v) for v in value]
            elif key.endswith("_at") and value is not None:
                value = _instant(value)
            setattr(facts, key, value)
        return facts


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(str(value)))


def _maybe_instant(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return _instant(value)
    except ValueError:
        return None


# ------------------------------------------------------------------------------- the fold

#: next task created → outcome, per completed element (the dispute process's flows)
NEXT_TASK_OUTCOME: dict[str, dict[str, str]] = {
    "sign_case": {"return_review": "return", "first_contact": "signed"},
    "return_review": {"dispatch_case": "approved", "first_contact": "denied"},
    "review_result": {"handle_case": "rework", "revisit_party": "pass", "dispatch_case": "up"},
    "mediate_case": {
        "judicial_confirmation": "agreement",
        "feedback_result": "agreement",
        "handle_case": "failed",
    },
}


def _explicit_outcome(element: str, data: dict[str, Any]) -> str | None:
    """The outcome a completion's own form states, if it does."""
    if element == "sign_case" and "sign_decision" in data:
        return "return" if data["sign_decision"] == "return" else "signed"
    if element == "return_review" and "return_approved" in data:
        return "approved" if data["return_approved"] else "denied"
    if element == "review_result" and "review_decision" in data:
        decision = data["review_decision"]
        return {"pass": "pass", "escalate": "up"}.get(str(decision), "rework")
    if element == "mediate_case" and "mediation_outcome" in data:
        return "agreement" if data["mediation_outcome"] == "agreement" else "failed"
    return None


class RecordEvent(NamedTuple):
    """An event as the fold reads it (a row of ``engine.kpi.record`` or a just-appended row)."""

    seq: int
    event_type: str
    at: datetime
    org_path: str | None
    element_id: str | None
    data_before: dict[str, Any] | None
    data_after: dict[str, Any] | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> RecordEvent:
        return cls(*(row[name] for name in cls._fields))


@dataclass
class Fold:
    """A case's fold in progress: the facts so far and what continuing it needs.

    Feeding a case's events in seq order, in any number of parts, gives the same facts as one
    pass over all of them (``engine.kpi.store`` keeps this state per case between commands).
    A completion whose outcome is the next task its command creates (same instant) waits in
    ``pending`` until that task is seen; an event at another instant ends the wait (no outcome).
    """

    facts: CaseFacts
    last_seq: int = 0
    last_at: datetime | None = None  # the latest instant folded
    moved_at: datetime | None = None  # the latest instant ``org_path`` changed (not first set)
    pending: list[tuple[str, datetime]] = field(default_factory=list)

    @classmethod
    def start(cls, case_no: str) -> Fold:
        return cls(CaseFacts(case_no))

    def feed(self, events: Iterable[EventLike]) -> Fold:
        for e in events:
            self.step(e)
        return self

    def step(self, e: EventLike) -> None:
        at = as_utc(e.at)
        facts = self.facts
        if self.pending and self.pending[0][1] != at:
            self.pending.clear()  # another command: no task followed those completions
        path_before = facts.org_path
        if e.org_path and e.org_path != "/":
            facts.org_path = e.org_path
        kind = e.event_type
        if kind == SUMMARY_EVENT:
            saved = (e.details or {}).get("kpi")
            if isinstance(saved, dict):
                org = facts.org_path
                facts = self.facts = CaseFacts.from_dict({**saved, "case_no": facts.case_no})
                facts.org_path = facts.org_path or org
                self.pending.clear()  # their outcome would have gone with the replaced facts
        elif kind == "instance_started":
            facts.reported_at = facts.reported_at or at
        elif kind == "case_updated":
            _apply_update(facts, e, at)
        elif kind == "task_completed":
            element = e.element_id or ""
            _apply_report(facts, element, e.data_after or {}, e.details or {}, at)
            outcome = _explicit_outcome(element, e.data_after or {})
            if outcome is None and element in NEXT_TASK_OUTCOME:
                self.pending.append((element, at))
            else:
                _apply_completion(facts, element, outcome, at)
        elif kind == "task_created" and self.pending:
            created = e.element_id or ""
            for element, when in self.pending:
                _apply_completion(facts, element, NEXT_TASK_OUTCOME[element].get(created), when)
            self.pending.clear()
        elif kind == "rework":
            facts.reworks.append(at)
        elif kind == "dispatch_corrected":
            facts.corrections.append(at)
        if path_before is not None and self.facts.org_path != path_before:
            self.moved_at = at if self.moved_at is None else max(self.moved_at, at)
        self.last_at = at if self.last_at is None else max(self.last_at, at)
        self.last_seq = e.seq


def fold_case(case_no: str, events: Iterable[EventLike]) -> CaseFacts:
    """Facts of one case from its events in seq order."""
    return Fold.start(case_no).feed(events).facts


def _apply_update(facts: CaseFacts, e: EventLike, at: datetime) -> None:
    after = e.data_after or {}
    before = e.data_before or {}
    if "due_at" in after:
        facts.due_at = _maybe_instant(after["due_at"])
    if "status" in after:
        status = str(after["status"])
        facts.status = status
        if status in REGISTERED_STATES and facts.registered_at is None:
            facts.registered_at = at
        if status == "DISPATCHED" and facts.dispatched_at is None:
            facts.dispatched_at = at
        if status in HANDLING_STATES:
            _clear_round(facts)
        if status == "CLOSED":
            facts.closed_at = _maybe_instant(after.get("closed_at")) or at
        else:
            facts.closed_at = None
    elif "closed_at" in after and facts.status == "CLOSED":
        facts.closed_at = _maybe_instant(after["closed_at"]) or facts.closed_at
    if "tier" in after:
        old, new = before.get("tier"), after.get("tier")
        if old in TIER_RANK and new in TIER_RANK and TIER_RANK[new] > TIER_RANK[old]:
            facts.escalations.append(at)
            if new == "county" and facts.to_county_at is None:
                facts.to_county_at = at
        facts.tier = new
    if "reopen_count" in after and int(after["reopen_count"] or 0) > int(
        before.get("reopen_count") or 0
    ):
        facts.reopens.append(at)
    if "ladder_level" in after:
        level = int(after["ladder_level"] if after["ladder_level"] is not None else -1)
        if level > facts.ladder_level:
            facts.rungs.append((at, level))
        facts.ladder_level = max(facts.ladder_level, level)
    for name in ("resolved_tier", "severity", "category", "handling_unit"):
        if name in after:
            setattr(facts, name, after[name])
    if "satisfaction" in after:
        value = after["satisfaction"]
        facts.satisfaction = int(value) if value is not None else None
    if "eval_excluded" in after:
        facts.eval_excluded = bool(after["eval_excluded"])


def _apply_completion(facts: CaseFacts, element: str, outcome: str | None, at: datetime) -> None:
    if element == "sign_case" and outcome == "return":
        facts.returns.append(at)
    elif element == "return_review" and outcome == "approved":
        facts.corrections.append(at)
    elif element == "return_review" and outcome == "denied":
        facts.improper_returns.append(at)
    elif element == "review_result" and outcome == "rework":
        facts.reworks.append(at)
    elif element == "mediate_case" and outcome == "agreement":
        facts.agreements.append(at)
    elif element == "judicial_confirmation":
        facts.jc_applied.append(at)


def _clear_round(facts: CaseFacts) -> None:
    facts.fed_back_at = facts.feedback_resolved = None
    facts.revisit_contact = None
    facts.problem_solved = facts.agreement_performed = None


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)


def _apply_report(
    facts: CaseFacts, element: str, data: dict[str, Any], details: dict[str, Any], at: datetime
) -> None:
    """What the handling unit's feedback, the 回访 and the first contact state."""
    if element == "feedback_result":
        facts.fed_back_at = at
        facts.feedback_resolved = _flag(data.get("resolved"))
    elif element == "revisit_party":
        contact = data.get("contact_result")
        facts.revisit_contact = None if contact is None else str(contact)
        facts.problem_solved = _flag(data.get("problem_solved"))
        facts.agreement_performed = _flag(data.get("agreement_performed"))
    elif element == CONTACT and facts.first_contact_at is None:
        facts.first_contact_at = at
        facts.contact_late = bool(details.get("late"))
