"""HTTP end to end: concurrent clients sign in, open the inbox, claim and complete over the API.

    python -m bench.http_e2e [--clients 32] [--workers 2] [--tasks 1280] [--quick]

A fresh PostgreSQL schema is seeded with the demo organisations, the shipped processes and
``--tasks`` reported cases (each waits in 甄别研判 ``screen_case`` for the township centre).
``uvicorn api.app:app_from_env --factory --workers N`` then runs as a subprocess on a free
localhost port (``BIHUAN_DATABASE_URL`` = that schema, ``BIHUAN_DEMO=1``, scheduler disabled).
Each client (an ``httpx2.AsyncClient`` task; all in this process) signs in as its centre's
user, then works through its own share of the tasks — ``GET /tasks`` (the inbox, first page),
``POST …/claim``, ``POST …/complete`` with the screening form and an ``Idempotency-Key`` — and
stops when its share is done. The uvicorn workers' RSS is sampled every 0.5 s meanwhile.

Figures: completions/s over the load phase (first request → last answer), p50/p99 latency of
complete, claim and inbox requests, errors, and worker RSS (first, max, last sample).
Targets: ≥ 500 completions/s, complete p99 ≤ 100 ms, RSS ≤ 300 MB and flat.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx2 as httpx
from sqlalchemy import select

from bench.common import START, Result, database, dispute_engine, free_port, percentile
from engine import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock, SystemClock
from engine.storage.models import HumanTask

ROOT = Path(__file__).resolve().parent.parent
GRIDS = [("qs-dc-hp-01", "grid01", "town01"), ("qs-xh-sq-01", "grid05", "town02")]


def seed(url: str, tasks: int) -> dict[str, list[str]]:
    """Report ``tasks`` cases; return the open screening task ids by the user who may do them."""
    engine = dispute_engine(url, ManualClock(START))
    engine.clock = SystemClock()  # deadlines relative to now: nothing is overdue during the run
    by_user: dict[str, list[str]] = {}
    for n in range(tasks):
        grid, reporter, _ = GRIDS[n % len(GRIDS)]
        key = f"HT-{n:06d}"
        engine.start("dispute", key, sc.report(key, grid), Actor(reporter, "grid_worker", grid))
    with engine.db.session() as s:
        rows = s.execute(
            select(HumanTask.id, HumanTask.candidate_org).where(HumanTask.state == "open")
        ).all()
    centre_user = {"qs-dc-zzzx": "town01", "qs-xh-zzzx": "town02"}
    for task_id, org in rows:
        by_user.setdefault(centre_user[org], []).append(task_id)
    engine.db.dispose()
    return by_user


def rss_of_children(parent: int) -> dict[int, int]:
    """RSS in bytes of the direct children of ``parent`` (the uvicorn workers), from /proc."""
    out: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != parent:
                continue
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[int(entry)] = int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            continue
    return out


def rss_of(pids: list[int]) -> dict[int, int]:
    out: dict[int, int] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        out[pid] = int(line.split()[1]) * 1024
        except OSError:
            continue
    return out


class Sampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, int]] = []  # (t, max worker RSS)
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            sizes = rss_of_children(self.pid) or rss_of([self.pid])  # one worker: in-process
            if sizes:
                self.samples.append((time.monotonic() - t0, max(sizes.values())))
            self.stop.wait(self.every)


def start_server(url: str, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "BIHUAN_DATABASE_URL": url,
        "BIHUAN_DEMO": "1",
        "BIHUAN_SCHEDULER_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }
    cmd = [sys.executable, "-m", "uvicorn", "api.app:app_from_env", "--factory",
           "--workers", str(workers), "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning", "--no-access-log"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # waiting for the server to come up, not timing anything
    else:
        proc.kill()
        raise RuntimeError("uvicorn did not come up")
    return proc, base


async def client(base: str, user: str, tasks: list[str], lat: dict[str, list[float]],
                 errors: list[str]) -> int:  # fmt: skip
    screen = sc.screen()[1]
    done = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        r = await http.post("/api/v1/auth/token", json={"username": user, "password": "demo"})
        r.raise_for_status()
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        for task_id in tasks:
            for name, method, path, body in (
                ("inbox", "GET", "/api/v1/tasks?scope=candidate&sort=due&limit=20", None),
                ("claim", "POST", f"/api/v1/tasks/{task_id}/claim", None),
                ("complete", "POST", f"/api/v1/tasks/{task_id}/complete", {"data": screen}),
            ):
                headers = {"Idempotency-Key": f"c-{task_id}"} if name == "complete" else {}
                t0 = time.perf_counter()
                r = await http.request(method, path, json=body, headers=headers)
                lat[name].append(1000 * (time.perf_counter() - t0))
                if r.status_code >= 400:
                    errors.append(f"{name} {r.status_code} {r.text[:200]}")
                    break
            else:
                done += 1
    return done


async def load(base: str, by_user: dict[str, list[str]], clients: int) -> dict[str, Any]:
    lat: dict[str, list[float]] = {"inbox": [], "claim": [], "complete": []}
    errors: list[str] = []
    users = sorted(by_user)
    shares: list[tuple[str, list[str]]] = []
    for c in range(clients):
        user = users[c % len(users)]
        same = [k for k in range(clients) if users[k % len(users)] == user]
        shares.append((user, by_user[user][same.index(c) :: len(same)]))
    t0 = time.perf_counter()
    done = await asyncio.gather(*(client(base, u, t, lat, errors) for u, t in shares))
    wall = time.perf_counter() - t0
    return {
        "completions": sum(done),
        "wall_s": round(wall, 2),
        "completions_per_s": round(sum(done) / wall, 1),
        **{f"{k}_p50_ms": round(percentile(v, 50), 1) for k, v in lat.items()},
        **{f"{k}_p99_ms": round(percentile(v, 99), 1) for k, v in lat.items()},
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def run(clients: int, workers: int, tasks: int) -> dict[str, Any]:
    with database("postgres") as url:
        t0 = time.perf_counter()
        by_user = seed(url, tasks)
        seed_s = time.perf_counter() - t0
        proc, base = start_server(url, workers)
        sampler = Sampler(proc.pid)
        sampler.start()
        try:
            got = asyncio.run(load(base, by_user, clients))
        finally:
            sampler.stop.set()
            sampler.join()
            proc.terminate()
            proc.wait(timeout=30)
    rss = [r for _, r in sampler.samples]
    got.update(
        clients=clients,
        workers=workers,
        seed_s=round(seed_s, 1),
        rss_mb_first=round(rss[0] / 1e6, 1) if rss else None,
        rss_mb_max=round(max(rss) / 1e6, 1) if rss else None,
        rss_mb_last=round(rss[-1] / 1e6, 1) if rss else None,
        rss_mb_samples=[(round(t, 1), round(r / 1e6, 1)) for t, r in sampler.samples[::4]],
    )
    return got


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--workers", default="2", help="comma-separated uvicorn worker counts")
    ap.add_argument("--tasks", type=int, default=1280)
    ap.add_argument("--quick", action="store_true", help="4 clients, 1 worker, 16 tasks")
    args = ap.parse_args(argv)
    if args.quick:
        args.clients, args.workers, args.tasks = 4, "1", 16
    result = Result("http_e2e")
    for workers in [int(w) for w in args.workers.split(",") if w]:
        got = run(args.clients, workers, args.tasks)
        result.figures[f"workers_{workers}"] = got
        print(workers, {k: v for k, v in got.items() if k != "rss_mb_samples"}, flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
