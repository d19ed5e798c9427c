"""Loops stay cheap: a case that goes round its loop 100 times runs, and its state stays bounded."""

from __future__ import annotations

import json

import pytest

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import (
    ALICE,
    DESIGNER,
    bundle,
    case,
    do,
    fresh_engine,
    instance,
    only_task,
)


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("loop.bpmn"), DESIGNER)
    return e


def test_a_hundred_rounds_of_rework(
    engine: Engine, db: Database, db_url: str, clock: ManualClock
) -> None:
    engine.start("loop", "L-1", {"rounds": 0}, ALICE)
    sizes = []
    for n in range(100):
        # Every fourth round runs on a fresh engine, as after a restart.
        runner = fresh_engine(db_url, clock) if n % 4 == 0 else engine
        do(runner, only_task(db, "L-1", "handle"), {"result": f"第{n + 1}次处置"})
        do(runner, only_task(db, "L-1", "check"), {"ok": n == 99})
        if n in (0, 9, 99):
            sizes.append(len(json.dumps(instance(db, "L-1").state)))
    inst = instance(db, "L-1")
    assert inst.status == "completed"
    assert inst.data["rounds"] == 100  # data written in every round survives compaction
    assert inst.loop_compactions == 99
    assert case(db, "L-1").status == "CLOSED"
    # The stored state does not grow with the number of rounds.
    assert max(sizes) <= 64 * 1024
    assert sizes[1] <= sizes[0] * 1.2
