"""Reporting a new case (受理): start its process under the next free case number."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.clock import in_china
from engine.errors import Conflict, InputInvalid
from engine.runtime.commands import Engine
from engine.storage.models import Case

#: the engine's own numbers (``next_case_no``), in any case and with any count of digits
ENGINE_NUMBER = re.compile(r"BH-\d+-\d+", re.IGNORECASE)


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
    """Start the process for a new case; with no case number, take the next free one.

    A number the reporter chooses (an external reference, e.g. a 12345 hotline ticket) must not
    be of the engine's own sequential form, whatever exists (422); one that is taken answers
    the same 409 whether the case holding it is one the reporter may read or not — the answer
    never says whose it is or what it holds, and the sequence cannot be walked to count cases.
    """
    if case_no is not None:
        if ENGINE_NUMBER.fullmatch(case_no.strip()):
            raise InputInvalid(
                f"案件编号 {case_no} 的格式由系统分配，请留空 (numbers of the form "
                "BH-<year>-<number> are given by the engine: leave case_no empty)",
                field="case_no",
            )
        try:
            engine.start(process_id, case_no, data, actor)
        except Conflict:
            raise Conflict(
                f"案件编号 {case_no} 不可用 (case number {case_no} is not available: choose "
                "another, or leave it empty for the next number)",
                field="case_no",
            ) from None
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
