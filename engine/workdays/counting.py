"""Deadline arithmetic (期限计算) on a :class:`~engine.workdays.calendar.WorkCalendar`.

Counting rules (docs/deadlines.md, domain §7.1):

* ``minutes`` / ``hours`` — natural time, exact from the start instant (民法典 201 ¶2).
* ``days`` — natural days per 民法典 201/203: the start day is not counted (``next_day``), the
  period ends at 24:00 of the last day, and a last day that is a rest day (statutory holiday or
  weekend rest day) moves to the next working day.
* ``working_days`` — the n-th working day counted from the next day (``next_day``) or from the
  start day itself when it is a working day (``same_day_inclusive``, 含本数); due at the close of
  office hours of that day (default) or at 24:00. A fractional amount (0.5 working day) is
  counted as that share of an office day of working time from the start instant.
* ``working_hours`` — office time only (default 08:30–12:00, 13:30–17:30) on working days.

Every computation records the years it consulted that no official table covers, so the result
can say ``confidence="low"`` (provisional) and be recomputed once the year is loaded.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from engine.clock import CHINA
from engine.errors import InputInvalid
from engine.workdays.hours import OfficeHours, OfficeHoursLike, format_offset
from engine.workdays.rules import (
    PROVISIONAL_LABEL,
    DueResult,
    EndOfDay,
    Extend,
    Restart,
    RuleSpec,
    Suspend,
)


class DayLike(Protocol):
    """What the arithmetic reads of one date (:class:`~engine.workdays.calendar.DayInfo`)."""

    @property
    def is_workday(self) -> bool: ...
    @property
    def covered(self) -> bool: ...
    @property
    def name(self) -> str | None: ...
    @property
    def kind(self) -> str: ...


class Calendar(Protocol):
    """What the arithmetic needs of a calendar (:class:`~engine.workdays.calendar.WorkCalendar`,
    which imports this module: the protocol keeps the two without a cycle)."""

    @property
    def office_hours(self) -> OfficeHours: ...
    @property
    def data_version(self) -> str: ...
    @property
    def missing_year_policy(self) -> str: ...
    def day(self, day: date, /) -> DayLike: ...


log = logging.getLogger("engine.workdays")

#: Longest stretch of days any single computation may walk (guards against a calendar without
#: working days, e.g. an override file that closes every day).
MAX_DAYS = 3700

_TICK = timedelta(microseconds=1)
_ONE_DAY = timedelta(days=1)


class _Run:
    """One computation: day lookups that remember uncovered years."""

    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar
        self.uncovered: set[int] = set()

    def day(self, day: date) -> DayLike:
        info = self.calendar.day(day)
        if not info.covered:
            self.uncovered.add(day.year)
        return info

    def is_workday(self, day: date) -> bool:
        return self.day(day).is_workday

    def next_workday(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        candidate = day
        for _ in range(MAX_DAYS):
            candidate += _ONE_DAY
            if self.is_workday(candidate):
                return candidate
        raise InputInvalid(f"the calendar has no working day within {MAX_DAYS} days after {day}")

    def warn(self, what: str) -> None:
        # Debug only: a provisional deadline is normal casework until the table is loaded; the
        # operator is warned once a day (engine.calendar_admin), not on every computation.
        if self.uncovered:
            years = ", ".join(str(y) for y in sorted(self.uncovered))
            log.debug(
                "no official holiday schedule for %s: %s is provisional (missing_year_policy=%s)",
                years,
                what,
                self.calendar.missing_year_policy,
            )


# -- instants ---------------------------------------------------------------------------------


def require_aware(value: datetime, what: str = "start") -> datetime:
    if not isinstance(value, datetime):
        raise InputInvalid(f"{what}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputInvalid(f"{what}: {value.isoformat()} has no time zone; pass an aware datetime")
    return value


def to_local(value: datetime) -> datetime:
    return value.astimezone(CHINA)


def midnight(day: date) -> datetime:
    """00:00 of ``day`` in Asia/Shanghai."""
    return datetime.combine(day, time(), tzinfo=CHINA)


def fmt(value: datetime) -> str:
    """``"2026-09-30 10:00"`` in Beijing time (seconds shown only when not zero)."""
    local = to_local(value)
    return local.strftime("%Y-%m-%d %H:%M:%S" if local.second else "%Y-%m-%d %H:%M")


def fmt_duration(value: timedelta) -> str:
    """``timedelta(hours=13, minutes=30)`` → ``"13 h 30 min"``."""
    seconds = round(value.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else ""]
    parts += [f"{minutes} min" if minutes else "", f"{secs} s" if secs else ""]
    return sign + (" ".join(p for p in parts if p) or "0 min")


def plus(value: datetime, delta: timedelta) -> datetime:
    """Exact (absolute-time) addition."""
    return (value.astimezone(UTC) + delta).astimezone(CHINA)


def _end_of(day: date, end_of_day: EndOfDay, hours: OfficeHours) -> datetime:
    if end_of_day == "office_close":
        return midnight(day) + hours.close
    return midnight(day + _ONE_DAY)


def _end_text(end_of_day: EndOfDay, hours: OfficeHours) -> str:
    if end_of_day == "office_close":
        return f"at office close {format_offset(hours.close)}"
    return "at 24:00"


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# -- working time -----------------------------------------------------------------------------


def _add_working_time(
    run: _Run, start: datetime, amount: timedelta, hours: OfficeHours
) -> datetime:
    """The instant at which ``amount`` of office time has run after ``start``."""
    local = to_local(start)
    if amount <= timedelta():
        return local
    day = local.date()
    position = local - midnight(day)
    remaining = amount
    for _ in range(MAX_DAYS):
        if run.is_workday(day):
            for window_start, window_end in hours.windows:
                if position >= window_end:
                    continue
                begin = max(position, window_start)
                available = window_end - begin
                if remaining <= available:
                    return midnight(day) + begin + remaining
                remaining -= available
        day += _ONE_DAY
        position = timedelta()
    raise InputInvalid(
        f"the calendar has no working time within {MAX_DAYS} days after {fmt(start)}"
    )


def _between(run: _Run, a: datetime, b: datetime, hours: OfficeHours) -> timedelta:
    if b < a:
        return -_between(run, b, a, hours)
    la, lb = to_local(a), to_local(b)
    total = timedelta()
    day = la.date()
    while day <= lb.date():
        if run.is_workday(day):
            base = midnight(day)
            for window_start, window_end in hours.windows:
                begin = max(base + window_start, la)
                end = min(base + window_end, lb)
                if end > begin:
                    total += end - begin
        day += _ONE_DAY
    return total


def working_time_between(
    calendar: Calendar, a: datetime, b: datetime, hours: OfficeHours
) -> timedelta:
    """Office time on working days between ``a`` and ``b`` (negative when ``b < a``).

    Used for suspension (挂账: the time left when the clock stops) and for the supervision
    ladder's percentages of the limit elapsed.
    """
    require_aware(a, "a")
    require_aware(b, "b")
    run = _Run(calendar)
    result = _between(run, a, b, hours)
    run.warn(f"working time between {fmt(a)} and {fmt(b)}")
    return result


def add_working_time(
    calendar: Calendar, start: datetime, amount: timedelta, hours: OfficeHours
) -> datetime:
    """``start`` plus ``amount`` of office time (Asia/Shanghai result)."""
    require_aware(start)
    run = _Run(calendar)
    result = _add_working_time(run, start, amount, hours)
    run.warn(f"{fmt_duration(amount)} of office time from {fmt(start)}")
    return result


# -- the rules --------------------------------------------------------------------------------


def _roll_to_workday(run: _Run, day: date) -> tuple[date, str]:
    """民法典 203: a last day that is a rest day moves to the day after the holiday."""
    info = run.day(day)
    if info.is_workday:
        return day, ""
    moved = run.next_workday(day)
    name = f": {info.name}" if info.name else ""
    return moved, (
        f" is a rest day ({info.kind}{name}), moved to the next working day "
        f"{moved.isoformat()} (民法典 203)"
    )


def _base(run: _Run, rule: RuleSpec, start: datetime, hours: OfficeHours) -> tuple[datetime, str]:
    """The due instant of the unadjusted rule, and the text explaining it."""
    label = f"{rule.describe()} from {fmt(start)}"
    if rule.unit in ("minutes", "hours"):
        delta = (
            timedelta(minutes=rule.amount)
            if rule.unit == "minutes"
            else timedelta(hours=rule.amount)
        )
        return plus(start, delta), f"{label} (natural time)"
    if rule.unit == "working_hours":
        due = _add_working_time(run, start, timedelta(hours=rule.amount), hours)
        return due, f"{label} (office hours {hours})"
    assert rule.start_rule is not None and rule.end_of_day is not None
    if rule.unit == "working_days" and not rule.whole:
        amount = timedelta(seconds=round(rule.amount * hours.length.total_seconds()))
        due = _add_working_time(run, start, amount, hours)
        return due, (f"{label} (= {fmt_duration(amount)} of office time, office hours {hours})")
    local = to_local(start)
    first = local.date()
    count = int(rule.amount)
    if rule.unit == "working_days":
        counts_today = (
            rule.start_rule == "same_day_inclusive"
            and run.is_workday(first)
            and (rule.end_of_day == "midnight" or local - midnight(first) < hours.close)
        )
        due, detail = _working_days_after(run, rule, first, count, counts_today, hours)
        return due, f"{label} ({rule.start_rule}): {detail}"
    # natural days, 民法典 201/203
    if rule.start_rule == "next_day":
        last, how = first + timedelta(days=count), "next_day: start day not counted, 民法典 201"
    else:
        last, how = first + timedelta(days=count - 1), "same_day_inclusive: start day counted"
    due, detail = _natural_last_day(run, rule, last, hours)
    return due, f"{label} ({how}): {detail}"


def _working_days_after(
    run: _Run,
    rule: RuleSpec,
    first: date,
    count: int,
    counts_first: bool,
    hours: OfficeHours,
) -> tuple[datetime, str]:
    """The end of the ``count``-th working day counted from ``first`` (included or not)."""
    assert rule.end_of_day is not None
    day, counted = first, 1 if counts_first else 0
    while counted < count:
        day = run.next_workday(day)
        counted += 1
    detail = (
        f"the {_ordinal(count)} working day is {day.isoformat()}, "
        f"due {_end_text(rule.end_of_day, hours)}"
    )
    return _end_of(day, rule.end_of_day, hours), detail


def _natural_last_day(
    run: _Run, rule: RuleSpec, last: date, hours: OfficeHours
) -> tuple[datetime, str]:
    """The end of the last day of a natural-day period, moved off a rest day (民法典 203)."""
    assert rule.end_of_day is not None
    moved, shift = _roll_to_workday(run, last)
    detail = f"last day {last.isoformat()}{shift}, due {_end_text(rule.end_of_day, hours)}"
    return _end_of(moved, rule.end_of_day, hours), detail


def _anchor(due: datetime, rule: RuleSpec, hours: OfficeHours) -> date | None:
    """The last day of a day-unit period when ``due`` sits exactly at that day's end."""
    assert rule.end_of_day is not None
    day = (to_local(due) - _TICK).date()
    return day if _end_of(day, rule.end_of_day, hours) == to_local(due) else None


