"""Real processes for the fault-injection suite: ``bihuan serve`` nodes, a private PostgreSQL,
an HTTP load with ``Idempotency-Key`` retries, and the checks every fault must pass.

Nothing here sleeps for timing: every wait polls a condition against a deadline
(:func:`wait_for`). Durations are measured with ``time.monotonic``; instants (timer lateness)
are the server's own, read from the rows it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from engine.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "demo"  # the demo seed's shared password
FIGURES = Path(os.environ.get("BIHUAN_FAULTS_FIGURES", ROOT / "var" / "faults-figures.jsonl"))


def wait_for(what: str, check: Callable[[], Any], timeout: float, every: float = 0.1) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        pause.wait(every)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bihuan_env(url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "BIHUAN_DEMO": "1",
        "BIHUAN_DATABASE_URL": url,
        "BIHUAN_POLL_INTERVAL_SECONDS": "1",
        **extra,
    }


def prepare(url: str) -> None:
    """Schema and demo data (organisations, users, processes) through the real commands."""
    for args in (["db", "upgrade"], ["demo"]):
        subprocess.run(
            [str(BIN / "bihuan"), *args], env=bihuan_env(url), cwd=ROOT, check=True,
            capture_output=True, timeout=180,
        )  # fmt: skip


def copy_of(template: Path, where: Path) -> str:
    """A fresh copy of a prepared SQLite database at ``where``; its URL."""
    shutil.copy(template, where)
    return f"sqlite:///{where}"


@dataclass
class Node:
    """One ``bihuan serve`` process tree (its own session, so cleanup reaches every child)."""

    url: str
    log: Path
    workers: int = 1
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Node:
        extra = {"BIHUAN_PORT": str(self.port), "BIHUAN_WORKERS": str(self.workers), **self.env}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "bihuan"), "serve"], env=bihuan_env(self.url, **extra), cwd=ROOT,
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        return self

    def ready(self, timeout: float = 90) -> Node:
        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"node exited {self.proc.returncode}: {self.tail()}")
            try:
                return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(f"node on port {self.port}", up, timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def signal(self, sig: int) -> None:
        os.kill(self.pid, sig)

    def stop(self) -> None:
        """Cleanup: kill the whole session of processes the node started."""
        if self.proc is None:
            return
        try:
            os.killpg(self.pid, signal.SIGCONT)
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""


def descendants(pid: int) -> list[int]:
    """Every live process whose ancestry (through /proc) reaches ``pid``, or whose session is
    ``pid``'s (a re-parented worker keeps its session id)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        state, session = fields[0], int(fields[3])
        if session == pid and int(entry.name) != pid and state != "Z":
            found.append(int(entry.name))
    return sorted(found)


# ---------------------------------------------------------------------------------- HTTP load
def case_body(case_no: str) -> dict[str, Any]:
    return {
        "case_no": case_no,
        "title": "故障注入测试",
        "description": "故障注入测试：邻里纠纷一起，需调解处置。",
        "source_channel": "walk_in",
        "parties": [{"name": "张三", "role": "applicant"}],
    }


