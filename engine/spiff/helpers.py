"""TEMPORARY stand-in until the safe helper functions land (owned by the sandbox work)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any


def make_helpers(clock: Callable[[], datetime]) -> dict[str, Callable[..., Any]]:
    return {"now": lambda: clock().isoformat()}
