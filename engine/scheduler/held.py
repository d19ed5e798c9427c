"""The leases a scheduler holds on claimed items, renewed while it works through them.

A claim leases each row for ``lease_seconds`` (10 s by default). A sweep that takes longer —
a backlog of hundreds of items, a slow handler — would lose the leases of the items still
waiting in its batch, and a live node would see them taken over under its feet. So a heartbeat
(:meth:`HeldLeases.renew`, every third of a lease) pushes ``lease_until`` forward for every item
still held, **only where the row is still pending and still leased to this owner**: an item
another node took over while this one was frozen (SIGSTOP, a VM pause, a long GC) is never taken
back. Rows locked by a firing in progress are skipped (``SKIP LOCKED``): nobody can claim them
while the lock is held, and waiting for them could deadlock with that very firing.

When the process dies or freezes, the heartbeat stops with it and the leases lapse within one
lease: another node's next claim takes the rows over. The firing itself is fenced by a
conditional update on the lease owner (:meth:`engine.scheduler.Scheduler.fire`), so a frozen node
that wakes up cannot fire what another node has fired or taken over.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select, update

from engine.clock import as_utc
from engine.storage.database import Database
from engine.storage.dialects import skip_locked
from engine.storage.models import DueItem


class HeldLeases:
    """Claimed-but-unsettled items of one scheduler, each with the end of its lease."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[int, datetime] = {}

    def hold(self, items: Iterable[tuple[int, datetime]]) -> None:
        with self._lock:
            for item_id, until in items:
                self._until[item_id] = as_utc(until)

    def drop(self, item_id: int) -> None:
        with self._lock:
            self._until.pop(item_id, None)

    def until(self, item_id: int, default: datetime) -> datetime:
        """The lease end as last renewed (``default``: the claim's, when not held)."""
        with self._lock:
            return self._until.get(item_id, default)

    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self._until)

    def renew(self, db: Database, owner: str, now: datetime, lease: timedelta) -> int:
        """Extend the held leases to ``now + lease`` where still ours; return how many were."""
        wanted = self.ids()
        if not wanted:
            return 0
        until = as_utc(now) + lease
        with db.session() as s:
            query = select(DueItem.id).where(
                DueItem.id.in_(wanted), DueItem.state == "pending", DueItem.lease_owner == owner
            )
            mine = list(s.scalars(skip_locked(query, s)))
            if mine:
                s.execute(
                    update(DueItem)
                    .where(DueItem.id.in_(mine), DueItem.lease_owner == owner)
                    .values(lease_until=until)
                    .execution_options(synchronize_session=False)
                )
        with self._lock:
            for item_id in mine:
                if item_id in self._until:
                    self._until[item_id] = until
        return len(mine)
