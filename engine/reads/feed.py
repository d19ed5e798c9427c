"""Definitions as deployed, the change feed behind the event stream, and the gauges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.access import Principal
from engine.reads.views import OPEN, ChangeView, Gauges
from engine.runtime import definitions as defs
from engine.storage.models import Case, ChangeEvent, Definition, DueItem, HumanTask

# ---------------------------------------------------------------- definitions


def definitions(s: Session) -> list[Definition]:
    return defs.list_definitions(s)


def definition_xml(s: Session, process_id: str, version: int) -> bytes:
    return defs.source_xml(s, defs.get_version(s, process_id, version))


# ---------------------------------------------------------------- change feed


def last_change_id(s: Session) -> int:
    return int(s.scalar(select(func.max(ChangeEvent.id))) or 0)


def changes_after(
    s: Session, principal: Principal, after: int, *, limit: int = 100
) -> tuple[list[ChangeView], list[int]]:
    """Changes after id ``after`` that the caller may see, and every id examined (in order)."""
    scanned = list(
        s.scalars(
            select(ChangeEvent).where(ChangeEvent.id > after).order_by(ChangeEvent.id).limit(limit)
        )
    )
    paths = principal.paths()
    pairs = set(principal.candidacy())
    out = []
    for e in scanned:
        path = e.org_path or "/"
        mine = e.assignee == principal.user_id or (
            e.candidate_org is not None
            and any(
                org == e.candidate_org and e.candidate_role in (None, role) for org, role in pairs
            )
        )
        if mine or any(path.startswith(p) for p in paths):
            out.append(ChangeView(e.id, e.at, e.kind, e.case_no, dict(e.payload or {})))
    return out, [e.id for e in scanned]


# ---------------------------------------------------------------- operations


def gauges(s: Session, now: datetime) -> Gauges:
    open_tasks = s.scalar(select(func.count()).where(HumanTask.state.in_(OPEN))) or 0
    overdue = (
        s.scalar(
            select(func.count()).where(
                HumanTask.state.in_(OPEN), HumanTask.due_at.is_not(None), HumanTask.due_at < now
            )
        )
        or 0
    )
    oldest = s.scalar(
        select(func.min(DueItem.due_at)).where(DueItem.state == "pending", DueItem.due_at <= now)
    )
    lag = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    failed = s.scalar(select(func.count()).where(DueItem.state == "failed")) or 0
    by_status = {
        str(status): int(n)
        for status, n in s.execute(select(Case.status, func.count()).group_by(Case.status))
    }
    return Gauges(int(open_tasks), int(overdue), lag, int(failed), by_status)


def ping(s: Session) -> None:
    s.execute(text("SELECT 1"))
