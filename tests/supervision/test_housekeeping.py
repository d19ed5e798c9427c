"""Storage housekeeping: the change-feed prune and the bounded workflow cache."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

from sqlalchemy import func, insert, select

from engine.clock import ManualClock
from engine.runtime.cache import WorkflowCache, approx_bytes
from engine.spiff import Workflow
from engine.storage.database import Database
from engine.storage.models import ChangeEvent
from engine.supervision.housekeeping import change_feed_job


def test_the_change_feed_keeps_one_day(db: Database, clock: ManualClock) -> None:
    now = clock.now()
    with db.session() as s:
        s.execute(
            insert(ChangeEvent),
            [
                {"at": now - timedelta(hours=h), "kind": "case", "payload": {}}
                for h in (1, 23, 25, 49)
            ],
        )
    with db.session() as s:
        change_feed_job()(s, now, now)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChangeEvent)) == 2


def test_the_workflow_cache_is_bounded_by_entries_and_bytes() -> None:
    wf = cast(Workflow, object())
    by_count = WorkflowCache(size=3, max_bytes=10**9)
    for n in range(5):
        by_count.put(f"i{n}", 1, wf, 100)
    assert len(by_count) == 3 and by_count.take("i0", 1) is None
    by_size = WorkflowCache(size=100, max_bytes=1000)
    for n in range(5):
        by_size.put(f"i{n}", 1, wf, 400)
    assert len(by_size) == 2 and by_size.approx_bytes == 800
    assert by_size.take("i4", 1) is wf and by_size.approx_bytes == 400
    state: dict[str, Any] = {"tasks": {str(n): {} for n in range(10)}, "subprocesses": {}}
    assert approx_bytes(state) > approx_bytes({"tasks": {}})
