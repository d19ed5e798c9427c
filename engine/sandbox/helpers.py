"""Safe helper functions offered by name to expressions and scripts in the sandbox.

Build them with :func:`make_helpers` and pass them to ``Sandbox(helpers=...)``::

    helpers = make_helpers(clock.now)
    helpers = with_calendar(helpers, add_working_days=..., add_working_hours=...)  # calendar
    sandbox = Sandbox(helpers=helpers, limits=...)

Dates and times go in and out as ISO-8601 strings with an offset, so task data stays
JSON-serialisable and timer expressions can return the value directly: ``now()``,
``add_days(...)``, ``add_hours(...)`` and ``iso(...)`` return strings;
``parse_datetime(...)`` returns an aware ``datetime`` for comparisons and fields such as
``.hour`` or ``.weekday()``. Inputs may be ISO strings (``"2026-03-02T09:00:00+08:00"``,
``"2026-03-02T01:00:00Z"``, ``"2026-03-02"``), ``datetime`` or ``date`` values; values without
an offset are taken in the helpers' time zone (Asia/Shanghai unless told otherwise). Date-only
inputs of ``add_days`` give date-only results.

``now()`` never reads the wall clock: it asks the clock given to :func:`make_helpers` (the
engine's clock, a ``ManualClock`` in tests).

The string and list helpers accept ``None`` as "empty", which keeps conditions short when a
form field was left blank: ``contains(tags, "urgent")``, ``strip(name) != ""``.

Helpers are trusted code that receives sandbox values as they are, so each one bounds its own
work (``max_size``) and returns plain data.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from engine.sandbox.bulk import hash_flood
from engine.sandbox.guards import FLAT, Refused, measure

SHANGHAI: Final = ZoneInfo("Asia/Shanghai")

CALENDAR_HELPER_NAMES: Final = ("add_working_days", "add_working_hours")
"""Names reserved for the working-day helpers built from the organisation's calendar; see
:func:`with_calendar`."""

_MAX_DATETIME_TEXT: Final = 64
_MISSING: Final = object()

Helper = Callable[..., Any]


# ---------------------------------------------------------------------------------------------
# Dates and times (module level so the calendar can reuse them)


def _aware(value: datetime, tz: tzinfo) -> datetime:
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def _parse(value: object, tz: tzinfo, helper: str) -> tuple[datetime, bool]:
    """Return an aware datetime and whether the input was a date without a time."""
    if isinstance(value, datetime):
        return _aware(value, tz), False
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=tz), True
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_DATETIME_TEXT:
            raise ValueError(f"{helper}(): the text is too long to be a date or time")
        try:
            day = date.fromisoformat(text)
        except ValueError:
            pass
        else:
            return datetime(day.year, day.month, day.day, tzinfo=tz), True
        try:
            return _aware(datetime.fromisoformat(text), tz), False
        except ValueError:
            raise ValueError(
                f"{helper}(): {text!r} is not an ISO-8601 date or date-time "
                "(e.g. '2026-03-02' or '2026-03-02T09:00:00+08:00')"
            ) from None
    raise TypeError(f"{helper}() expects an ISO-8601 string or a datetime, not {_kind(value)}")


def parse_datetime(value: object, tz: tzinfo = SHANGHAI) -> datetime:
    """An aware datetime from an ISO-8601 string, a datetime or a date (naive values: ``tz``)."""
    return _parse(value, tz, "parse_datetime")[0]


def to_iso(value: object, tz: tzinfo = SHANGHAI) -> str:
    """ISO-8601 text for a datetime, date or ISO string; dates stay dates."""
    moment, date_only = _parse(value, tz, "iso")
    return moment.date().isoformat() if date_only else moment.isoformat()


def _kind(value: object) -> str:
    return "None" if value is None else type(value).__name__


def _number(value: object, helper: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{helper}() expects a number, not {_kind(value)}")
    return value


# ---------------------------------------------------------------------------------------------
# The helpers


def make_helpers(
    clock: Callable[[], datetime],
    *,
    tz: tzinfo = SHANGHAI,
    max_size: int = 1_000_000,
) -> dict[str, Helper]:
    """The standard helpers. ``clock`` returns the current instant (naive values are UTC);
    ``tz`` is the zone of ``now()`` and of inputs without an offset; ``max_size`` bounds the
    work of the list and string helpers (use the sandbox's ``Limits.max_size``)."""

    def now() -> str:
        """The current instant in the helpers' zone, as ISO-8601 text."""
        current = clock()
        if current.tzinfo is None:
            current = current.replace(tzinfo=UTC)
        return current.astimezone(tz).isoformat()

    def parse_datetime_(value: object) -> datetime:
        return _parse(value, tz, "parse_datetime")[0]

    def iso(value: object) -> str:
        return to_iso(value, tz)

    def add_days(value: object, days: object) -> str:
        moment, date_only = _parse(value, tz, "add_days")
        result = moment + timedelta(days=_number(days, "add_days"))
        if date_only and result.time() == moment.time():
            return result.date().isoformat()
        return result.isoformat()

    def add_hours(value: object, hours: object) -> str:
        moment, _ = _parse(value, tz, "add_hours")
        return (moment + timedelta(hours=_number(hours, "add_hours"))).isoformat()

    def days_between(start: object, end: object) -> float:
        """Days from ``start`` to ``end`` (negative if ``end`` is earlier), with fractions."""
        first, _ = _parse(start, tz, "days_between")
        second, _ = _parse(end, tz, "days_between")
        return (second - first) / timedelta(days=1)

    def _checked(value: object, helper: str) -> None:
        if type(value) not in FLAT:
            try:
                measure(value, max_size)
            except Refused as exc:
                raise ValueError(f"{helper}(): {exc.message}") from None

    def _text(value: object, helper: str) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float):
            return str(value)
        raise TypeError(f"{helper}() expects text, not {_kind(value)}")

    def strip(value: object) -> str:
        """Text without surrounding white space (``None`` gives "")."""
        return _text(value, "strip").strip()

    def lower(value: object) -> str:
        return _text(value, "lower").lower()

    def upper(value: object) -> str:
        return _text(value, "upper").upper()

    def contains(container: object, item: object) -> bool:
        """Whether ``item`` is in ``container`` (text, list, dict keys...); ``None`` is empty."""
        if container is None:
            return False
        if isinstance(container, str):
            return _text(item, "contains") in container
        _checked(container, "contains")
        _checked(item, "contains")
        if isinstance(container, list | tuple | set | frozenset | dict):
            return item in container
        raise TypeError(f"contains() expects text or a list, not {_kind(container)}")

    def join(items: object, separator: object = ", ") -> str:
        """The items as text, separated by ``separator``; ``None`` items are left out."""
        if items is None:
            return ""
        if not isinstance(items, list | tuple):
            raise TypeError(f"join() expects a list, not {_kind(items)}")
        sep = _text(separator, "join")
        _checked(items, "join")
        parts = [_text(item, "join") for item in items if item is not None]
        size = sum(len(part) for part in parts) + len(sep) * max(len(parts) - 1, 0)
        if size > max_size:
            raise ValueError(f"join(): the result would have {size} characters (limit {max_size})")
        return sep.join(parts)

    def unique(items: object) -> list[Any]:
        """The items without repeats, in their first order (``None`` gives [])."""
        if items is None:
            return []
        if not isinstance(items, list | tuple):
            raise TypeError(f"unique() expects a list, not {_kind(items)}")
        _checked(items, "unique")
        flat = [item for item in items if type(item) in FLAT]
        problem = hash_flood(flat)
        if problem is not None:
            raise ValueError(f"unique(): {problem}")
        seen: set[Any] = set()
        result: list[Any] = []
        for item in items:
            try:
                key: Any = ("h", item) if type(item) in FLAT else ("j", _canonical(item))
            except (TypeError, ValueError):
                raise TypeError(f"unique() cannot compare values of type {_kind(item)}") from None
            if key not in seen:
                seen.add(key)
                result.append(item)
        return result

    def count(items: object, value: object = _MISSING) -> int:
        """How many items there are, or how many equal ``value`` (for text: occurrences)."""
        if items is None:
            return 0
        if isinstance(items, str):
            return len(items) if value is _MISSING else items.count(_text(value, "count"))
        if not isinstance(items, list | tuple | set | frozenset | dict):
            raise TypeError(f"count() expects a list or text, not {_kind(items)}")
        if value is _MISSING:
            return len(items)
        _checked(items, "count")
        _checked(value, "count")
        return sum(1 for item in items if item == value)

    return {
        "now": now,
        "parse_datetime": parse_datetime_,
        "iso": iso,
        "add_days": add_days,
        "add_hours": add_hours,
        "days_between": days_between,
        "strip": strip,
        "lower": lower,
        "upper": upper,
        "contains": contains,
        "join": join,
        "unique": unique,
        "count": count,
    }


def _canonical(value: object) -> str:
    # Only called on measured values (bounded size, no cycles).
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=True)


def with_calendar(
    helpers: Mapping[str, Helper],
    *,
    add_working_days: Callable[[Any, int], str],
    add_working_hours: Callable[[Any, float], str],
) -> dict[str, Helper]:
    """The hook for the working-day helpers (implemented by the calendar, not here).

    ``add_working_days(start, n)`` and ``add_working_hours(start, hours)`` take an ISO-8601
    string or datetime (use :func:`parse_datetime` to read it) and must return ISO-8601 text
    (use :func:`to_iso`), like the other helpers. They are offered under the names in
    :data:`CALENDAR_HELPER_NAMES`; pass the result to ``Sandbox(helpers=...)``.
    """
    merged = dict(helpers)
    merged["add_working_days"] = add_working_days
    merged["add_working_hours"] = add_working_hours
    return merged


__all__ = [
    "CALENDAR_HELPER_NAMES",
    "SHANGHAI",
    "Helper",
    "make_helpers",
    "parse_datetime",
    "to_iso",
    "with_calendar",
]
