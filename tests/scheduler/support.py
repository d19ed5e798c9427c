"""Helpers for scheduler tests: a cheap ``probe`` kind whose effect is one notification row."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.notify import enqueue
from engine.scheduler import ClaimedItem, schedule
from engine.storage.database import Database
from engine.storage.models import DueItem, Firing, Notification


def probe(session: Session, item: ClaimedItem, now: datetime) -> None:
    """The effect of a probe: one notification row per firing (no unique key to hide repeats)."""
    enqueue(session, now=now, kind="probe", title=item.dedupe_key, payload={"id": item.id})


def add_probes(db: Database, n: int, due: datetime, *, prefix: str = "probe") -> None:
    with db.session() as s:
        for i in range(n):
            schedule(
                s,
                kind="probe",
                dedupe_key=f"{prefix}:{i}",
                due_at=due - timedelta(milliseconds=i),
                now=due - timedelta(hours=1),
            )


def effects(db: Database) -> dict[str, int]:
    """title → how many times the probe's effect happened."""
    with db.session() as s:
        rows = s.execute(
            select(Notification.title, func.count())
            .where(Notification.kind == "probe")
            .group_by(Notification.title)
        ).all()
    return {title: int(n) for title, n in rows}


def counts(db: Database) -> tuple[int, int, int]:
    """(firings, done items, pending items)."""
    with db.session() as s:
        firings = s.scalar(select(func.count()).select_from(Firing)) or 0
        done = s.scalar(select(func.count()).select_from(DueItem).where(DueItem.state == "done"))
        pending = s.scalar(
            select(func.count()).select_from(DueItem).where(DueItem.state == "pending")
        )
    return int(firings), int(done or 0), int(pending or 0)
