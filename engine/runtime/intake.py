"""Reporting a new case (受理): start its process under the next free case number."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.clock import in_china
from engine.errors import Conflict
from engine.runtime.commands import Engine
from engine.storage.models import Case


def next_case_no(s: Session, now: datetime) -> str:
    """``BH-<year>-<6 digits>``: one more than the highest number of the year (China time)."""
    prefix = f"BH-{in_china(now).year}-"
    last = s.scalar(
        select(Case.case_no)
        .where(Case.case_no.like(prefix + "%"))
        .order_by(func.length(Case.case_no).desc(), Case.case_no.desc())
        .limit(1)
    )
    number = 0
    if last is not None:
        try:
            number = int(last[len(prefix) :])
        except ValueError:
            number = 0
    return f"{prefix}{number + 1:06d}"


def report_case(
    engine: Engine,
    process_id: str,
    case_no: str | None,
    data: Mapping[str, Any],
    actor: Actor,
    *,
    attempts: int = 5,
) -> str:
    """Start the process for a new case; with no case number, take the next free one."""
    if case_no is not None:
        engine.start(process_id, case_no, data, actor)
        return case_no
    for attempt in range(attempts):
        with engine.db.session() as s:
            number = next_case_no(s, engine.clock.now())
        try:
            engine.start(process_id, number, data, actor)
            return number
        except Conflict:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")