def _round_up_to_day_end(
    run: _Run, raw: datetime, rule: RuleSpec, hours: OfficeHours
) -> tuple[datetime, str]:
    """For natural days: the end of the day containing ``raw``, moved off rest days."""
    assert rule.end_of_day is not None
    day = (to_local(raw) - _TICK).date()
    if _end_of(day, rule.end_of_day, hours) < raw:
        day += _ONE_DAY
    return _natural_last_day(run, rule, day, hours)


def add_from_due(
    run: _Run, rule: RuleSpec, due: datetime, amount: float, hours: OfficeHours
) -> tuple[datetime, str]:
    """``amount`` more of the rule's unit after ``due`` (an extension, 延期).

    A due at the end of a day (the usual case) is extended by whole days counted on from that
    day; a due elsewhere in a day (after a suspension) by the equivalent time.
    """
    extra = replace(rule, amount=amount, adjustments=(), source=None)
    if rule.unit in ("minutes", "hours", "working_hours"):
        new, _ = _base(run, extra, due, hours)
        return new, ""
    anchor = _anchor(due, rule, hours)
    if rule.unit == "days":
        if anchor is not None:
            return _natural_last_day(run, rule, anchor + timedelta(days=int(amount)), hours)
        return _round_up_to_day_end(run, plus(due, timedelta(days=amount)), rule, hours)
    if anchor is not None and extra.whole:
        return _working_days_after(run, rule, anchor, int(amount), False, hours)
    amount_time = timedelta(seconds=round(amount * hours.length.total_seconds()))
    new = _add_working_time(run, due, amount_time, hours)
    return new, f"{fmt_duration(amount_time)} of office time"


