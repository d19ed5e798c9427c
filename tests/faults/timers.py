"""BPMN timers falling due a few seconds ahead, for the scheduler's failover scenarios.

Each case of the ``deadline`` fixture process has a 1 h reminder (a non-interrupting boundary
timer). A case started with a clock set one hour, less a few seconds, before the database's now
has its reminder fall due a few seconds from now, fired by the nodes' real schedulers. Instants
come from the database (``SELECT now()``), never from the test's own clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from engine.clock import ManualClock, as_utc
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import AuditEvent, DueItem, Firing
from tests.engine.support import ALICE, DESIGNER, bundle


def db_now(db: Database) -> datetime:
    with db.session() as s:
        return as_utc(s.execute(text("SELECT now()")).scalar_one())


def leader_pid(db: Database) -> int | None:
    """The process id in the scheduler lease's owner (``host:pid:random``)."""
    with db.session() as s:
        owner = s.scalar(text("SELECT owner FROM scheduler_leases WHERE name = 'scheduler'"))
    return int(owner.split(":")[1]) if owner else None


@dataclass
class Timers:
    db: Database
    prefix: str
    count: int

    def schedule(self, first: float, last: float) -> None:
        """Start ``count`` cases whose reminders fall due ``first`` … ``last`` seconds ahead."""
        now = db_now(self.db)
        step = (last - first) / max(1, self.count - 1)
        for n in range(self.count):
            ahead = timedelta(seconds=first + n * step)
            engine = Engine(self.db, clock=ManualClock(now - timedelta(hours=1) + ahead))
            if n == 0:
                engine.deploy(bundle("deadline.bpmn"), DESIGNER)  # the same bundle: a no-op
            engine.start("deadline", f"{self.prefix}-{n}", {}, ALICE)

    def _mine(self) -> Any:
        return DueItem.case_no.like(f"{self.prefix}-%")

    def fired(self) -> int:
        with self.db.session() as s:
            query = (
                select(func.count())
                .select_from(Firing)
                .join(DueItem, DueItem.dedupe_key == Firing.dedupe_key)
                .where(self._mine())
            )
            return int(s.scalar(query) or 0)

    def outcome(self, fault_at: datetime, fault_pid: int) -> dict[str, Any]:
        """The figures, after checking each timer fired exactly once."""
        with self.db.session() as s:
            rows = s.execute(
                select(Firing.fired_at, Firing.due_at, Firing.fired_by)
                .join(DueItem, DueItem.dedupe_key == Firing.dedupe_key)
                .where(self._mine())
            ).all()
            effects = s.execute(
                select(AuditEvent.case_no, func.count())
                .where(
                    AuditEvent.case_no.like(f"{self.prefix}-%"),
                    AuditEvent.event_type == "timer_fired",
                )
                .group_by(AuditEvent.case_no)
            ).all()
        lateness = [(as_utc(r.fired_at) - as_utc(r.due_at)).total_seconds() for r in rows]
        after_fault = [
            (as_utc(r.fired_at) - max(as_utc(r.due_at), fault_at)).total_seconds()
            for r in rows
            if as_utc(r.fired_at) >= fault_at
        ]
        assert len(rows) == self.count  # one firing proof per timer
        assert sorted(n for _, n in effects) == [1] * self.count  # each reminder's effect once
        return {
            "timers": self.count,
            "fired": len(rows),
            "max_lateness_s": round(max(lateness), 2),
            "max_lateness_after_fault_s": round(max(after_fault, default=0.0), 2),
            "fired_by_others": sum(1 for r in rows if f":{fault_pid}:" not in r.fired_by),
        }