def token(base: str, user: str = "grid01") -> str:
    r = httpx.post(f"{base}/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    r.raise_for_status()
    return str(r.json()["access_token"])


@dataclass
class Load:
    """Reports cases (``POST /api/v1/cases``), each under its own ``Idempotency-Key``, spread
    over the nodes; a request that fails (connection refused or reset, or an answer with
    ``Retry-After``: 503 in an outage, 409 ``request_in_progress`` or ``busy``) is retried with
    the same key on the next node until acknowledged or the deadline passes."""

    nodes: list[str]
    prefix: str
    bearer: str
    statuses: Counter[int] = field(default_factory=Counter)
    acked: dict[str, dict[str, Any]] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)  # key → a final answer that is no ack
    sent: int = 0
    errors: int = 0
    keys: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def post(self, client: httpx.Client, node: str, key: str) -> httpx.Response:
        return client.post(
            f"{node}/api/v1/cases",
            json=case_body(key),
            headers={"Authorization": f"Bearer {self.bearer}", "Idempotency-Key": key},
        )

    def one(self, client: httpx.Client, n: int, give_up: float) -> None:
        key = f"{self.prefix}-{n}"
        turn = n
        pause = threading.Event()
        while time.monotonic() < give_up and not self.stop.is_set():
            node = self.nodes[turn % len(self.nodes)]
            turn += 1
            with self._lock:
                self.sent += 1
            try:
                r = self.post(client, node, key)
            except httpx.HTTPError:
                with self._lock:
                    self.errors += 1
                pause.wait(0.05)  # a client's retry back-off
                continue
            with self._lock:
                self.statuses[r.status_code] += 1
            if r.status_code in (201, 200):
                with self._lock:
                    self.acked[key] = r.json()
                return
            if r.status_code == 503 or "retry-after" in r.headers:
                pause.wait(0.05)  # in progress elsewhere, busy, or an outage: retry the key
                continue
            with self._lock:
                self.refused[key] = f"{r.status_code} {r.text[:300]}"
            return
            pause.wait(0.05)

    def run(self, count: int, threads: int = 4, deadline: float = 90) -> None:
        give_up = time.monotonic() + deadline
        self.keys += count
        numbers = iter(range(count))
        lock = threading.Lock()

        def worker() -> None:
            with httpx.Client(timeout=10) as client:  # a client's patience
                while not self.stop.is_set():
                    with lock:
                        n = next(numbers, None)
                    if n is None:
                        return
                    self.one(client, n, give_up)

        pool = [threading.Thread(target=worker) for _ in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()

    def replays(self, node: str) -> int:
        """Re-send every acknowledged key: each must answer the original result. Returns how
        many differ (0 expected)."""
        differ = 0
        with httpx.Client(timeout=30) as client:
            for key, body in self.acked.items():
                r = self.post(client, node, key)
                if r.status_code not in (200, 201) or r.json() != body:
                    differ += 1
        return differ


def case_counts(db: Database, prefix: str) -> Counter[str]:
    """How many cases (and their 'reported' starts in the audit log) exist per case number."""
    with db.session() as s:
        rows = s.execute(
            text("SELECT case_no FROM cases WHERE case_no LIKE :p"), {"p": f"{prefix}-%"}
        ).all()
    return Counter(r[0] for r in rows)


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "bihuan"), "audit", "verify"], env=bihuan_env(url), cwd=ROOT, text=True,
        capture_output=True, timeout=300,
    )  # fmt: skip


def record(name: str, **figures: Any) -> None:
    """Append one run's figures (docs/reliability.md quotes them) and echo them."""
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"scenario": name, **figures}, ensure_ascii=False, default=str)
    with FIGURES.open("a") as out:
        out.write(line + "\n")
    print(line)


# ------------------------------------------------------------------------ after each fault
def check(name: str, load: Load, url: str, replay_on: Node, **figures: object) -> None:
    """The invariants every fault must keep, and the run's figures."""
    db = Database(url)
    counts = case_counts(db, load.prefix)
    db.dispose()
    lost = [k for k in load.acked if counts[k] == 0]
    duplicated = [k for k, n in counts.items() if n > 1]
    differ = load.replays(replay_on.base)
    verify = audit_verify(url)
    integrity = sqlite_integrity(url)
    fivexx = sum(n for status, n in load.statuses.items() if status >= 500)
    record(
        name, requests=load.sent, keys=load.keys, acknowledged=len(load.acked), lost=len(lost),
        duplicated=len(duplicated), replays_differing=differ, status_5xx=fivexx,
        http_500=load.statuses[500], statuses=dict(load.statuses), **figures,
    )  # fmt: skip
    assert lost == [] and duplicated == []
    assert len(load.acked) == load.keys, f"keys not acknowledged: {load.refused}"
    assert differ == 0, "a retry with the same Idempotency-Key did not get the original answer"
    assert load.statuses[500] == 0, dict(load.statuses)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert integrity in (None, "ok"), integrity


def loaded(cluster: list[Node], prefix: str, count: int = 120) -> tuple[Load, threading.Thread]:
    load = Load([n.base for n in cluster], prefix, token(cluster[0].base))
    runner = threading.Thread(target=load.run, args=(count,), kwargs={"deadline": 90})
    runner.start()
    wait_for("the load to be acknowledged", lambda: len(load.acked) >= 20, 60)
    return load, runner


def recovery(load: Load, acked_before: int, runner: threading.Thread | None = None) -> float:
    """Seconds until the load is acknowledged again (or has finished) after a fault."""
    started = time.monotonic()

    def again() -> bool:
        return len(load.acked) > acked_before + 5 or (runner is not None and not runner.is_alive())

    wait_for("acknowledgements after the fault", again, 60)
    return round(time.monotonic() - started, 2)


def sqlite_integrity(url: str) -> str | None:
    """``PRAGMA integrity_check`` of a SQLite database (None for PostgreSQL)."""
    if not url.startswith("sqlite"):
        return None
    db = Database(url)
    try:
        with db.session() as s:
            return str(s.execute(text("PRAGMA integrity_check")).scalar())
    finally:
        db.dispose()
