"""The cost of one sandboxed expression or script, as a gateway condition or script task pays it.

Each case is evaluated ``--loops`` times per run with the engine's helpers, under the command
meter the engine installs (so the per-command deadline is in the figure); the median of
``--runs`` runs is the cost in µs. The yardstick, in the same run, is the same source compiled
by plain Python (no guards) and run with ``eval``/``exec``: ``ratio`` = sandbox ÷ plain, which is
comparable across machines and loads. Run it on two trees for a before/after, e.g.::

    python -m bench.sandbox_cost                               # this tree
    PYTHONPATH=/path/to/other/tree python bench/sandbox_cost.py --name sandbox_cost_before
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.sandbox import Limits, Sandbox, make_helpers

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DATA: dict[str, Any] = {
    "severity": "red",
    "amount": 250,
    "category": "water",
    "tags": ["urgent", "night"],
    "rounds": 1,
    "ok": False,
    "reported_at": "2026-02-27T09:00:00+08:00",
}
CASES: dict[str, tuple[str, str]] = {
    "gateway_compare": ("eval", 'severity == "red" and amount > 100'),
    "gateway_in_list": ("eval", 'category in ["noise", "water", "land"]'),
    "gateway_flag": ("eval", "ok == False"),
    "gateway_helper": ("eval", 'contains(tags, "urgent") or amount >= 1000'),
    "gateway_arithmetic": ("eval", "amount * 2 - rounds // 2 > 400"),
    "script_counter": (
        "exec",
        'rounds = rounds + 1\nstatus = "IN_PROGRESS" if rounds < 3 else "ESCALATED"',
    ),
}


def _meter() -> Any:
    """The command meter when this tree has one (the budget); nothing otherwise."""
    try:
        from engine.spiff import metered
    except ImportError:
        return nullcontext()
    return metered()


def _time(fn: Callable[[], None], loops: int) -> float:
    start = time.perf_counter()
    for _ in range(loops):
        fn()
    return (time.perf_counter() - start) / loops * 1e6


def measure(loops: int, runs: int) -> dict[str, Any]:
    sandbox = Sandbox(helpers=make_helpers(lambda: NOW), limits=Limits())
    plain_env = make_helpers(lambda: NOW)
    figures: dict[str, Any] = {}
    for name, (mode, source) in CASES.items():
        code = compile(source, "<plain>", mode)
        if mode == "eval":

            def guarded(source: str = source) -> None:
                sandbox.evaluate(source, DATA)

            def plain(code: Any = code) -> None:
                eval(code, {**plain_env, **DATA})
        else:

            def guarded(source: str = source) -> None:
                sandbox.execute(source, dict(DATA))

            def plain(code: Any = code) -> None:
                exec(code, {**plain_env, **DATA})

        guarded()  # compile once (cached), as a deployed model has
        sandboxed, yardstick = [], []
        with _meter():
            for _ in range(runs):
                sandboxed.append(_time(guarded, loops))
                yardstick.append(_time(plain, loops))
        us = statistics.median(sandboxed)
        plain_us = statistics.median(yardstick)
        figures[name] = {
            "us": round(us, 2),
            "us_runs": [round(v, 2) for v in sandboxed],
            "plain_us": round(plain_us, 2),
            "ratio": round(us / plain_us, 2),
        }
    return figures


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--loops", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--name", default="sandbox_cost")
    default_out = os.environ.get("BIHUAN_BENCH_OUT") or Path(__file__).resolve().parent / "out"
    ap.add_argument("--out", type=Path, default=Path(default_out))
    args = ap.parse_args(argv)
    figures = measure(args.loops, args.runs)
    for name, got in figures.items():
        print(f"{name:20s} {got['us']:7.2f} µs  plain {got['plain_us']:6.2f} µs  x{got['ratio']}")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.name}.json").write_text(json.dumps(figures, indent=1) + "\n")
    return figures


if __name__ == "__main__":
    main()
