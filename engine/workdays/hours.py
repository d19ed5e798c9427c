"""Office hours (办公时间): the windows of a working day in which working hours are counted.

Windows are local Asia/Shanghai wall-clock times, e.g. ``["08:30-12:00", "13:30-17:30"]``.
``24:00`` is allowed as the end of the last window, so a 7×24 unit is ``["00:00-24:00"]``.
Office hours belong to an organisation; the calendar only holds a default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from engine.errors import InputInvalid

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_DAY = timedelta(days=1)


def _clock_time(hours: str, minutes: str, text: str) -> timedelta:
    h, m = int(hours), int(minutes)
    if m >= 60 or h > 24 or (h == 24 and m != 0):
        raise InputInvalid(f"office hours window {text!r}: {hours}:{minutes} is not a time of day")
    return timedelta(hours=h, minutes=m)


@dataclass(frozen=True)
class OfficeHours:
    """Ordered, non-overlapping windows as offsets from local midnight."""

    windows: tuple[tuple[timedelta, timedelta], ...]

    @classmethod
    def parse(cls, spec: OfficeHoursLike) -> OfficeHours:
        """Accept an :class:`OfficeHours`, one ``"HH:MM-HH:MM"`` string or a list of them."""
        if isinstance(spec, OfficeHours):
            return spec
        items = [spec] if isinstance(spec, str) else list(spec)
        if not items:
            raise InputInvalid("office hours need at least one window such as '08:30-12:00'")
        windows: list[tuple[timedelta, timedelta]] = []
        for text in items:
            if not isinstance(text, str):
                raise InputInvalid(f"office hours window {text!r} is not a 'HH:MM-HH:MM' string")
            match = _WINDOW.match(text)
            if match is None:
                raise InputInvalid(f"office hours window {text!r} is not in the form 'HH:MM-HH:MM'")
            start = _clock_time(match[1], match[2], text)
            end = _clock_time(match[3], match[4], text)
            if end <= start:
                raise InputInvalid(f"office hours window {text!r} ends before it starts")
            if windows and start < windows[-1][1]:
                raise InputInvalid(
                    f"office hours window {text!r} overlaps or precedes the window before it; "
                    "list windows in order without overlap"
                )
            windows.append((start, end))
        return cls(tuple(windows))

    @property
    def length(self) -> timedelta:
        """Office time in one working day (7:30:00 for the default windows)."""
        return sum((end - start for start, end in self.windows), timedelta())

    @property
    def close(self) -> timedelta:
        """End of the office day as an offset from midnight (17:30 by default)."""
        return self.windows[-1][1]

    def to_strings(self) -> list[str]:
        return [f"{_fmt(start)}-{_fmt(end)}" for start, end in self.windows]

    def __str__(self) -> str:
        return ", ".join(self.to_strings())


def _fmt(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_offset(offset: timedelta) -> str:
    """``timedelta(hours=17, minutes=30)`` → ``"17:30"``; a full day → ``"24:00"``."""
    return "24:00" if offset >= _DAY else _fmt(offset)


OfficeHoursLike = OfficeHours | str | Sequence[str]

DEFAULT_OFFICE_HOURS = OfficeHours.parse(["08:30-12:00", "13:30-17:30"])
