"""One writer per instance: of two concurrent commands exactly one wins, the other conflicts."""

from __future__ import annotations

import threading

import pytest

from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.errors import BihuanError, Conflict
from engine.runtime import Engine
from engine.storage.database import Database
from tests.engine.support import ALICE, DESIGNER, bundle, event_types, only_task, open_tasks

ROUNDS = 15


def _race(calls: list[object]) -> list[BaseException | None]:
    barrier = threading.Barrier(len(calls))
    results: list[BaseException | None] = [None] * len(calls)

    def run(i: int, call: object) -> None:
        barrier.wait()
        try:
            call()  # type: ignore[operator]
        except BaseException as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    e = Engine(db, clock=clock)
    e.deploy(bundle("loop.bpmn"), DESIGNER)
    return e


def test_two_threads_completing_the_same_task(engine: Engine, db: Database) -> None:
    for n in range(ROUNDS):
        key = f"R-{n}"
        engine.start("loop", key, {"rounds": 0}, ALICE)
        task = only_task(db, key)
        engine.claim(task.id, ALICE)
        outcomes = _race(
            [
                lambda t=task: engine.complete(t.id, {"result": "a"}, ALICE),
                lambda t=task: engine.complete(t.id, {"result": "b"}, ALICE),
            ]
        )
        winners = [o for o in outcomes if o is None]
        losers = [o for o in outcomes if o is not None]
        assert len(winners) == 1, outcomes
        assert len(losers) == 1 and isinstance(losers[0], Conflict), losers
        assert event_types(db, key).count("task_completed") == 1
        assert [t.element_id for t in open_tasks(db, key)] == ["check"]


def test_two_people_claiming_the_same_task(engine: Engine, db: Database) -> None:
    people = [Actor(f"user{i}", "handler", "org-a") for i in range(2)]
    for n in range(ROUNDS):
        key = f"Q-{n}"
        engine.start("loop", key, {"rounds": 0}, ALICE)
        task = only_task(db, key)
        outcomes = _race([lambda p=p, t=task: engine.claim(t.id, p) for p in people])
        assert sum(o is None for o in outcomes) == 1, outcomes
        assert all(isinstance(o, Conflict) for o in outcomes if o is not None)
        assert only_task(db, key).assignee in {p.user_id for p in people}
        assert event_types(db, key).count("task_claimed") == 1


def test_a_stale_expected_version_is_refused(engine: Engine, db: Database) -> None:
    inst = engine.start("loop", "S-1", {"rounds": 0}, ALICE)
    task = only_task(db, "S-1")
    engine.claim(task.id, ALICE)
    with pytest.raises(BihuanError) as caught:
        engine.complete(task.id, {"result": "x"}, ALICE, expected_version=inst.version + 5)
    assert caught.value.code == "stale_version"
    engine.complete(task.id, {"result": "x"}, ALICE, expected_version=inst.version)
