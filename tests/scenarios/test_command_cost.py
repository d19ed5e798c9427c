"""What one command costs the database: SQL statements per claim and per complete.

Round trips are what a command pays most for on PostgreSQL, and the count does not depend on how
loaded the machine is, so it is pinned here (the timings live in bench/engine_throughput.py).
The bounds are the main path's figures today plus a little room: a change that writes per row
instead of per command (a statement per ladder rung, a flush half-way) breaks them.
"""

from __future__ import annotations

from bench.common import StatementCounter
from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine

GRID_WORKER = Actor("grid01", "grid_worker", "qs-dc-hp-01")
MAX_PER_COMPLETE = 13.0  # mean over the main path (SQLite counts its BEGIN IMMEDIATE)
MAX_PER_CLAIM = 8.0


def test_statements_per_claim_and_complete_on_the_main_path(
    dispute: Engine, clock: ManualClock
) -> None:
    driver = Driver(dispute)  # the engine's workflow cache, as a running server has it
    claims = completes = 0
    claim_statements = complete_statements = 0
    for n in range(2):  # the first case also reads forms and units into the caches
        case_no = f"MD-2026-{n + 1:04d}"
        dispute.start("dispute", case_no, sc.report(case_no), GRID_WORKER)
        for element_id, form in sc.main_path(clock.now()):
            task = driver.open_task(case_no, element_id)
            actor = driver.actor_for(task)
            if task.assignee != actor.user_id:
                with StatementCounter(dispute.db.engine) as seen:
                    dispute.claim(task.id, actor)
                claims, claim_statements = claims + 1, claim_statements + seen.count
            with StatementCounter(dispute.db.engine) as seen:
                dispute.complete(task.id, form, actor)
            completes, complete_statements = completes + 1, complete_statements + seen.count
        if n == 0:
            claims = completes = claim_statements = complete_statements = 0
    assert completes == 8
    assert complete_statements / completes <= MAX_PER_COMPLETE, complete_statements / completes
    assert claim_statements / claims <= MAX_PER_CLAIM, claim_statements / claims
