"""HTTP end to end: concurrent clients sign in, open the inbox, claim and complete over the API.

    python -m bench.http_e2e [--clients 32] [--workers 2] [--tasks 1280] [--client raw|httpx]
                             [--calibrate 40] [--quick]

A fresh PostgreSQL schema is seeded with the demo organisations, the shipped processes and
``--tasks`` reported cases (each waits in 甄别研判 ``screen_case`` for the township centre).
``uvicorn api.app:app_from_env --factory --workers N`` then runs as a subprocess on a free
localhost port (``BIHUAN_DATABASE_URL`` = that schema, ``BIHUAN_DEMO=1``, scheduler disabled).
Each client (an asyncio task, all in this process: ``--client raw`` is the small keep-alive
client of :mod:`bench.rawhttp`, ``--client httpx`` an ``httpx2.AsyncClient``) signs in as its
centre's user, then works through its own share of the tasks — ``GET /tasks`` (the inbox, first
page), ``POST …/claim``, ``POST …/complete`` with the screening form and an
``Idempotency-Key`` — and stops when its share is done. The uvicorn workers' RSS is sampled
every 0.5 s meanwhile, and the CPU time of every process involved is read from ``/proc``: the
uvicorn workers, the PostgreSQL backends serving them (by ``application_name``) and this
load-generating process itself, so that the server's cost per task cycle is not confused with
the clients'.

After the load, a calibration pass (``--calibrate K`` tasks kept out of the load) runs one
client alone, one request type at a time (K inboxes, then K claims, then K completes, and a few
sign-ins), and divides the workers' and backends' CPU by the number of requests: the server CPU
per request of each endpoint. Then the same requests once more in-process, counting the SQL
statements each sends.

Figures: completions/s over the load phase (first request → last answer), p50/p99 latency of
complete, claim and inbox requests, errors, CPU (server, database, client) per task cycle,
per-endpoint CPU and statements, and worker RSS (first, max, last sample).
Targets: ≥ 500 completions/s, complete p99 ≤ 100 ms, RSS ≤ 300 MB and flat.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2 as httpx
from sqlalchemy import create_engine, event, select, text

from bench import rawhttp
from bench.common import (
    START,
    Result,
    StatementCounter,
    database,
    dispute_engine,
    free_port,
    percentile,
)
from demo import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock, SystemClock
from engine.storage.models import HumanTask

ROOT = Path(__file__).resolve().parent.parent
GRIDS = [("qs-dc-hp-01", "grid01", "town01"), ("qs-xh-sq-01", "grid05", "town02")]
KINDS = ("inbox", "claim", "complete")
CLK_TCK = os.sysconf("SC_CLK_TCK")


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


# ---------------------------------------------------------------- processes: RSS and CPU


def children_of(parent: int) -> list[int]:
    out: list[int] = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent:
            out.append(int(entry))
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


def cpu_of(pid: int) -> float | None:
    """User + system CPU seconds of ``pid`` so far (``/proc/<pid>/stat``), None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuWatch:
    """The cumulative CPU of a changing set of processes: the uvicorn workers (children of the
    server) and the PostgreSQL backends whose ``application_name`` is the server's. Each
    process's last reading is kept, so one that exits (a pool's overflow connection) still
    counts up to its last sample."""

    def __init__(self, server_pid: int, admin_url: str, app_name: str) -> None:
        self.server_pid = server_pid
        self.admin = create_engine(admin_url, pool_size=1, max_overflow=0)
        self.app_name = app_name
        self.last: dict[str, dict[int, float]] = {"server": {}, "postgres": {}}
        self.lock = threading.Lock()

    def backends(self) -> list[int]:
        with self.admin.connect() as conn:
            rows = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                {"a": self.app_name},
            ).all()
        return [int(r[0]) for r in rows]

    def sample(self) -> None:
        groups = {
            "server": [self.server_pid, *children_of(self.server_pid)],
            "postgres": self.backends(),
        }
        with self.lock:
            for name, pids in groups.items():
                for pid in pids:
                    cpu = cpu_of(pid)
                    if cpu is not None:
                        self.last[name][pid] = cpu

    def totals(self) -> dict[str, float]:
        self.sample()
        with self.lock:
            out = {name: sum(by_pid.values()) for name, by_pid in self.last.items()}
            out["postgres_backends_seen"] = len(self.last["postgres"])
        return out

    def close(self) -> None:
        self.admin.dispose()


