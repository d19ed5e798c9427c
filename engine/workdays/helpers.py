"""Deadline helpers for BPMN expressions (timer ``timeDate``, scripts, conditions).

A designer writes e.g. ``working_days_from_now(3)`` in a timer and gets an ISO-8601 instant with
an offset. The helpers never read the wall clock: "now" comes from the clock passed in.
Instants may be given as aware datetimes or ISO-8601 strings; a string without an offset (or a
bare date) is Beijing time. Results are ISO-8601 strings in Beijing time (``+08:00``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from engine.clock import CHINA, Clock
from engine.errors import InputInvalid
from engine.workdays.calendar import WorkCalendar
from engine.workdays.hours import OfficeHoursLike
from engine.workdays.rules import RuleSpec, Unit


def _instant(value: Any) -> datetime:
    raw = value
    if isinstance(raw, str):
        try:
            raw = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise InputInvalid(f"{value!r} is not an ISO-8601 date or date-time") from None
    if isinstance(raw, date) and not isinstance(raw, datetime):
        raw = datetime.combine(raw, time())
    if not isinstance(raw, datetime):
        raise InputInvalid(f"expected a date-time or an ISO-8601 string, got {value!r}")
    if raw.tzinfo is None or raw.utcoffset() is None:
        raw = raw.replace(tzinfo=CHINA)
    return raw


def _amount(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputInvalid(f"expected a number, got {value!r}")
    return value


def make_workday_helpers(
    calendar: WorkCalendar,
    clock: Clock | Callable[[], datetime],
    office_hours: OfficeHoursLike | None = None,
) -> dict[str, Callable[..., Any]]:
    """Functions to put into the script sandbox's namespace.

    ``add_working_days(start, n)``, ``add_working_hours(start, h)``, ``add_natural_days(start, n)``,
    ``working_days_from_now(n)``, ``working_hours_from_now(h)`` return ISO-8601 strings;
    ``is_workday(day)`` returns a bool. ``office_hours`` are the organisation's (default: the
    calendar's). Bad arguments raise ``InputInvalid``, which the sandbox reports as a script error.
    """
    now: Callable[[], datetime] = clock if callable(clock) else clock.now

    def compute(unit: Unit, start: Any, amount: Any) -> str:
        rule = RuleSpec(unit, _amount(amount))
        due = calendar.due(rule, _instant(start), office_hours).due
        return due.astimezone(CHINA).isoformat()

    def add_working_days(start: Any, n: Any) -> str:
        return compute("working_days", start, n)

    def add_working_hours(start: Any, h: Any) -> str:
        return compute("working_hours", start, h)

    def add_natural_days(start: Any, n: Any) -> str:
        return compute("days", start, n)

    def working_days_from_now(n: Any) -> str:
        return compute("working_days", now(), n)

    def working_hours_from_now(h: Any) -> str:
        return compute("working_hours", now(), h)

    def is_workday(day: Any) -> bool:
        return calendar.is_workday(_instant(day).astimezone(CHINA).date())

    return {
        "add_working_days": add_working_days,
        "add_working_hours": add_working_hours,
        "add_natural_days": add_natural_days,
        "working_days_from_now": working_days_from_now,
        "working_hours_from_now": working_hours_from_now,
        "is_workday": is_workday,
    }
