"""``bihuan serve`` as a process tree: SIGTERM under load, SIGKILL of the supervisor, a starved
worker. Real processes, real HTTP, SQLite (the default database of ``make run``)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from engine.audit import Actor
from engine.runtime import Engine, files_from_paths
from engine.storage.database import Database
from engine.storage.models import Case, IdempotencyRecord
from tests.engine.support import FIXTURES
from tests.faults.harness import (
    Load,
    Node,
    case_counts,
    copy_of,
    descendants,
    record,
    token,
    wait_for,
)

pytestmark = pytest.mark.faults

GRACE = 5


@pytest.fixture
def sqlite_url(demo_sqlite: Path, tmp_path: Path) -> str:
    return copy_of(demo_sqlite, tmp_path / "bihuan.db")


@pytest.fixture
def node(sqlite_url: str, tmp_path: Path) -> Iterator[Node]:
    env = {"BIHUAN_SHUTDOWN_GRACE_SECONDS": str(GRACE)}
    n = Node(sqlite_url, tmp_path / "serve.log", workers=2, env=env).start()
    try:
        yield n.ready()
    finally:
        n.stop()


def test_sigterm_under_load_stops_every_process_and_loses_nothing(
    node: Node, sqlite_url: str
) -> None:
    workers = wait_for(
        "two workers", lambda: len(descendants(node.pid)) >= 2 and descendants(node.pid), 30
    )
    load = Load([node.base], "TERM", token(node.base))
    runner = threading.Thread(target=load.run, args=(400,), kwargs={"threads": 4, "deadline": 60})
    runner.start()
    wait_for("some acknowledged reports", lambda: len(load.acked) >= 20, 60)
    node.signal(signal.SIGTERM)
    assert node.proc is not None
    node.proc.wait(timeout=GRACE + 20)
    load.stop.set()
    runner.join()
    # none may stay (a zombie being reaped by init, just after the supervisor's exit, is gone)
    try:
        wait_for("every process of the tree to exit", lambda: not _left(workers, node.pid), 10)
    except AssertionError:
        raise AssertionError(f"left after SIGTERM: {_left(workers, node.pid)}") from None
    db = Database(sqlite_url)
    counts = case_counts(db, "TERM")
    with db.session() as s:
        integrity = s.execute(text("PRAGMA integrity_check")).scalar()
    db.dispose()
    lost = [k for k in load.acked if counts[k] != 1]
    record("sigterm-serve", requests=load.sent, acknowledged=len(load.acked), lost=len(lost),
           statuses=dict(load.statuses), exit_code=node.proc.returncode)  # fmt: skip
    assert lost == []
    assert integrity == "ok"
    assert load.statuses[500] == 0


def test_a_killed_supervisor_leaves_no_worker_serving(node: Node) -> None:
    workers = wait_for(
        "two workers", lambda: len(descendants(node.pid)) >= 2 and descendants(node.pid), 30
    )
    node.signal(signal.SIGKILL)
    assert node.proc is not None
    node.proc.wait(timeout=10)
    # Each worker was asked to die with its parent (PR_SET_PDEATHSIG): none stays re-parented.
    wait_for(
        "the orphaned workers to exit",
        lambda: not [p for p in workers if Path(f"/proc/{p}").exists() and _alive(p)],
        GRACE + 20,
    )


def test_a_starved_worker_is_not_killed_by_the_health_check(node: Node) -> None:
    """A worker that cannot run for 8 s (a loaded machine: SIGSTOP stands in for starvation)
    missed uvicorn's 5 s health ping and was killed and replaced; it must stay."""
    workers = wait_for(
        "two workers", lambda: len(descendants(node.pid)) >= 2 and descendants(node.pid), 30
    )
    victim = workers[0]
    import os

    os.kill(victim, signal.SIGSTOP)
    try:
        threading.Event().wait(8)  # the fault's duration, not a wait for an outcome
    finally:
        os.kill(victim, signal.SIGCONT)
    node.ready(timeout=30)
    assert descendants(node.pid) == workers, node.tail()
    assert "died" not in node.tail()


def _left(workers: list[int], supervisor: int) -> list[str]:
    pids = {p for p in workers if _alive(p)} | set(descendants(supervisor))
    return [Path(f"/proc/{p}/cmdline").read_text().replace("\0", " ") for p in pids if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


SPINS = 60_000_000  # tens of seconds of script work: far longer than the grace period


def test_sigterm_abandons_a_command_longer_than_the_grace_period_cleanly(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A command still running when the grace period ends is abandoned: nothing of it commits,
    its key is not left "in progress", and the retry on a fresh server runs it once."""
    db = Database(sqlite_url)
    Engine(db).deploy(
        files_from_paths([FIXTURES / "bpmn" / "slow.bpmn", FIXTURES / "forms" / "handle.schema.json"]),
        Actor("designer", "designer", "county"),
    )  # fmt: skip
    limits = {"BIHUAN_SCRIPT_TIMEOUT_SECONDS": "600", "BIHUAN_BUDGET_COMMAND_SECONDS": "600", "BIHUAN_SCRIPT_MAX_STEPS": str(SPINS * 4),
              "BIHUAN_SCRIPT_MAX_SIZE": str(SPINS * 2), "BIHUAN_SHUTDOWN_GRACE_SECONDS": "1"}  # fmt: skip
    body = {"process_id": "slow", "title": "SIGTERM 中的长命令", "data": {"spins": SPINS}}
    node = Node(sqlite_url, tmp_path / "serve.log", workers=2, env=limits).start().ready()
    try:
        auth = {"Authorization": f"Bearer {token(node.base)}", "Idempotency-Key": "term-long"}
        answers: list[int] = []

        def send() -> None:
            try:
                with httpx.Client(timeout=120) as c:
                    answers.append(
                        c.post(f"{node.base}/api/v1/cases", json=body, headers=auth).status_code
                    )
            except httpx.HTTPError:
                answers.append(0)  # the server went away under it

        sender = threading.Thread(target=send)
        sender.start()
        wait_for("the command to be running", lambda: _reserved(db, "term-long"), 60)
        started = time.monotonic()
        node.signal(signal.SIGTERM)
        assert node.proc is not None
        node.proc.wait(timeout=60)
        stopped = round(time.monotonic() - started, 2)
        sender.join(60)
        assert descendants(node.pid) == []
        assert _titles(db, body["title"]) == 0  # abandoned: its transaction rolled back
        record("sigterm-long-command", grace_s=1, stopped_after_s=stopped, answer=answers)
        assert stopped <= 1 + 5 + 10  # grace + the supervisor's margin + start-up slack
        fresh = Node(sqlite_url, tmp_path / "fresh.log", workers=1, env=limits).start().ready()
        try:
            with httpx.Client(timeout=300) as c:
                retry = c.post(f"{fresh.base}/api/v1/cases", json=body, headers=auth)
            assert retry.status_code == 201, retry.text  # the key was not left "in progress"
        finally:
            fresh.stop()
        assert _titles(db, body["title"]) == 1
    finally:
        node.stop()
        db.dispose()


def _reserved(db: Database, key: str) -> bool:
    with db.session(reading=True) as s:  # a reader: the running command holds the write lock
        return s.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == key)) is not None


def _titles(db: Database, title: str) -> int:
    with db.session(reading=True) as s:
        return int(s.scalar(select(func.count()).select_from(Case).where(Case.title == title)) or 0)