class Sampler(threading.Thread):
    def __init__(self, pid: int, cpu: CpuWatch, every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.cpu, self.every = pid, cpu, every
        self.samples: list[tuple[float, int]] = []  # (t, max worker RSS)
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.monotonic()
        while not self.stop.is_set():
            sizes = rss_of(children_of(self.pid)) or rss_of([self.pid])  # one worker: in-process
            if sizes:
                self.samples.append((time.monotonic() - t0, max(sizes.values())))
            self.cpu.sample()
            self.stop.wait(self.every)


# ---------------------------------------------------------------- the server


def start_server(
    url: str, workers: int, extra: list[str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
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
           "--log-level", "warning", "--no-access-log", *(extra or [])]  # fmt: skip
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


# ---------------------------------------------------------------- clients

#: ``send(method, path, json body or None, extra headers)`` → (status, body bytes).
Send = Callable[[str, str, Any, dict[str, str]], Awaitable[tuple[int, bytes]]]


class Session:
    """One client's connection, either kind, behind one ``send``."""

    def __init__(self, base: str, kind: str) -> None:
        self.kind = kind
        parts = urlsplit(base)
        self.raw = rawhttp.Client(parts.hostname or "127.0.0.1", parts.port or 80)
        self.http = httpx.AsyncClient(base_url=base, timeout=30) if kind == "httpx" else None
        self.headers: dict[str, str] = {}

    async def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        merged = {**self.headers, **(headers or {})}
        if self.http is not None:
            r = await self.http.request(method, path, json=body, headers=merged)
            return r.status_code, r.content
        got = await self.raw.request(method, path, json_body=body, headers=merged)
        return got.status_code, got.content

    async def sign_in(self, user: str) -> None:
        status, body = await self.send(
            "POST", "/api/v1/auth/token", {"username": user, "password": "demo"}
        )
        if status != 200:
            raise RuntimeError(f"sign-in {status}: {body[:200]!r}")
        self.headers["Authorization"] = f"Bearer {json.loads(body)['access_token']}"

    async def close(self) -> None:
        await self.raw.close()
        if self.http is not None:
            await self.http.aclose()


def cycle(task_id: str, screen: dict[str, Any]) -> list[tuple[str, str, str, Any, dict[str, str]]]:
    """The requests of one task cycle: (kind, method, path, body, headers)."""
    return [
        ("inbox", "GET", "/api/v1/tasks?scope=candidate&sort=due&limit=20", None, {}),
        ("claim", "POST", f"/api/v1/tasks/{task_id}/claim", None, {}),
        ("complete", "POST", f"/api/v1/tasks/{task_id}/complete", {"data": screen},
         {"Idempotency-Key": f"c-{task_id}"}),
    ]  # fmt: skip


async def client(base: str, kind: str, user: str, tasks: list[str],
                 lat: dict[str, list[float]], errors: list[str]) -> int:  # fmt: skip
    screen = sc.screen()[1]
    done = 0
    session = Session(base, kind)
    try:
        await session.sign_in(user)
        for task_id in tasks:
            for name, method, path, body, headers in cycle(task_id, screen):
                t0 = time.perf_counter()
                status, content = await session.send(method, path, body, headers)
                lat[name].append(1000 * (time.perf_counter() - t0))
                if status >= 400:
                    errors.append(f"{name} {status} {content[:200]!r}")
                    break
            else:
                done += 1
    finally:
        await session.close()
    return done


def shares_of(by_user: dict[str, list[str]], clients: int) -> list[tuple[str, list[str]]]:
    users = sorted(by_user)
    shares: list[tuple[str, list[str]]] = []
    for c in range(clients):
        user = users[c % len(users)]
        same = [k for k in range(clients) if users[k % len(users)] == user]
        shares.append((user, by_user[user][same.index(c) :: len(same)]))
    return shares


async def load(base: str, kind: str, by_user: dict[str, list[str]], clients: int,
               cpu: CpuWatch) -> dict[str, Any]:  # fmt: skip
    lat: dict[str, list[float]] = {k: [] for k in KINDS}
    errors: list[str] = []
    before, client0 = cpu.totals(), own_cpu()
    t0 = time.perf_counter()
    done = await asyncio.gather(
        *(client(base, kind, u, t, lat, errors) for u, t in shares_of(by_user, clients))
    )
    wall = time.perf_counter() - t0
    after, client1 = cpu.totals(), own_cpu()
    n = max(1, sum(done))
    server, pg = after["server"] - before["server"], after["postgres"] - before["postgres"]
    return {
        "completions": sum(done),
        "wall_s": round(wall, 2),
        "completions_per_s": round(sum(done) / wall, 1),
        **{f"{k}_p50_ms": round(percentile(v, 50), 1) for k, v in lat.items()},
        **{f"{k}_p99_ms": round(percentile(v, 99), 1) for k, v in lat.items()},
        "errors": len(errors),
        "first_errors": errors[:3],
        # CPU over the load phase (sign-ins included), per completed task cycle
        "server_cpu_ms_per_cycle": round(1000 * server / n, 2),
        "postgres_cpu_ms_per_cycle": round(1000 * pg / n, 2),
        "client_cpu_ms_per_cycle": round(1000 * (client1 - client0) / n, 2),
        "server_cpu_s": round(server, 2),
        "postgres_cpu_s": round(pg, 2),
        "client_cpu_s": round(client1 - client0, 2),
        "postgres_backends_seen": after["postgres_backends_seen"],
    }


async def calibrate(base: str, by_user: dict[str, list[str]], cpu: CpuWatch) -> dict[str, Any]:
    """One client alone, one request type at a time: server and database CPU per request."""
    screen = sc.screen()[1]
    out: dict[str, Any] = {}
    sessions = {user: Session(base, "raw") for user in by_user}
    try:
        before = cpu.totals()
        for user, session in sessions.items():
            await session.sign_in(user)
        after = cpu.totals()
        n = len(sessions)
        out["token"] = _per_request(before, after, n, [])
        plan = [(user, t) for user, tasks in by_user.items() for t in tasks]
        for index, kind in enumerate(KINDS):
            lat: list[float] = []
            before = cpu.totals()
            for user, task_id in plan:
                _, method, path, body, headers = cycle(task_id, screen)[index]
                t0 = time.perf_counter()
                status, content = await sessions[user].send(method, path, body, headers)
                lat.append(1000 * (time.perf_counter() - t0))
                if status >= 400:
                    raise RuntimeError(f"calibration {kind} {status}: {content[:200]!r}")
            out[kind] = _per_request(before, cpu.totals(), len(plan), lat)
    finally:
        for session in sessions.values():
            await session.close()
    out["cycle_server_cpu_ms"] = round(sum(out[k]["server_cpu_ms"] for k in KINDS), 2)
    out["cycle_postgres_cpu_ms"] = round(sum(out[k]["postgres_cpu_ms"] for k in KINDS), 2)
    return out


def _per_request(before: dict[str, float], after: dict[str, float], n: int,
                 lat: list[float]) -> dict[str, Any]:  # fmt: skip
    got: dict[str, Any] = {
        "requests": n,
        "server_cpu_ms": round(1000 * (after["server"] - before["server"]) / n, 2),
        "postgres_cpu_ms": round(1000 * (after["postgres"] - before["postgres"]) / n, 2),
    }
    if lat:
        got["p50_ms"] = round(percentile(lat, 50), 2)
    return got


def count_statements(url: str, by_user: dict[str, list[str]]) -> dict[str, float]:
    """The same requests in-process (TestClient): SQL statements sent per request type, and
    pooled connections checked out (``<kind>_checkouts``: one transaction each)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from engine.settings import Settings

    app = create_app(Settings(database_url=url, demo=True, scheduler_enabled=False))
    engine = app.state.bihuan.engine
    screen = sc.screen()[1]
    counts: dict[str, list[int]] = {"token": [], **{k: [] for k in KINDS}}
    checkouts: dict[str, list[int]] = {k: [] for k in counts}
    taken = [0]

    def checkout(*_a: Any) -> None:
        taken[0] += 1

    event.listen(engine.db.engine, "checkout", checkout)
    with TestClient(app) as http:
        for user, tasks in by_user.items():
            with StatementCounter(engine.db.engine) as counter:
                r = http.post("/api/v1/auth/token", json={"username": user, "password": "demo"})
            r.raise_for_status()
            counts["token"].append(counter.count)
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            for task_id in tasks:
                for kind, method, path, body, headers in cycle(task_id, screen):
                    before = taken[0]
                    with StatementCounter(engine.db.engine) as counter:
                        r = http.request(method, path, json=body, headers={**auth, **headers})
                    if r.status_code >= 400:
                        raise RuntimeError(f"count {kind} {r.status_code}: {r.text[:200]}")
                    counts[kind].append(counter.count)
                    checkouts[kind].append(taken[0] - before)
    event.remove(engine.db.engine, "checkout", checkout)
    engine.db.dispose()
    got = {k: round(sum(v) / len(v), 2) for k, v in counts.items() if v}
    got.update({f"{k}_checkouts": round(sum(v) / len(v), 2) for k, v in checkouts.items() if v})
    return got


def split_off(by_user: dict[str, list[str]], k: int) -> dict[str, list[str]]:
    """Take ``k`` tasks of each user out of ``by_user`` (for the calibration)."""
    kept: dict[str, list[str]] = {}
    for user, tasks in by_user.items():
        kept[user] = tasks[len(tasks) - k :] if k else []
        del tasks[len(tasks) - k :]
    return kept


def run(
    clients: int, workers: int, tasks: int, kind: str, calib: int, extra: list[str] | None = None
) -> dict[str, Any]:
    with database("postgres") as url:
        t0 = time.perf_counter()
        users = len({g[1] for g in GRIDS})
        by_user = seed(url, tasks + 2 * users * calib)
        seed_s = time.perf_counter() - t0
        measured = split_off(by_user, calib)
        counted = split_off(by_user, calib)
        app_name = f"bihuan_http_e2e_{uuid.uuid4().hex[:8]}"
        proc, base = start_server(f"{url}&application_name={app_name}", workers, extra)
        cpu = CpuWatch(proc.pid, url, app_name)
        sampler = Sampler(proc.pid, cpu)
        sampler.start()
        try:
            got = asyncio.run(load(base, kind, by_user, clients, cpu))
            sampler.stop.set()
            sampler.join()
            if calib:
                got["per_request"] = asyncio.run(calibrate(base, measured, cpu))
        finally:
            sampler.stop.set()
            proc.terminate()
            proc.wait(timeout=30)
            cpu.close()
        if calib:
            got["statements_per_request"] = count_statements(url, counted)
    rss = [r for _, r in sampler.samples]
    got.update(
        clients=clients,
        workers=workers,
        server_args=" ".join(extra or []),
        client=kind,
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
    ap.add_argument("--client", default="raw", help="comma-separated: raw, httpx")
    ap.add_argument("--calibrate", type=int, default=40, help="tasks per user for the per-request "
                    "CPU and statement figures (0: none)")  # fmt: skip
    ap.add_argument("--name", default="http_e2e", help="result file name in bench/out")
    ap.add_argument("--server-args", default="", help='more uvicorn options, e.g. '
                    '"--loop asyncio --http h11" (the pure-Python ones)')  # fmt: skip
    ap.add_argument("--quick", action="store_true", help="4 clients, 1 worker, 16 tasks")
    args = ap.parse_args(argv)
    if args.quick:
        args.clients, args.workers, args.tasks, args.calibrate = 4, "1", 16, 2
    result = Result(args.name)
    for kind in [k for k in args.client.split(",") if k]:
        for workers in [int(w) for w in args.workers.split(",") if w]:
            got = run(args.clients, workers, args.tasks, kind, args.calibrate,
                      args.server_args.split())  # fmt: skip
            key = f"workers_{workers}" if kind == "raw" else f"workers_{workers}_{kind}"
            result.figures[key] = got
            print(key, {k: v for k, v in got.items() if k != "rss_mb_samples"}, flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
