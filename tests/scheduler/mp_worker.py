"""A scheduler process for the multi-process test: the real Scheduler and Engine, own clock.

    python -m tests.scheduler.mp_worker URL OWNER --start ISO [--hang-after N] [--lease S]

Sweeps until no item is pending. Its clock is a ManualClock at ``--start`` (the parent's
instant) that jumps by a lease whenever a sweep finds nothing it may claim while items are still
pending (rows leased by a dead process): lease expiry is driven by the clock, not by waiting a
real minute, and no worker reads the wall clock.
``--hang-after N`` makes it stop inside the N-th firing's transaction (after the ``firings``
insert, before commit) and print ``HANG <key>``, so the parent can SIGKILL it mid-sweep.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.scheduler import ClaimedItem, Scheduler
from engine.storage.database import Database
from engine.storage.models import DueItem
from tests.scheduler.support import probe


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("owner")
    parser.add_argument("--start", type=datetime.fromisoformat, required=True)
    parser.add_argument("--hang-after", type=int, default=0)
    parser.add_argument("--lease", type=float, default=60.0)
    parser.add_argument("--deadline", type=float, default=45.0)
    args = parser.parse_args()
    db = Database(args.url)
    clock = ManualClock(args.start)
    engine = Engine(db, clock=clock)
    sched = Scheduler(
        db, engine=engine, clock=clock, owner=args.owner, lease_seconds=args.lease, batch_size=100
    )
    fired = 0

    def counted(session: Session, item: ClaimedItem, now: datetime) -> None:
        nonlocal fired
        probe(session, item, now)
        fired += 1
        if args.hang_after and fired >= args.hang_after:
            session.flush()
            print(f"HANG {item.dedupe_key}", flush=True)
            threading.Event().wait()  # hold the transaction open until killed

    sched.register("probe", counted)
    stop_at = time.monotonic() + args.deadline
    idle = threading.Event()
    while time.monotonic() < stop_at:
        stats = sched.sweep_once()
        if stats.claimed:
            continue
        with db.session() as s:
            pending = s.scalar(
                select(func.count()).select_from(DueItem).where(DueItem.state == "pending")
            )
        if not pending:
            print(f"DONE {args.owner} fired={fired}", flush=True)
            return 0
        clock.advance(timedelta(seconds=args.lease))  # skip time: leases of the dead lapse
        idle.wait(0.02)
    print(f"TIMEOUT {args.owner}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
