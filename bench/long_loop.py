"""Long loops: one case sent back for rework 100 times through the shipped dispute process.

    python -m bench.long_loop [--rounds 100] [--db sqlite,postgres] [--quick]

The case goes report → screen → dispatch → sign → contact → handle → feedback, then every round
is 审核 returns it for rework (review_result: rework) → 处置 (handle_case) → 反馈
(feedback_result), driven with :class:`demo.scenarios.Driver` as the users who hold the tasks.
Each round is run twice over: with the engine's workflow cache (one process, as in a benchmark)
and with ``reload=True`` (every command loads the stored state, as when API workers share a
case), so the cost of a growing state would show in either.

Figures per database and mode: milliseconds per step (claim + complete) in round 1 and in the
last round (the median of the first and of the last five rounds, to damp noise), their ratio
(target ≤ 2), and the stored state of the case (``instances.state`` + ``data`` JSON bytes) per
round (target ≤ 64 KB at round 100), and the audit rows the case has accumulated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bench.common import START, Result, database, dispute_engine
from demo import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock
from engine.storage.models import AuditEvent, Instance

REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")
CASE = "LOOP-000001"


def state_bytes(engine: Any) -> tuple[int, int]:
    with engine.db.session() as s:
        inst = s.scalar(select(Instance).where(Instance.business_key == CASE))
        assert inst is not None
        state = len(json.dumps(inst.state, separators=(",", ":")).encode())
        data = len(json.dumps(inst.data, separators=(",", ":"), ensure_ascii=False).encode())
        return state, data


def run(url: str, rounds: int, reload: bool) -> dict[str, Any]:
    clock = ManualClock(START)
    engine = dispute_engine(url, clock)
    driver = sc.Driver(engine, reload=reload)
    engine.start("dispute", CASE, sc.report(CASE), REPORTER)
    for element_id, form in sc.main_path(clock.now())[:6]:  # up to and including feedback
        driver.do(CASE, element_id, form)
    loop = [sc.review("rework"), sc.handle(), sc.feedback()]
    per_round: list[float] = []
    sizes: list[int] = []
    for _ in range(rounds):
        clock.advance(timedelta(minutes=10))
        t0 = time.perf_counter()
        for element_id, form in loop:
            driver.do(CASE, element_id, form)
        per_round.append(1000 * (time.perf_counter() - t0) / len(loop))
        sizes.append(sum(state_bytes(engine)))
    driver.do(CASE, *sc.review())  # and it still closes: review passes → revisit
    with engine.db.session() as s:
        audit_rows = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.case_no == CASE)
        )
        compactions = s.scalar(
            select(Instance.loop_compactions).where(Instance.business_key == CASE)
        )
    state, data = state_bytes(engine)
    engine.db.dispose()
    head = statistics.median(per_round[:5])
    tail = statistics.median(per_round[-5:])
    return {
        "step_ms_round_1": round(per_round[0], 2),
        "step_ms_last_round": round(per_round[-1], 2),
        "step_ms_first5_median": round(head, 2),
        "step_ms_last5_median": round(tail, 2),
        "ratio_last_to_first": round(tail / head, 3),
        "state_bytes_round_1": sizes[0],
        "state_bytes_last_round": sizes[-1],
        "state_bytes_end": state + data,
        "state_only_bytes_end": state,
        "data_bytes_end": data,
        "audit_rows": int(audit_rows or 0),
        "loop_compactions": int(compactions or 0),
        "step_ms_by_round": [round(x, 2) for x in per_round],
        "state_bytes_by_round": sizes,
    }


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--db", default="sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="6 rounds")
    args = ap.parse_args(argv)
    if args.quick:
        args.rounds = 6
    result = Result("long_loop")
    result.figures["rounds"] = args.rounds
    for kind in [k for k in args.db.split(",") if k]:
        for mode, reload in (("cached", False), ("reload", True)):
            with database(kind) as url:
                got = run(url, args.rounds, reload)
            result.figures[f"{kind}_{mode}"] = got
            brief = {k: v for k, v in got.items() if not k.endswith("_by_round")}
            print(kind, mode, brief, flush=True)
    result.write()
    return result


if __name__ == "__main__":
    main()
