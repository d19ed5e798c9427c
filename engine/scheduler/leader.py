"""Leader election through one row of ``scheduler_leases``.

``bihuan serve`` starts several workers; each asks on every tick whether it leads. The leader
renews its row (``lease_until = now + ttl``); when it stops renewing — the worker died or hung —
the row lapses and the next worker to ask takes it over. Two workers never both believe they lead
at one instant of database time: the row is read and written under a row lock (PostgreSQL) or the
writer lock (SQLite). Leadership only saves work: correctness never depends on it, because the
sweep itself fires each item once whatever the number of sweepers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.clock import as_utc
from engine.storage.database import Database
from engine.storage.dialects import insert_for
from engine.storage.models import SchedulerLease


class LeaderLease:
    def __init__(
        self, db: Database, owner: str, *, name: str = "scheduler", ttl_seconds: float = 15
    ):
        if ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive")
        self.db = db
        self.owner = owner
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)

    def acquire(self, now: datetime) -> bool:
        """Take or renew the lease; return whether this owner leads until ``now + ttl``."""
        now = as_utc(now)
        with self.db.session() as s:
            insert = insert_for(s)
            s.execute(
                insert(SchedulerLease)
                .values(name=self.name, owner=self.owner, lease_until=now + self.ttl)
                .on_conflict_do_nothing(index_elements=["name"])
            )
            row = s.scalars(
                select(SchedulerLease).where(SchedulerLease.name == self.name).with_for_update()
            ).one()
            if row.owner == self.owner or as_utc(row.lease_until) < now:
                row.owner, row.lease_until = self.owner, now + self.ttl
                return True
            return False

    def renew(self, now: datetime) -> bool:
        """Extend the lease only if this owner still holds it (the heartbeat's fenced renewal:
        a leader that froze and lost the lease does not take it back by renewing)."""
        now = as_utc(now)
        with self.db.session() as s:
            result = s.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == self.name,
                    SchedulerLease.owner == self.owner,
                    SchedulerLease.lease_until >= now,
                )
                .values(lease_until=now + self.ttl)
                .execution_options(synchronize_session=False)
            )
            return bool(getattr(result, "rowcount", 0))

    def release(self, now: datetime) -> None:
        """Give the lease up (on shutdown) so another worker takes over at once."""
        with self.db.session() as s:
            s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == self.name, SchedulerLease.owner == self.owner)
                .values(lease_until=as_utc(now) - timedelta(microseconds=1))
            )

    def holder(self) -> tuple[str, datetime] | None:
        with self.db.session() as s:
            row = s.get(SchedulerLease, self.name)
            return None if row is None else (row.owner, as_utc(row.lease_until))
