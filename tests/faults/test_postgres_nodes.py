"""Three ``bihuan serve`` nodes on one private PostgreSQL, under HTTP load, while faults strike:
kill -9 of a node, kill -9 of the scheduler leader while timers fall due, a PostgreSQL crash and
restart, connections killed mid-commit, a frozen node (SIGSTOP).

After each: every acknowledged report present once, every retry with its key answered with the
original result, no 500, the audit chain verified; timers fired once within the takeover bound.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator

import pytest

from engine.storage.database import Database
from tests.faults.harness import Node, check, loaded, prepare, record, recovery, wait_for
from tests.faults.private_pg import FaultyPostgres
from tests.faults.timers import Timers, db_now, leader_pid

pytestmark = [pytest.mark.faults, pytest.mark.postgres]

TAKEOVER_BOUND = 15.0  # seconds: lease (10 s) + poll (here 1 s) + a firing


@pytest.fixture(scope="module")
def server() -> Iterator[FaultyPostgres]:
    with FaultyPostgres.temporary() as pg:
        yield pg


@pytest.fixture(scope="module")
def url(server: FaultyPostgres) -> str:
    url = server.create_database("bihuan")
    prepare(url)
    return url


@pytest.fixture(scope="module")
def nodes(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Node]]:
    logs = tmp_path_factory.mktemp("nodes")
    cluster = [Node(url, logs / f"node{i}.log").start() for i in range(3)]
    try:
        yield cluster
    finally:
        for n in cluster:
            n.stop()


@pytest.fixture
def cluster(nodes: list[Node], server: FaultyPostgres) -> list[Node]:
    """The three nodes, each running and answering (a node a previous test killed is restarted)."""
    if not server.accepting():
        server.start()
        server.wait_accepting()
    for n in nodes:
        if n.proc is not None and n.proc.poll() is not None:
            n.start()
    for n in nodes:
        n.ready()
    return nodes


def test_kill_9_of_one_node_under_load(cluster: list[Node], url: str) -> None:
    load, runner = loaded(cluster, "KILL")
    cluster[0].signal(signal.SIGKILL)
    recovered = recovery(load, len(load.acked), runner)
    runner.join()
    check("kill-9-node", load, url, cluster[1], recovery_s=recovered)


def test_postgres_crash_and_restart_mid_load(
    cluster: list[Node], url: str, server: FaultyPostgres
) -> None:
    load, runner = loaded(cluster, "PGRS")
    before = len(load.acked)
    started = time.monotonic()
    server.crash()
    wait_for("errors during the outage", lambda: load.statuses[503] + load.errors > 0, 30)
    server.start()
    server.wait_accepting()
    recovered = recovery(load, before, runner)
    runner.join()
    check("postgres-restart", load, url, cluster[1], outage_and_recovery_s=round(time.monotonic() - started, 2), recovery_after_restart_s=recovered)  # fmt: skip


def test_connections_killed_mid_commit(
    cluster: list[Node], url: str, server: FaultyPostgres
) -> None:
    load, runner = loaded(cluster, "TERM")
    killed = 0
    for _ in range(5):
        rows = server.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = 'bihuan' AND pid <> pg_backend_pid() AND state <> 'idle'"
        )
        killed += int(rows[0][0])  # type: ignore[call-overload]
        recovery(load, len(load.acked), runner)
    runner.join()
    check("pg-terminate-backend", load, url, cluster[1], backends_killed=killed)


def test_a_frozen_leader_does_not_stop_the_others(cluster: list[Node], url: str) -> None:
    """The scheduler leader frozen mid-load (a VM pause: it may hold a transaction, row locks,
    key reservations and claimed timers) while timers fall due: the others go on, take the
    timers over within the bound, and when it wakes it fires nothing a second time."""
    db = Database(url)
    timers = Timers(db, "FRZ", 10)
    pid = wait_for("a leader", lambda: leader_pid(db), 30)
    frozen = next(node for node in cluster if node.pid == pid)
    load, runner = loaded(cluster, "STOP")
    timers.schedule(first=2, last=8)
    frozen.signal(signal.SIGSTOP)
    frozen_at = db_now(db)
    try:
        recovered = recovery(load, len(load.acked), runner)
        before = len(load.acked)
        wait_for("the others to go on while it is frozen", lambda: len(load.acked) >= before + 20 or not runner.is_alive(), 60)  # fmt: skip
        progressed = len(load.acked) - before
        wait_for("every timer fired while it is frozen", lambda: timers.fired() >= timers.count, 60)  # fmt: skip
    finally:
        frozen.signal(signal.SIGCONT)
    runner.join()
    frozen.ready()
    figures = timers.outcome(frozen_at, pid)
    db.dispose()
    check("sigstop-leader", load, url, cluster[0], recovery_s=recovered, acked_while_frozen=progressed, **figures)  # fmt: skip
    assert figures["max_lateness_s"] <= TAKEOVER_BOUND, figures


def test_kill_9_of_the_scheduler_leader_while_timers_fall_due(
    cluster: list[Node], url: str
) -> None:
    db = Database(url)
    timers = Timers(db, "TMR", 30)
    timers.schedule(first=4, last=14)
    pid = wait_for("a leader", lambda: leader_pid(db), 30)
    victim = next(node for node in cluster if node.pid == pid)
    # kill it once the first timers are due (its claims then hold leases the others must retake)
    wait_for("the first firings", lambda: timers.fired() >= 1, 30)
    victim.signal(signal.SIGKILL)
    killed_at = db_now(db)
    wait_for("every reminder fired", lambda: timers.fired() >= timers.count, 60)
    figures = timers.outcome(killed_at, pid)
    db.dispose()
    record("kill-9-leader-timers", **figures)
    assert figures["max_lateness_s"] <= TAKEOVER_BOUND, figures
