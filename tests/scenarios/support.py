"""Helpers for the scenario tests: what the audit trail says about a case."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import case, events, instance

GRID_WORKER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


def transitions(db: Database, case_no: str, field: str) -> list[Any]:
    """The successive values of a tracked case field, from the ``case_updated`` events."""
    return [
        e.data_after[field]
        for e in events(db, case_no)
        if e.event_type == "case_updated" and e.data_after and field in e.data_after
    ]


def counts(db: Database, case_no: str, *types: str) -> dict[str, int]:
    found = [e.event_type for e in events(db, case_no)]
    return {t: found.count(t) for t in types}


def details(db: Database, case_no: str, event_type: str) -> list[dict[str, Any]]:
    """The details of each event of a type, with its ``reason`` and ``element_id`` columns."""
    return [
        {**(e.details or {}), "reason": e.reason, "element_id": e.element_id}
        for e in events(db, case_no)
        if e.event_type == event_type
    ]


def end_reopen_window(engine: Engine, case_no: str) -> None:
    """A 办结 case waits out its reopening window (30 days); let the window pass so that the
    instance ends (the engine's clock is the test's ``ManualClock``)."""
    found = instance(engine.db, case_no)
    if found.status == "completed":
        return
    assert case(engine.db, case_no).status == "CLOSED"
    assert isinstance(engine.clock, ManualClock)
    # the window's end: 30 natural days, moved past a holiday ending it (民法典 203)
    [window] = [datetime.fromisoformat(k.split(":", 3)[3]) for k in found.waits["timers"]]
    engine.clock.advance(max(window - engine.clock.now(), timedelta(0)) + timedelta(minutes=1))
    engine.workflows.clear()
    assert engine.fire_due_timers(found.id)
