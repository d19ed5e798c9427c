"""Engine throughput: the shipped dispute loop from report to close, one durable transaction per
command, on SQLite and PostgreSQL — and the same model in plain SpiffWorkflow in memory.

    python -m bench.engine_throughput --cases 200 --repeat 3 [--db sqlite,postgres]
    python -m bench.engine_throughput --quick               # 20 cases, once
    python -m bench.engine_throughput --profile --cases 50  # + pyinstrument text per database

A completion is one ``complete`` command; each is preceded by its ``claim`` command, timed apart.
The SQL statements of the commands are counted (and the time spent waiting on them), so the
profile's split between Python and the database is in the figures too.
"""

from __future__ import annotations

import argparse
import time
from datetime import timedelta
from typing import Any

from bench.common import START, Result, StatementCounter, database, dispute_engine, out_dir
from demo import scenarios as sc
from engine.audit import Actor
from engine.clock import ManualClock

REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


def run_engine(url: str, cases: int, profile: str | None = None) -> dict[str, float]:
    clock = ManualClock(START)
    engine = dispute_engine(url, clock)
    driver = sc.Driver(engine)
    path = sc.main_path(clock.now())
    keys = [f"TP-{n:06d}" for n in range(cases)]
    for key in keys:
        engine.start("dispute", key, sc.report(key), REPORTER)
    claim_s = complete_s = 0.0
    completions = 0
    claims = StatementCounter(engine.db.engine)
    completes = StatementCounter(engine.db.engine)
    profiler = None
    if profile is not None:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
    started = time.perf_counter()
    for key in keys:
        for element_id, form in path:
            task = driver.open_task(key, element_id)
            actor = driver.actor_for(task)
            t0 = time.perf_counter()
            if task.assignee != actor.user_id:
                with claims:
                    engine.claim(task.id, actor)
            t1 = time.perf_counter()
            with completes:
                engine.complete(task.id, form, actor)
            t2 = time.perf_counter()
            claim_s += t1 - t0
            complete_s += t2 - t1
            completions += 1
        clock.advance(timedelta(seconds=1))
    wall = time.perf_counter() - started
    if profiler is not None and profile is not None:
        profiler.stop()
        (out_dir() / profile).write_text(profiler.output_text(unicode=True, color=False))
    engine.db.dispose()
    return {
        "completions": completions,
        "complete_per_s": completions / complete_s,
        "claim_and_complete_per_s": completions / (claim_s + complete_s),
        "complete_ms": 1000 * complete_s / completions,
        "claim_ms": 1000 * claim_s / completions,
        "statements_per_complete": completes.count / completions,
        "statements_per_claim": claims.count / completions,
        "db_share_of_complete": completes.seconds / complete_s,
        "db_share_of_claim": claims.seconds / claim_s if claim_s else 0.0,
        "wall_s": wall,
    }


def run_in_memory(cases: int) -> dict[str, float]:
    """The same process, forms and data in plain SpiffWorkflow: no storage, no projections."""
    from pathlib import Path

    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
    from SpiffWorkflow.util.task import TaskState

    from engine.sandbox import make_helpers
    from engine.workdays import WorkCalendar, make_workday_helpers

    root = Path(__file__).resolve().parent.parent / "processes"
    parser = SpiffBpmnParser()
    parser.add_bpmn_files(sorted(str(p) for p in root.glob("*.bpmn")))
    parser.add_dmn_files(sorted(str(p) for p in root.glob("*.dmn")))
    spec, subs = parser.get_spec("dispute"), parser.get_subprocess_specs("dispute")
    clock = ManualClock(START)
    helpers: dict[str, Any] = {**make_helpers(clock.now),
                               **make_workday_helpers(WorkCalendar.load(), clock.now)}  # fmt: skip
    engine = PythonScriptEngine(environment=TaskDataEnvironment(helpers))
    path = sc.main_path(clock.now())
    completions = 0
    elapsed = 0.0
    for n in range(cases):
        wf = BpmnWorkflow(spec, subs, script_engine=engine)
        wf.get_tasks(state=TaskState.READY)[0].set_data(**sc.report(f"IM-{n:06d}"))
        wf.do_engine_steps()
        for element_id, form in path:
            t0 = time.perf_counter()
            task = next(
                t
                for t in wf.get_tasks(state=TaskState.READY, manual=True)
                if t.task_spec.bpmn_id == element_id
            )
            task.set_data(**form)
            task.run()
            wf.do_engine_steps()
            elapsed += time.perf_counter() - t0
            completions += 1
        # 办结: the case is closed; the token waits out the reopening window
        assert wf.last_task.data["case_status"] == "CLOSED"
    return {"completions": completions, "complete_per_s": completions / elapsed}


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--db", default="sqlite,postgres")
    ap.add_argument("--quick", action="store_true", help="20 cases, one run")
    ap.add_argument("--profile", action="store_true", help="also write a pyinstrument profile")
    args = ap.parse_args(argv)
    if args.quick:
        args.cases, args.repeat = min(args.cases, 20), 1
    result = Result("engine_throughput")
    result.figures["cases"] = args.cases
    memory = [run_in_memory(args.cases)["complete_per_s"] for _ in range(args.repeat)]
    mem = result.median("in_memory_complete_per_s", memory)
    for kind in [k for k in args.db.split(",") if k]:
        runs: list[dict[str, float]] = []
        for _ in range(args.repeat):
            with database(kind) as url:
                runs.append(run_engine(url, args.cases))
        if args.profile:
            with database(kind) as url:
                run_engine(url, args.cases, profile=f"engine_throughput_profile_{kind}.txt")
        med = result.median(f"{kind}_complete_per_s", [r["complete_per_s"] for r in runs])
        for key in (
            "claim_and_complete_per_s", "complete_ms", "claim_ms", "statements_per_complete",
            "statements_per_claim", "db_share_of_complete", "db_share_of_claim",
        ):  # fmt: skip
            result.median(f"{kind}_{key}", [r[key] for r in runs])
        result.figures[f"{kind}_ratio_to_in_memory"] = round(med / mem, 3)
    print(result.figures)
    result.write()
    return result


if __name__ == "__main__":
    main()
