"""Time as a dependency: the engine never calls ``datetime.now()`` itself.

Tests use :class:`ManualClock` and move it forward; nothing in the suite sleeps to wait for time.
All instants are timezone-aware; the engine stores UTC and shows Asia/Shanghai.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to. Thread-safe."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        with self._lock:
            self._now = when


def as_utc(value: datetime) -> datetime:
    """Normalise to aware UTC (naive values are taken as UTC: that is how we store them)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def in_china(value: datetime) -> datetime:
    return as_utc(value).astimezone(CHINA)


__all__ = ["CHINA", "Clock", "ManualClock", "SystemClock", "as_utc", "in_china", "timedelta"]