def _resume(
    run: _Run, rule: RuleSpec, due: datetime, stop: Suspend, hours: OfficeHours
) -> tuple[datetime, str]:
    what = f"suspended (挂账) {fmt(stop.start)} → {fmt(stop.end)}"
    if stop.start >= due:
        return due, f"{what} after the due time: unchanged"
    if rule.clock == "natural":
        remaining = due - stop.start
        raw = plus(stop.end, remaining)
        if rule.unit == "days":
            new, last = _round_up_to_day_end(run, raw, rule, hours)
            return new, f"{what}: {fmt_duration(remaining)} left; {last}"
        return raw, f"{what}: {fmt_duration(remaining)} left, due {fmt(raw)}"
    remaining = _between(run, stop.start, due, hours)
    new = _add_working_time(run, stop.end, remaining, hours)
    day = to_local(new).date()
    if rule.end_of_day == "midnight" and to_local(new) == midnight(day) + hours.close:
        new = midnight(day + _ONE_DAY)
    return new, f"{what}: {fmt_duration(remaining)} of office time left, due {fmt(new)}"


def compute_due(
    calendar: Calendar,
    rule: RuleSpec,
    start: datetime,
    office_hours: OfficeHoursLike | None = None,
) -> DueResult:
    """The due instant of ``rule`` started at ``start``, adjustments applied in order.

    Office hours: the rule's own (a stored spec keeps the ones it was computed with), else
    ``office_hours`` (the organisation's), else the calendar's default.
    """
    require_aware(start)
    if rule.office_hours is not None:
        hours = rule.office_hours
    elif office_hours is not None:
        hours = OfficeHours.parse(office_hours)
    else:
        hours = calendar.office_hours
    applied = replace(rule, office_hours=hours) if rule.uses_office_hours else rule
    run = _Run(calendar)
    due, text = _base(run, applied, start, hours)
    for adjustment in applied.adjustments:
        if isinstance(adjustment, Extend):
            new, detail = add_from_due(run, applied, due, adjustment.amount, hours)
            text += f"; extended by {applied.describe(adjustment.amount)} to {fmt(new)}"
            text += f" ({detail})" if detail else ""
            due = new
        elif isinstance(adjustment, Suspend):
            due, detail = _resume(run, applied, due, adjustment, hours)
            text += f"; {detail}"
        elif isinstance(adjustment, Restart):
            due, detail = _base(run, applied, require_aware(adjustment.at, "restart"), hours)
            text += f"; fresh limit: {detail}"
    if applied.source:
        text = f"{applied.source}: {text}"
    if run.uncovered:
        years = ", ".join(str(y) for y in sorted(run.uncovered))
        basis = "weekends" if calendar.missing_year_policy == "weekends_only" else "statutory"
        text = f"{PROVISIONAL_LABEL} {text} [{years}: no official table, {basis} only]"
    run.warn(text)
    return DueResult(
        due=due.astimezone(start.tzinfo),
        start=start,
        rule=applied,
        text=text,
        confidence="low" if run.uncovered else "high",
        uncovered_years=tuple(sorted(run.uncovered)),
        data_version=calendar.data_version,
    )
