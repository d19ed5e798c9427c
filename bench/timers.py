"""Timers: 10,000 due items coming due within one minute, swept by two scheduler processes.

    python -m bench.timers [--items 10000] [--spread 60] [--poll 1.0] [--processes 2]
    python -m bench.timers --quick     # 300 items already due, swept back to back (no waiting)

A fresh PostgreSQL schema gets ``--items`` ``due_items`` (kind ``bench``) due at evenly spread
instants over ``--spread`` seconds, starting 5 s after the workers are launched. Two
``bench.timer_worker`` processes (the real :class:`~engine.scheduler.Scheduler`, ticking every
``--poll`` seconds through the same runner as ``bihuan scheduler``) fire them; this benchmark waits
in real time for the minute to pass.

Lateness = the real time of the firing's effect (written inside the firing transaction) − due_at.
Also from the rows: ``firings.fired_at − due_at`` (the tick's time), duplicates (effects per key
> 1; ``firings`` rows per key), misses (items with no effect / still pending).
Target: p99 lateness ≤ poll interval + 1 s, zero duplicates, zero misses.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.common import Result, database, percentile
from engine.storage.database import Database
from engine.storage.models import DueItem, Firing, Notification

ROOT = Path(__file__).resolve().parent.parent


def seed(db: Database, items: int, first: datetime, spread: float) -> None:
    step = spread / max(1, items - 1)
    rows = [
        {
            "kind": "bench",
            "dedupe_key": f"bench:{i}",
            "due_at": first + timedelta(seconds=i * step),
            "state": "pending",
            "attempts": 0,
            "payload": {},
            "created_at": datetime.now(UTC),
        }
        for i in range(items)
    ]
    with db.session() as s:
        for a in range(0, items, 2000):
            s.execute(insert(DueItem), rows[a : a + 2000])


def run(items: int, spread: float, poll: float, processes: int, direct: bool) -> dict[str, Any]:
    with database("postgres") as url:
        db = Database(url)
        lead = 0.0 if direct else 5.0
        first = datetime.now(UTC) + timedelta(seconds=lead)
        if direct:
            first -= timedelta(seconds=spread + 1)
        seed(db, items, first, spread)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        extra = ["--direct"] if direct else ["--poll", str(poll)]
        deadline = str(int(lead + spread + 120))
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bench.timer_worker",
                    url,
                    f"w{k}",
                    "--deadline",
                    deadline,
                    *extra,
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            for k in range(processes)
        ]
        outs = []
        for p in procs:
            out, _ = p.communicate(timeout=float(deadline) + 30)
            outs.append(out.strip())
        with db.session() as s:
            due = dict(s.execute(select(DueItem.dedupe_key, DueItem.due_at)).tuples().all())
            effects = s.execute(
                select(Notification.title, func.count(), func.min(Notification.created_at))
                .where(Notification.kind == "bench_fire")
                .group_by(Notification.title)
            ).all()
            firings = dict(s.execute(select(Firing.dedupe_key, Firing.fired_at)).tuples().all())
            by_owner = dict(
                s.execute(select(Firing.fired_by, func.count()).group_by(Firing.fired_by))
                .tuples()
                .all()
            )
            still = s.scalar(
                select(func.count()).select_from(DueItem).where(DueItem.state == "pending")
            )
        db.dispose()
    late = [(at - due[key]).total_seconds() for key, _, at in effects]
    tick_late = [(at - due[key]).total_seconds() for key, at in firings.items()]
    return {
        "items": items,
        "spread_s": spread,
        "poll_s": poll,
        "processes": processes,
        "fired": len(effects),
        "duplicates": sum(1 for _, n, _ in effects if n > 1),
        "misses": items - len(effects),
        "still_pending": int(still or 0),
        "firings_rows": len(firings),
        "by_owner": by_owner,
        "lateness_p50_s": round(percentile(late, 50), 3),
        "lateness_p99_s": round(percentile(late, 99), 3),
        "lateness_max_s": round(max(late), 3) if late else None,
        "tick_lateness_p99_s": round(percentile(tick_late, 99), 3),
        "workers": outs,
    }


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--items", type=int, default=10_000)
    ap.add_argument("--spread", type=float, default=60.0)
    ap.add_argument("--poll", type=float, default=1.0)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="300 items already due, no waiting")
    args = ap.parse_args(argv)
    if args.quick:
        args.items, args.spread = min(args.items, 300), 1.0
    result = Result("timers_quick" if args.quick else "timers")
    got = run(args.items, args.spread, args.poll, args.processes, direct=args.quick)
    result.figures.update(got)
    print(got, flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
