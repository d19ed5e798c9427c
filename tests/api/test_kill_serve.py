"""kill -9 of a real ``bihuan serve`` in the middle of a keyed command, then a retry.

The command (a case report whose script task runs for seconds) is killed after its key was
reserved and before its transaction committed. Nothing of it may be left, the key must not be
stuck "in progress", and the retry with the same key — on a fresh server — must run the command
once and answer; a further retry replays that answer. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select

from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine, files_from_paths
from engine.storage.database import Database
from engine.storage.models import IdempotencyRecord
from tests.api.conftest import FIXTURES, PASSWORD, SECRET, seed_people
from tests.conftest import START

ROOT = Path(__file__).resolve().parents[2]
SPINS = 6_000_000  # a few seconds of script work: the window the kill lands in


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(db_url: str) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``bihuan serve`` with one worker (the process that runs the commands)."""
    port = _port()
    env = {
        **os.environ,
        "BIHUAN_DATABASE_URL": db_url,
        "BIHUAN_SECRET_KEY": SECRET,
        "BIHUAN_PORT": str(port),
        "BIHUAN_WORKERS": "1",
        "BIHUAN_SCHEDULER_ENABLED": "false",
        "BIHUAN_ORGANISATIONS_FILE": str(ROOT / "no-such-organisations.yaml"),
        "BIHUAN_SCRIPT_TIMEOUT_SECONDS": "300",
        "BIHUAN_BUDGET_COMMAND_SECONDS": "300",  # the slow command must outlive the kill
        "BIHUAN_SCRIPT_MAX_STEPS": str(SPINS * 4),
        "BIHUAN_SCRIPT_MAX_SIZE": str(SPINS * 2),
    }
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "bihuan"), "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        # connection attempts retried with the transport's backoff until uvicorn listens
        with httpx.Client(transport=httpx.HTTPTransport(retries=10), timeout=60) as c:
            assert c.get(base + "/healthz").status_code == 200
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)


def _reservation(db: Database, key: str) -> IdempotencyRecord | None:
    with db.session(reading=True) as s:  # a reader: never queues behind the server's write lock
        return s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key))


def _cases(db: Database, title: str) -> int:
    from sqlalchemy import func

    from engine.storage.models import Case

    with db.session() as s:
        return int(s.scalar(select(func.count()).select_from(Case).where(Case.title == title)) or 0)


def test_a_killed_server_leaves_no_stuck_key_and_the_retry_is_answered(db_url: str) -> None:
    db = Database(db_url)
    seed_people(db, ManualClock(START))
    Engine(db).deploy(
        files_from_paths(
            [FIXTURES / "bpmn" / "slow.bpmn", FIXTURES / "forms" / "handle.schema.json"]
        ),
        Actor("designer", "designer", "county"),
    )
    title = "夜间施工噪音 kill-9"
    body = {"process_id": "slow", "title": title, "grid_code": "grid_a1",
            "data": {"spins": SPINS}}  # fmt: skip
    key = {"Idempotency-Key": "kill-9-report"}

    with serve(db_url) as (victim, base):
        with httpx.Client(base_url=base, timeout=120) as c:
            signed = c.post("/api/v1/auth/token", json={"username": "grid_a", "password": PASSWORD})
            assert signed.status_code == 200, signed.text
        auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
        lost: list[BaseException] = []
        answered: list[httpx.Response] = []

        def send() -> None:
            try:
                with httpx.Client(base_url=base, timeout=120) as c:
                    answered.append(c.post("/api/v1/cases", json=body, headers={**auth, **key}))
            except httpx.HTTPError as exc:  # the server died under it: expected
                lost.append(exc)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        while (row := _reservation(db, "kill-9-report")) is None:  # reserved, command running
            assert sender.is_alive(), "the request ended before the kill"
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(30)
        sender.join(60)
    assert lost, f"the killed request was answered: {[r.text for r in answered]}"
    row = _reservation(db, "kill-9-report")
    assert row is not None and row.status_code is None  # reserved, never answered
    assert _cases(db, title) == 0  # nothing of the command committed

    with serve(db_url) as (_fresh, base), httpx.Client(base_url=base, timeout=120) as c:
        retry = c.post("/api/v1/cases", json=body, headers={**auth, **key})
        assert retry.status_code == 201, retry.text  # not 409 "in progress" for ever
        again = c.post("/api/v1/cases", json=body, headers={**auth, **key})
        assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
        assert again.content == retry.content
    assert _cases(db, title) == 1
    db.dispose()
