"""The supervision ladder (督办): 提示 → 警示 → 通报 → 约谈 → 督查, as timed rungs of one deadline.

Each severity has an ordered list of rungs (``default`` for severities without their own list).
A rung fires either when a share of the limit has elapsed (``at_pct``; 100 = at the due time) —
measured in office time for working-time limits and in natural time otherwise — or a wait after
an earlier rung (``after`` + ``wait``). ``or_remaining`` brings a prompt forward to the moment
only that much time is left (domain §6: "again at 80 % or ≤1 working day left").

Rungs driven by counts rather than time (≥2 通报 in a quarter → 约谈, …) are parameters in
:class:`EscalationTriggers`; the supervision service evaluates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, NamedTuple

from engine.workdays import counting
from engine.workdays.calendar import WorkCalendar
from engine.workdays.hours import OfficeHours
from engine.workdays.rules import RuleSpec
from engine.workdays.yamlsource import Checker

#: Ladder level of each rung kind; a case's level never goes down.
LEVELS = {"prompt": 0, "warning": 1, "circular": 2, "interview": 3, "inspection": 4}
CHINESE = {
    "prompt": "提示",
    "warning": "警示",
    "circular": "通报",
    "interview": "约谈",
    "inspection": "督查",
}

_RUNG_NAME = re.compile(r"^(prompt)_(\d{1,3})$|^(warning|circular|interview|inspection)$")
_RUNG_KEYS = {"rung", "at_pct", "or_remaining", "after", "wait"}


class Rung(NamedTuple):
    """One scheduled rung: its name (``prompt_50``, ``warning``, …) and when it fires."""

    name: str
    at: datetime


def rung_level(name: str) -> int:
    """``"prompt_80"`` → 0, ``"warning"`` → 1, … ``"inspection"`` → 4."""
    return LEVELS[name.split("_", 1)[0]]


@dataclass(frozen=True)
class RungSpec:
    name: str
    at_pct: float | None = None
    or_remaining: RuleSpec | None = None
    after: str | None = None
    wait: RuleSpec | None = None


@dataclass(frozen=True)
class EscalationTriggers:
    """Count-based triggers (domain §6), evaluated by the supervision service, not by timers."""

    circular_overdue_cases_per_unit_month: int = 3
    circular_on_improper_return: bool = True
    interview_circulars_per_quarter: int = 2
    interview_reopen_count: int = 2
    inspection_after_interview_no_improvement: bool = True
    inspection_major_risk_unresolved: bool = True


@dataclass(frozen=True)
class LadderPolicy:
    rungs: Mapping[str, tuple[RungSpec, ...]]
    triggers: EscalationTriggers = field(default_factory=EscalationTriggers)

    def rungs_for(self, severity: str) -> tuple[RungSpec, ...]:
        return self.rungs.get(severity, self.rungs.get("default", ()))

    def schedule(
        self,
        start: datetime,
        due: datetime,
        severity: str,
        calendar: WorkCalendar,
        *,
        clock: Literal["working", "natural"] = "working",
        office_hours: OfficeHours | None = None,
    ) -> list[Rung]:
        """When each rung of ``severity`` fires for a deadline running from ``start`` to ``due``."""
        counting.require_aware(start)
        counting.require_aware(due, "due")
        hours = calendar.office_hours if office_hours is None else office_hours
        zone = start.tzinfo
        office = calendar.working_time_between(start, due, hours)
        # Shares of a working-time limit are shares of its office time; of a natural-time limit
        # (or one with no office time inside it), shares of the natural span.
        by_office = clock == "working" and office > timedelta()

        def at_share(share: float) -> datetime:
            if share >= 1:
                return due
            if not by_office:
                return counting.plus(start, (due - start) * share)
            return counting.add_working_time(calendar, start, office * share, hours)

        def left(rule: RuleSpec) -> datetime | None:
            """When only ``rule`` of time is left before the due (None: from the start)."""
            if rule.clock == "working":
                amount = (
                    hours.length * rule.amount
                    if rule.unit == "working_days"
                    else timedelta(hours=rule.amount)
                )
                if office <= amount:
                    return None
                return counting.add_working_time(calendar, start, office - amount, hours)
            seconds = {"minutes": 60, "hours": 3600, "days": 86400}[rule.unit] * rule.amount
            early = counting.plus(due, -timedelta(seconds=seconds))
            return early if early > start else None

        fired: dict[str, datetime] = {}
        result: list[Rung] = []
        previous = start
        for spec in self.rungs_for(severity):
            if spec.after is not None and spec.wait is not None:
                base = fired.get(spec.after)
                if base is None:
                    continue
                at = calendar.due(spec.wait, base, hours).due
            else:
                at = at_share((spec.at_pct or 100) / 100)
                if spec.or_remaining is not None:
                    early = left(spec.or_remaining)
                    if early is not None and previous < early < at:
                        at = early
            fired[spec.name] = at
            previous = at
            result.append(Rung(spec.name, at.astimezone(zone)))
        return sorted(result, key=lambda rung: rung.at)


def parse_ladder(
    check: Checker,
    value: Any,
    path: tuple[Any, ...],
    severities: Sequence[str],
    parse_rule: Callable[[Any, tuple[Any, ...]], RuleSpec | None],
) -> LadderPolicy:
    section = check.mapping(path, value, {"rungs", "triggers"}) or {}
    rungs_raw = check.mapping((*path, "rungs"), section.get("rungs"), {*severities, "default"})
    rungs: dict[str, tuple[RungSpec, ...]] = {}
    for severity, items in (rungs_raw or {}).items():
        parsed = _parse_rungs(check, items, (*path, "rungs", severity), parse_rule)
        rungs[str(severity)] = parsed
    if "default" not in rungs:
        check.problem((*path, "rungs"), "a 'default' list of rungs is required")
    return LadderPolicy(rungs, _parse_triggers(check, section.get("triggers"), (*path, "triggers")))


def _parse_rungs(
    check: Checker,
    items: Any,
    path: tuple[Any, ...],
    parse_rule: Callable[[Any, tuple[Any, ...]], RuleSpec | None],
) -> tuple[RungSpec, ...]:
    if not isinstance(items, list):
        check.problem(path, "expected a list of rungs, e.g. - {rung: warning, at_pct: 100}")
        return ()
    specs: list[RungSpec] = []
    level, last_pct = -1, 0.0
    for index, item in enumerate(items):
        where = (*path, index)
        entry = check.mapping(where, item, _RUNG_KEYS, required=("rung",))
        if entry is None or "rung" not in entry:
            continue
        name = entry["rung"]
        if not isinstance(name, str) or not _RUNG_NAME.match(name):
            check.problem(
                (*where, "rung"),
                f"{name!r} is not a rung; use prompt_<percent>, warning, circular, interview "
                "or inspection",
            )
            continue
        if any(spec.name == name for spec in specs):
            check.problem((*where, "rung"), f"rung {name!r} appears twice")
            continue
        if rung_level(name) < level:
            check.problem(
                (*where, "rung"), f"{name!r} comes after a higher rung; the ladder only goes up"
            )
        level = max(level, rung_level(name))
        timed, waits = "at_pct" in entry, "after" in entry or "wait" in entry
        if timed == waits:
            check.problem(where, "give either 'at_pct' or both 'after' and 'wait'")
            continue
        if timed:
            pct = entry["at_pct"]
            if isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 < pct <= 100:
                check.problem((*where, "at_pct"), f"expected a percentage in (0, 100], got {pct!r}")
                continue
            if pct < last_pct:
                check.problem((*where, "at_pct"), "percentages must not decrease down the list")
            last_pct = float(pct)
            remaining = entry.get("or_remaining")
            rule = None if remaining is None else parse_rule(remaining, (*where, "or_remaining"))
            specs.append(RungSpec(name, at_pct=float(pct), or_remaining=rule))
            continue
        after, wait = entry.get("after"), entry.get("wait")
        if not any(spec.name == after for spec in specs):
            check.problem((*where, "after"), f"'after' must name an earlier rung, got {after!r}")
            continue
        if wait is None:
            check.problem(where, "'wait' is required with 'after', e.g. wait: [working_days, 5]")
            continue
        if "or_remaining" in entry:
            check.problem((*where, "or_remaining"), "'or_remaining' applies to at_pct rungs")
        rule = parse_rule(wait, (*where, "wait"))
        if rule is not None:
            specs.append(RungSpec(name, after=str(after), wait=rule))
    return tuple(specs)


def _parse_triggers(check: Checker, value: Any, path: tuple[Any, ...]) -> EscalationTriggers:
    names = set(EscalationTriggers.__dataclass_fields__)
    section = check.mapping(path, value, names) or {}
    defaults = EscalationTriggers()
    values: dict[str, Any] = {}
    for name in names:
        default = getattr(defaults, name)
        if isinstance(default, bool):
            values[name] = check.boolean((*path, name), section.get(name), default)
        else:
            values[name] = check.integer((*path, name), section.get(name), default, minimum=1)
    return EscalationTriggers(**values)
