"""What checking the values of a request and a script's results costs (``engine/jsondata.py``).

    python -m bench.input_checks [--repeat 5] [--number 2000]

Measured on a realistic report body (the demo report with 30 more text fields, ~4 KB of JSON):
``scan_json`` (the API edge's strict parse and walk) against a plain ``json.loads`` of the same
bytes, ``clean`` (the engine's walk of data already parsed) against ``copy.deepcopy`` of it, and
a gateway condition evaluated through the script engine (its result, a bool, takes the fast
path). Figures are ratios (medians over the repeats), which stay comparable across machines;
``bench/out/input_checks.json``.
"""

from __future__ import annotations

import argparse
import copy
import json
import timeit
from typing import Any

from bench.common import Result
from demo import scenarios as sc
from engine.jsondata import clean, scan_json
from engine.sandbox import Sandbox
from engine.spiff import SandboxScriptEngine


def sample() -> dict[str, Any]:
    data = sc.report("BH-2026-000001")
    data.update({f"field_{i}": "邻里纠纷处置情况说明" * 2 for i in range(30)})
    data["amounts"] = [1.5, 200, -0.25, 10**12]
    return data


def main(argv: list[str] | None = None) -> Result:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--number", type=int, default=2000)
    args = ap.parse_args(argv)
    data = sample()
    raw = json.dumps({"data": data}, ensure_ascii=False).encode()
    environment = SandboxScriptEngine(Sandbox()).environment
    context = {"severity": "red", "rounds": 2}
    result = Result("input_checks")
    result.figures["body_bytes"] = len(raw)

    def per_call_us(call: Any) -> list[float]:
        runs = timeit.repeat(call, number=args.number, repeat=args.repeat)
        return [r / args.number * 1e6 for r in runs]

    scan = per_call_us(lambda: scan_json(raw))
    loads = per_call_us(lambda: json.loads(raw))
    walk = per_call_us(lambda: clean(data))
    deep = per_call_us(lambda: copy.deepcopy(data))
    expression = "severity == 'red' and rounds < 3"
    condition = per_call_us(lambda: environment.evaluate(expression, context))
    result.median("scan_json_us", scan)
    result.median("json_loads_us", loads)
    result.median("clean_us", walk)
    result.median("deepcopy_us", deep)
    result.median("condition_us", condition)
    f = result.figures
    f["scan_over_loads"] = round(f["scan_json_us"] / f["json_loads_us"], 2)
    f["clean_over_deepcopy"] = round(f["clean_us"] / f["deepcopy_us"], 2)
    result.write()
    print(json.dumps({k: v for k, v in f.items() if not k.endswith("_runs")}, indent=1))
    return result


if __name__ == "__main__":
    main()
