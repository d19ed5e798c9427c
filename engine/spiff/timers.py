"""Timer values checked before SpiffWorkflow reads them: the same parsing, bounded and total.

SpiffWorkflow 3.2.0 reads a timer's value (the result of its expression) with functions that
raise bare exceptions on malformed text (``2026-W54-1``), overflow at the edges of the date range
(year 1, 9999, a duration added to a far date), step month by month through a duration
(``P999999999Y`` runs for minutes) and take anything but a string with a ``TypeError``. Every value
passes :func:`check_timer_value` first, at deploy where the expression is a literal and at run
time where it is computed; a bad one is a :class:`TimerValueError` whose message names what is
wrong, never a traceback, and SpiffWorkflow is handed only values it can read quickly.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.budget import ModelBudget

KINDS: Final = ("timeDate", "timeDuration", "timeCycle")
_WEEK = re.compile(r"(\d{4})W(\d{2})(\d)(T.+)?")
_DAYS_PER_UNIT: Final = {
    "years": 366.0, "months": 30.5, "weeks": 7.0, "days": 1.0,
    "hours": 1 / 24, "minutes": 1 / 1440, "seconds": 1 / 86400,
}  # fmt: skip
"""A unit's length in days, measured against ``timer_years`` × 366 days: ``P10Y`` and ``P120M``
are both just within a ten-year budget."""
_EXAMPLES: Final = {
    "timeDate": "'2026-05-01T09:00:00+08:00'",
    "timeDuration": "'PT2H' or 'P3D'",
    "timeCycle": "'R3/PT1H'",
}


class TimerValueError(ValueError):
    """A timer value the engine cannot schedule (malformed, out of range or over budget)."""


def _date(text: str) -> datetime:
    """A timer date in UTC as SpiffWorkflow reads it (no offset: Beijing time)."""
    try:
        if "W" in text.upper() and not text.upper().startswith("P"):
            match = _WEEK.fullmatch(text.upper().replace("-", ""))
            if match is None:
                raise ValueError
            year, week, day, rest = match.groups()
            moment = datetime.fromisocalendar(int(year), int(week), int(day))
            text = moment.strftime("%Y-%m-%d") + (rest or "")
        # TimerEventDefinition.get_datetime: fromisoformat, then astimezone(utc), both guarded.
        value: datetime = TimerEventDefinition.get_datetime(text)
    except (ValueError, OverflowError):
        raise TimerValueError(
            f"{text!r} is not an ISO 8601 date and time the engine can represent"
        ) from None
    return value


def _duration_days(text: str) -> tuple[dict[str, Any], float]:
    try:
        parsed: dict[str, Any] = TimerEventDefinition.parse_iso_duration(text)
    except Exception:  # SpiffWorkflow raises a bare Exception('Invalid duration')
        raise TimerValueError(f"{text!r} is not an ISO 8601 duration such as 'PT2H'") from None
    if not text.upper().startswith("P") or not parsed:
        raise TimerValueError(f"{text!r} is not an ISO 8601 duration such as 'PT2H'")
    days = sum(float(v) * _DAYS_PER_UNIT[k] for k, v in parsed.items())
    return parsed, days


def _span(start: datetime, parsed: dict[str, Any]) -> timedelta:
    """The duration from ``start`` as SpiffWorkflow computes it (call only within budget)."""
    try:
        delta: timedelta = TimerEventDefinition.get_timedelta_from_start(dict(parsed), start)
        _ = start + delta  # the due date itself must be representable
    except (ValueError, OverflowError):
        raise TimerValueError("the timer's due date is beyond the year 9999") from None
    return delta


def _check_length(days: float, budget: ModelBudget, what: str) -> None:
    if days > budget.timer_years * 366:
        raise TimerValueError(f"{what} is longer than the limit of {budget.timer_years} years")


def _check_due(due: datetime, now: datetime, budget: ModelBudget) -> None:
    if (due - now).days > budget.timer_years * 366:
        raise TimerValueError(
            f"the timer falls due {due.date().isoformat()}, more than "
            f"{budget.timer_years} years ahead (the limit)"
        )


def _cycle(text: str, now: datetime | None, budget: ModelBudget) -> None:
    parts = text.strip().upper().replace("--", "/").split("/")
    if not parts[0].startswith("R") or len(parts) not in (2, 3):
        raise TimerValueError(f"{text!r} is not an ISO 8601 repeating interval such as 'R3/PT1H'")
    count = parts[0][1:]
    if count and not count.isdigit():
        raise TimerValueError(f"{text!r}: the repetitions after 'R' must be a whole number")
    repeats = int(count) if count else budget.timer_repeats
    if repeats > budget.timer_repeats:
        raise TimerValueError(
            f"{text!r} repeats {repeats} times, more than the limit of {budget.timer_repeats}"
        )
    durations = [p for p in parts[1:] if p.startswith("P")]
    dates = [p for p in parts[1:] if not p.startswith("P")]
    if len(durations) != 1 or len(dates) > 1:
        raise TimerValueError(
            f"{text!r} needs exactly one interval duration (and at most one start or end date)"
        )
    parsed, days = _duration_days(durations[0])
    if days <= 0:
        raise TimerValueError(f"{text!r}: the interval of a repeating timer must be positive")
    _check_length(days * max(repeats, 1), budget, f"the cycle {text!r} ({repeats} repetitions)")
    anchor = _date(dates[0]) if dates else now
    if anchor is None:
        return
    try:
        if dates and parts[1].startswith("P"):  # duration/end: the first due date counted back
            step = TimerEventDefinition.get_timedelta_from_end(dict(parsed), anchor)
            anchor = anchor - step
        else:
            step = _span(anchor, parsed)
        _ = anchor + step * max(repeats, 1)
    except (ValueError, OverflowError):
        raise TimerValueError(f"{text!r} runs outside the years 1 to 9999") from None
    if now is not None:
        _check_due(anchor, now, budget)


def due_of(value: Any) -> datetime | None:
    """When a scheduled timer falls due (UTC), from SpiffWorkflow's stored ``event_value``: the
    date of a date or duration timer, the next firing of a cycle (None once it is spent)."""
    if isinstance(value, dict):
        if value.get("cycles") == 0 or not isinstance(value.get("next"), str):
            return None
        value = value["next"]
    if not isinstance(value, str):
        return None
    try:
        return _date(value)
    except TimerValueError:
        return None


def check_timer_value(
    kind: str, value: Any, budget: ModelBudget, now: datetime | None = None
) -> None:
    """Raise :class:`TimerValueError` unless SpiffWorkflow can schedule ``value`` within budget.

    ``kind`` is the BPMN element (``timeDate``, ``timeDuration``, ``timeCycle``); ``now`` the
    engine's time in UTC (at deploy it may be unknown: then only the value's own length counts).
    """
    if not isinstance(value, str):
        raise TimerValueError(
            f"a {kind} must be text such as {_EXAMPLES[kind]}, not {type(value).__name__}"
        )
    text = value.strip()
    if not text:
        raise TimerValueError(f"the {kind} is empty: write a value such as {_EXAMPLES[kind]}")
    if kind == "timeCycle":
        _cycle(text, now, budget)
        return
    if kind == "timeDuration":
        parsed, days = _duration_days(text)
        _check_length(days, budget, f"the duration {text!r}")
        if now is not None:
            _span(now, parsed)
        return
    if text.upper().startswith("P"):
        raise TimerValueError(
            f"a timeDate must be a date such as {_EXAMPLES[kind]}, not the duration {text!r}"
        )
    due = _date(text)
    if now is not None:
        _check_due(due, now.astimezone(UTC), budget)


__all__ = ["KINDS", "TimerValueError", "check_timer_value", "due_of"]
