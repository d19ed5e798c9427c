"""One scheduler process for ``bench.timers``: the real Scheduler ticking like ``bihuan scheduler``.

    python -m bench.timer_worker URL OWNER [--poll 1.0] [--deadline 180] [--direct]

Ticks with :class:`engine.scheduler.BackgroundRunner` every ``--poll`` seconds (APScheduler, as
``run_scheduler`` does) and exits once no ``bench`` item is pending. The ``bench`` handler's
effect is one ``notifications`` row per firing whose ``created_at`` is the real time of the
firing (inside the firing transaction) and whose title is the item's key, so duplicates show.
``--direct`` sweeps back to back without the runner (the smoke test: everything is due already).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.notify import enqueue
from engine.scheduler import BackgroundRunner, ClaimedItem, Scheduler, SchedulerService
from engine.storage.database import Database
from engine.storage.models import DueItem


def effect(session: Session, item: ClaimedItem, now: datetime) -> None:
    enqueue(session, now=datetime.now(UTC), kind="bench_fire", title=item.dedupe_key,
            payload={"id": item.id})  # fmt: skip


def pending(db: Database) -> int:
    with db.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(DueItem)
                .where(DueItem.state == "pending", DueItem.kind == "bench")
            )
            or 0
        )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("owner")
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--deadline", type=float, default=180.0)
    ap.add_argument("--direct", action="store_true")
    args = ap.parse_args()
    db = Database(args.url)
    sched = Scheduler(db, owner=args.owner, handlers={"bench": effect})
    stop_at = time.monotonic() + args.deadline
    if args.direct:
        while time.monotonic() < stop_at:
            if not sched.sweep_once().claimed and not pending(db):
                print(f"DONE {args.owner}", flush=True)
                return 0
        return 1
    runner = BackgroundRunner(SchedulerService(sched), args.poll).start()
    idle = threading.Event()
    try:
        while time.monotonic() < stop_at:
            if not pending(db):
                print(f"DONE {args.owner}", flush=True)
                return 0
            idle.wait(0.5)  # checking for the end of the run; the runner does the ticking
    finally:
        runner.stop()
        db.dispose()
    print(f"TIMEOUT {args.owner}", flush=True)
    return 1


if __name__ == "__main__":
    sys.exit(main())
