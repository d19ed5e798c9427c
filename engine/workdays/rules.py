"""Rule specs and due results: what a deadline is made of, as store-able data.

A rule spec is a small JSON-serialisable dict::

    {"unit": "working_days", "amount": 3, "start_rule": "next_day", "end_of_day": "office_close",
     "office_hours": ["08:30-12:00", "13:30-17:30"],
     "adjustments": [{"op": "extend", "amount": 2},
                     {"op": "suspend", "from": "2026-03-02T10:00:00+08:00",
                      "to": "2026-03-05T09:00:00+08:00"},
                     {"op": "restart", "at": "2026-04-01T09:00:00+08:00"}],
     "source": "dispute.plan/red (processes/deadlines.yaml:52)"}

Stored together with the start instant it gives the due time again — after a new year's holiday
schedule is loaded, ``WorkCalendar.recompute(rule, start)`` yields the corrected deadline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, TypeAlias, cast, get_args

from engine.errors import InputInvalid
from engine.workdays.hours import OfficeHours

Unit = Literal["minutes", "hours", "days", "working_hours", "working_days"]
StartRule = Literal["next_day", "same_day_inclusive"]
EndOfDay = Literal["office_close", "midnight"]
Confidence = Literal["high", "low"]

#: Shown next to a provisional due time (a year without the State Council's 调休 table).
PROVISIONAL_LABEL = "暂定（待官方调休安排）"

UNITS: tuple[str, ...] = get_args(Unit)
START_RULES: tuple[str, ...] = get_args(StartRule)
END_OF_DAY: tuple[str, ...] = get_args(EndOfDay)
DAY_UNITS = frozenset({"days", "working_days"})
WORKING_UNITS = frozenset({"working_hours", "working_days"})

#: Defaults when a spec leaves them out (documented in docs/deadlines.md).
DEFAULT_START_RULE: StartRule = "next_day"
DEFAULT_END_OF_DAY: dict[str, EndOfDay] = {"working_days": "office_close", "days": "midnight"}

UNIT_LABELS = {
    "minutes": ("minute", "minutes"),
    "hours": ("hour", "hours"),
    "days": ("day", "days"),
    "working_hours": ("working hour", "working hours"),
    "working_days": ("working day", "working days"),
}

_SPEC_KEYS = {"unit", "amount", "start_rule", "end_of_day", "office_hours", "adjustments", "source"}


@dataclass(frozen=True)
class Extend:
    """An approved extension (延期) by ``amount`` of the rule's own unit, counted from the due."""

    amount: float


