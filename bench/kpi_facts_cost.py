"""What keeping the KPI facts costs a command: ``bench.engine_throughput`` with the facts hook
off and on, alternating, plus the time spent inside the hook.

    python -m bench.kpi_facts_cost --rounds 3 [--cases 20] [--db sqlite,postgres]

"Off" replaces ``engine.kpi.store.advance`` (called by ``AuditLog.flush`` after each append) by a
no-op: the same tree without the upsert, which is what the engine did before ``case_facts``.
"On" times each call of the real hook. Figures: ``bench/out/kpi_facts_cost.json`` (medians over
the rounds of the complete / claim times and statement counts, and the hook's median time).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import engine.kpi.store as store
from bench import engine_throughput
from bench.common import Result

KEYS = ("complete_ms", "claim_ms", "statements_per_complete", "statements_per_claim")


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", type=int, default=20)
    ap.add_argument("--db", default="sqlite,postgres")
    args = ap.parse_args(argv)
    real = store.advance
    spent: dict[str, list[float]] = {}
    runs: dict[str, list[Mapping[str, Any]]] = {"off": [], "on": []}

    def off(*_a: Any, **_k: Any) -> None:
        return None

    for _ in range(args.rounds):
        for mode in ("off", "on"):
            for db in args.db.split(","):
                calls = spent.setdefault(db, [])

                def timed(*a: Any, **k: Any) -> None:
                    t0 = time.perf_counter()
                    real(*a, **k)
                    calls.append(time.perf_counter() - t0)  # noqa: B023 - this run's list

                store.advance = timed if mode == "on" else off
                store.CACHE.clear()
                figures = engine_throughput.main(
                    ["--cases", str(args.cases), "--repeat", "1", "--db", db]
                ).figures
                runs[mode].append(figures)
    store.advance = real
    result = Result("kpi_facts_cost")
    for db in args.db.split(","):
        prefix = "postgres" if db == "postgres" else db
        for mode, found in runs.items():
            for key in KEYS:
                values = _values(found, f"{prefix}_{key}")
                if values:
                    result.median(f"{prefix}_{mode}_{key}", values)
        if spent.get(db):
            result.figures[f"{prefix}_hook_ms_median"] = round(
                1000 * statistics.median(spent[db]), 3
            )
            result.figures[f"{prefix}_hook_calls"] = len(spent[db])
    result.write()
    print(result.figures)
    return result


def _values(found: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [float(f[key]) for f in found if key in f]


if __name__ == "__main__":
    main()
