"""Three OS processes sweep one PostgreSQL database; one is SIGKILLed mid-firing.

Every firing must happen exactly once (one ``firings`` row and one effect per item), nothing may
be lost, and the rows the killed process had leased must be fired by the others once its leases
lapse (time is skipped by the workers' clocks, not waited for). Every clock here is a ManualClock
starting at the same instant; nothing reads the wall clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.models import AuditEvent, DueItem, Firing, Notification
from tests.conftest import START, _truncate
from tests.engine.support import ALICE, DESIGNER, bundle
from tests.scheduler.support import add_probes

ROOT = Path(__file__).resolve().parents[2]
PROBES = 3000
CASES = 40  # two BPMN timers each


@pytest.fixture
def pg(pg_schema_url: str | None) -> Iterator[str]:
    if pg_schema_url is None:
        pytest.skip("needs BIHUAN_TEST_POSTGRES_URL")
    db = Database(pg_schema_url)
    _truncate(db)
    db.dispose()
    yield pg_schema_url


def spawn(url: str, owner: str, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = ["--start", START.isoformat()]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.scheduler.mp_worker", url, owner, *start, *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.postgres
def test_three_processes_one_killed_every_item_fires_exactly_once(pg: str) -> None:
    db = Database(pg)
    engine = Engine(db, clock=ManualClock(START - timedelta(hours=3)))
    engine.deploy(bundle("deadline.bpmn"), DESIGNER)
    for n in range(CASES):
        engine.start("deadline", f"MP-{n}", {}, ALICE)  # timers due 2 h and 1 h ago
    add_probes(db, PROBES, START - timedelta(seconds=1))
    total = PROBES + 2 * CASES

    victim = spawn(pg, "victim", "--hang-after", "150")
    others = [spawn(pg, "worker-b"), spawn(pg, "worker-c")]
    try:
        assert victim.stdout is not None
        line = victim.stdout.readline().split()
        assert line[:1] == ["HANG"], line
        hung_key = line[1]
        with db.session() as s:
            leased = set(
                s.scalars(
                    select(DueItem.dedupe_key).where(
                        DueItem.lease_owner == "victim", DueItem.state == "pending"
                    )
                )
            )
        os.kill(victim.pid, signal.SIGKILL)  # mid-sweep, inside an open firing transaction
        victim.wait(timeout=10)
        for proc in others:
            out, _ = proc.communicate(timeout=50)
            assert proc.returncode == 0, out
    finally:
        for proc in [victim, *others]:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    with db.session() as s:
        firings = {f.dedupe_key: f.fired_by for f in s.scalars(select(Firing))}
        states = dict(
            s.execute(select(DueItem.state, func.count()).group_by(DueItem.state)).tuples().all()
        )
        effects = s.execute(
            select(Notification.title, func.count())
            .where(Notification.kind == "probe")
            .group_by(Notification.title)
        ).all()
        timer_events = s.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.event_type == "timer_fired")
        )
    assert states == {"done": total}  # none lost, none left
    assert len(firings) == total  # one proof per item (the key forbids a second)
    assert len(effects) == PROBES and {n for _, n in effects} == {1}  # each effect once
    assert timer_events == 2 * CASES
    assert hung_key in leased and firings[hung_key] != "victim"  # its open firing rolled back
    taken_over = {k for k in leased if firings.get(k) != "victim"}
    assert taken_over, "the victim's leases were never taken over"
    assert all(firings[k] in ("worker-b", "worker-c") for k in taken_over)
    assert {"worker-b", "worker-c"} <= set(firings.values())
    db.dispose()
