"""Deadline records: what a case remembers about each of its deadlines, in ``cases.fields``.

``case.fields["supervision"]`` holds::

    {"case": {<record>} | absent,          the case's handling limit (办理时限)
     "tasks": {task_id: {<record>}},       one per open task with a ``deadline`` property
     "seen": {"status": …, "severity": …, "reopen_count": …, "tier": …},
     "tier": {"from": …, "to": …},         a tier escalation the workflow data has not caught up on
     "extensions": [...]}

A record keeps the rule, the start and the computed due (``DueResult.to_dict()``) plus ``step``,
``severity``, ``gen`` (bumped on every recompute: it is part of the rung keys, so old rungs are
cancelled as a group), ``fired`` (rungs already fired, never repeated) and ``suspended_at``.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from engine.storage.models import Case
from engine.workdays import DueResult, RuleSpec
from engine.workdays.rules import parse_instant

KEY = "supervision"


def state(case: Case) -> dict[str, Any]:
    """A deep-enough copy of the case's supervision state (write back with :func:`save`)."""
    raw = dict((case.fields or {}).get(KEY) or {})
    raw["tasks"] = {k: dict(v) for k, v in dict(raw.get("tasks") or {}).items()}
    if raw.get("case") is not None:
        raw["case"] = dict(raw["case"])
    raw["seen"] = dict(raw.get("seen") or {})
    return raw


def save(case: Case, value: dict[str, Any]) -> None:
    # A fresh deep copy: SQLAlchemy notices reassignment, not mutation of a JSON value, and a
    # value shared with the previous assignment would compare equal and never be written.
    case.fields = {**(case.fields or {}), KEY: copy.deepcopy(value)}


def record(
    result: DueResult, *, step: str, severity: str, gen: int, **extra: Any
) -> dict[str, Any]:
    return {**result.to_dict(), "step": step, "severity": severity, "gen": gen, **extra}


def due_result(rec: dict[str, Any]) -> DueResult:
    return DueResult(
        due=parse_instant(rec["due"], "due"),
        start=parse_instant(rec["start"], "start"),
        rule=RuleSpec.from_dict(rec["rule"]),
        text=str(rec.get("text") or ""),
        confidence="low" if rec.get("confidence") == "low" else "high",
        uncovered_years=tuple(int(y) for y in rec.get("uncovered_years") or ()),
        data_version=str(rec.get("data_version") or ""),
    )


def provisional(rec: dict[str, Any]) -> bool:
    """The record's due time consulted a year without an official table (暂定)."""
    return rec.get("confidence") == "low"


def due_of(rec: dict[str, Any]) -> datetime:
    return parse_instant(rec["due"], "due")


def updated(old: dict[str, Any], result: DueResult, **changes: Any) -> dict[str, Any]:
    """The record after a recompute: new due and rule, next generation, same history."""
    return {**old, **result.to_dict(), "gen": int(old.get("gen", 0)) + 1, **changes}