@dataclass(frozen=True)
class Suspend:
    """挂账 (suspension) from ``start`` to ``end``: the remaining time is restored at ``end``."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Restart:
    """A fresh limit counted from ``at`` (resume with fresh limit, fresh-limit rework, reopen)."""

    at: datetime


Adjustment: TypeAlias = Extend | Suspend | Restart


@dataclass(frozen=True)
class RuleSpec:
    """How a deadline is computed from its start instant."""

    unit: Unit
    amount: float
    start_rule: StartRule | None = None
    end_of_day: EndOfDay | None = None
    office_hours: OfficeHours | None = None
    adjustments: tuple[Adjustment, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise InputInvalid(f"unknown time unit {self.unit!r}; use one of {', '.join(UNITS)}")
        if isinstance(self.amount, bool) or not isinstance(self.amount, int | float):
            raise InputInvalid(f"a time limit amount must be a number, not {self.amount!r}")
        if not (self.amount > 0 and math.isfinite(self.amount)):
            raise InputInvalid(f"a time limit amount must be positive, not {self.amount!r}")
        if self.unit == "days" and self.amount != int(self.amount):
            raise InputInvalid(
                "natural days are whole days (民法典 201); use hours for a fraction of a day"
            )
        if self.unit in DAY_UNITS:
            if self.start_rule is None:
                object.__setattr__(self, "start_rule", DEFAULT_START_RULE)
            if self.end_of_day is None:
                object.__setattr__(self, "end_of_day", DEFAULT_END_OF_DAY[self.unit])
        elif self.start_rule is not None or self.end_of_day is not None:
            raise InputInvalid(
                f"start_rule and end_of_day apply to days and working_days, not to {self.unit}"
            )
        if self.start_rule is not None and self.start_rule not in START_RULES:
            raise InputInvalid(
                f"unknown start_rule {self.start_rule!r}; use one of {', '.join(START_RULES)}"
            )
        if self.end_of_day is not None and self.end_of_day not in END_OF_DAY:
            raise InputInvalid(
                f"unknown end_of_day {self.end_of_day!r}; use one of {', '.join(END_OF_DAY)}"
            )
        for adjustment in self.adjustments:
            if isinstance(adjustment, Extend):
                amount = adjustment.amount
                if not (amount > 0 and math.isfinite(amount)):
                    raise InputInvalid(f"an extension must be positive, not {amount!r}")
                if self.unit == "days" and amount != int(amount):
                    raise InputInvalid("an extension of natural days is a whole number of days")
            if isinstance(adjustment, Suspend):
                parse_instant(adjustment.start, "suspension start")
                parse_instant(adjustment.end, "suspension end")
                if adjustment.end < adjustment.start:
                    raise InputInvalid("a suspension cannot end before it starts")
            if isinstance(adjustment, Restart):
                parse_instant(adjustment.at, "restart")
        if isinstance(self.amount, float) and self.amount.is_integer():
            object.__setattr__(self, "amount", int(self.amount))

    # -- properties ---------------------------------------------------------------------------

    @property
    def clock(self) -> Literal["natural", "working"]:
        """Which time runs against this limit: all time, or office time on working days."""
        return "working" if self.unit in WORKING_UNITS else "natural"

    @property
    def uses_office_hours(self) -> bool:
        return self.unit in WORKING_UNITS or self.end_of_day == "office_close"

    @property
    def whole(self) -> bool:
        return float(self.amount).is_integer()

    @property
    def extensions(self) -> int:
        """Extensions granted since the last fresh limit."""
        count = 0
        for adjustment in self.adjustments:
            if isinstance(adjustment, Restart):
                count = 0
            elif isinstance(adjustment, Extend):
                count += 1
        return count

    def with_adjustment(self, adjustment: Adjustment) -> RuleSpec:
        return replace(self, adjustments=(*self.adjustments, adjustment))

    def base(self) -> RuleSpec:
        """The spec without adjustments (the policy's limit as applied)."""
        return replace(self, adjustments=())

    def describe(self, amount: float | None = None) -> str:
        """``"3 working days"``."""
        value = self.amount if amount is None else amount
        singular, plural = UNIT_LABELS[self.unit]
        return f"{_number(value)} {singular if value == 1 else plural}"

    # -- (de)serialisation ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"unit": self.unit, "amount": self.amount}
        if self.start_rule is not None:
            data["start_rule"] = self.start_rule
        if self.end_of_day is not None:
            data["end_of_day"] = self.end_of_day
        if self.office_hours is not None:
            data["office_hours"] = self.office_hours.to_strings()
        if self.adjustments:
            data["adjustments"] = [_adjustment_to_dict(a) for a in self.adjustments]
        if self.source is not None:
            data["source"] = self.source
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSpec:
        """Rebuild a spec from :meth:`to_dict` output (or a hand-written dict); refuses bad data."""
        if not isinstance(data, Mapping):
            raise InputInvalid(f"a rule spec is a mapping, not {type(data).__name__}")
        unknown = set(data) - _SPEC_KEYS
        if unknown:
            raise InputInvalid(f"unknown rule spec key(s): {', '.join(sorted(map(str, unknown)))}")
        if "unit" not in data or "amount" not in data:
            raise InputInvalid("a rule spec needs 'unit' and 'amount'")
        office_hours = data.get("office_hours")
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise InputInvalid("a rule spec's 'source' is text")
        raw_adjustments = data.get("adjustments") or []
        if not isinstance(raw_adjustments, list | tuple):
            raise InputInvalid("a rule spec's 'adjustments' is a list")
        return cls(
            unit=cast(Unit, data["unit"]),
            amount=data["amount"],
            start_rule=data.get("start_rule"),
            end_of_day=data.get("end_of_day"),
            office_hours=None if office_hours is None else OfficeHours.parse(office_hours),
            adjustments=tuple(_adjustment_from_dict(a) for a in raw_adjustments),
            source=source,
        )

    @classmethod
    def coerce(cls, rule: RuleSpec | Mapping[str, Any]) -> RuleSpec:
        return rule if isinstance(rule, RuleSpec) else cls.from_dict(rule)


@dataclass(frozen=True)
class DueResult:
    """A computed deadline, with everything needed to explain, store and recompute it."""

    due: datetime
    start: datetime
    rule: RuleSpec
    text: str
    confidence: Confidence = "high"
    uncovered_years: tuple[int, ...] = ()
    data_version: str = ""

    @property
    def provisional(self) -> bool:
        """Computed over a year without an official table: recomputed once it is loaded."""
        return self.confidence == "low"

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form for storage next to the deadline."""
        return {
            "due": self.due.isoformat(),
            "provisional": self.provisional,
            "start": self.start.isoformat(),
            "rule": self.rule.to_dict(),
            "text": self.text,
            "confidence": self.confidence,
            "uncovered_years": list(self.uncovered_years),
            "data_version": self.data_version,
        }


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _adjustment_to_dict(adjustment: Adjustment) -> dict[str, Any]:
    if isinstance(adjustment, Extend):
        return {"op": "extend", "amount": adjustment.amount}
    if isinstance(adjustment, Suspend):
        return {
            "op": "suspend",
            "from": adjustment.start.isoformat(),
            "to": adjustment.end.isoformat(),
        }
    return {"op": "restart", "at": adjustment.at.isoformat()}


def _adjustment_from_dict(data: Any) -> Adjustment:
    if not isinstance(data, Mapping) or "op" not in data:
        raise InputInvalid(f"an adjustment is a mapping with an 'op', not {data!r}")
    op = data["op"]
    if op == "extend":
        amount = data.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int | float):
            raise InputInvalid("an 'extend' adjustment needs a numeric 'amount'")
        return Extend(amount)
    if op == "suspend":
        return Suspend(parse_instant(data.get("from"), "from"), parse_instant(data.get("to"), "to"))
    if op == "restart":
        return Restart(parse_instant(data.get("at"), "at"))
    raise InputInvalid(f"unknown adjustment op {op!r}; use extend, suspend or restart")


def parse_instant(value: Any, what: str = "instant") -> datetime:
    """An aware datetime from a datetime or an ISO-8601 string with offset."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InputInvalid(f"{what}: {value!r} is not an ISO-8601 date-time") from None
    if not isinstance(value, datetime):
        raise InputInvalid(f"{what}: expected a date-time, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputInvalid(f"{what}: {value.isoformat()} has no time zone offset")
    return value


def rule_from_value(
    value: Any,
    *,
    start_rule: StartRule = DEFAULT_START_RULE,
    end_of_day: Mapping[str, EndOfDay] | None = None,
    source: str | None = None,
) -> RuleSpec:
    """A rule spec from the policy-file forms ``[unit, amount]`` or ``{unit: …, amount: …}``.

    ``start_rule`` and ``end_of_day`` (by unit) fill what the value leaves out, for day units.
    """
    ends = DEFAULT_END_OF_DAY if end_of_day is None else end_of_day
    if isinstance(value, list | tuple):
        if len(value) != 2:
            raise InputInvalid(f"a limit is [unit, amount], e.g. [working_days, 3]; got {value!r}")
        data: dict[str, Any] = {"unit": value[0], "amount": value[1]}
    elif isinstance(value, Mapping):
        allowed = {"unit", "amount", "start_rule", "end_of_day"}
        unknown = set(value) - allowed
        if unknown:
            raise InputInvalid(
                f"unknown limit key(s) {', '.join(sorted(map(str, unknown)))}; "
                f"a limit has {', '.join(sorted(allowed))}"
            )
        if "unit" not in value or "amount" not in value:
            raise InputInvalid("a limit needs 'unit' and 'amount'")
        data = dict(value)
    else:
        raise InputInvalid(f"a limit is [unit, amount], e.g. [working_days, 3]; got {value!r}")
    unit = data["unit"]
    if unit in DAY_UNITS:
        data.setdefault("start_rule", start_rule)
        data.setdefault("end_of_day", ends[unit])
    return RuleSpec(
        unit=unit,
        amount=data["amount"],
        start_rule=data.get("start_rule"),
        end_of_day=data.get("end_of_day"),
        source=source,
    )
