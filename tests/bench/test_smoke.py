"""Every benchmark runs at a tiny size and produces its figures (docs/performance.md).

Nothing here checks a target: the figures of a tiny run on a shared machine mean little. The
PostgreSQL parts (HTTP, timers, the PostgreSQL halves of the others) skip without
BIHUAN_TEST_POSTGRES_URL. Results go to a temporary folder, never over bench/out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import postgres_base_url


@pytest.fixture(autouse=True)
def bench_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIHUAN_BENCH_OUT", str(tmp_path))
    return tmp_path


def kinds() -> str:
    return "sqlite,postgres" if postgres_base_url() else "sqlite"


def needs_postgres() -> None:
    if postgres_base_url() is None:
        pytest.skip("needs BIHUAN_TEST_POSTGRES_URL")


def test_engine_throughput(bench_out: Path) -> None:
    from bench import engine_throughput

    figures = engine_throughput.main(["--cases", "2", "--repeat", "1", "--db", kinds()]).figures
    assert figures["in_memory_complete_per_s"] > 0
    assert figures["sqlite_complete_per_s"] > 0
    assert figures["sqlite_statements_per_complete"] > 0
    assert (bench_out / "engine_throughput.json").exists()


def test_scale(bench_out: Path) -> None:
    from bench import scale

    figures = scale.main(["--db", kinds(), "--sizes", "200", "--runs", "2"]).figures
    got = figures["sqlite"]["200"]
    for key in ("inbox_handler_p95_ms", "sweep_claim_p95_ms", "history_p95_ms", "kpi_s"):
        assert got[key] >= 0, key
    assert got["due_now"] > 0
    assert (bench_out / "scale_plans_sqlite_200.txt").exists()


def test_long_loop() -> None:
    from bench import long_loop

    figures = long_loop.main(["--rounds", "2", "--db", "sqlite"]).figures
    got = figures["sqlite_cached"]
    assert got["state_bytes_last_round"] > 0 and got["ratio_last_to_first"] > 0


def test_storage() -> None:
    from bench import storage

    figures = storage.main(["--cases", "2", "--db", kinds()]).figures
    assert figures["sqlite"]["bytes_per_case_after_vacuum"] > 0


def test_http_e2e() -> None:
    needs_postgres()
    from bench import http_e2e

    got = http_e2e.main(["--clients", "2", "--workers", "1", "--tasks", "4"]).figures
    assert got["workers_1"]["completions"] == 4
    assert got["workers_1"]["errors"] == 0


def test_timers() -> None:
    needs_postgres()
    from bench import timers

    got = timers.main(["--quick", "--items", "60"]).figures
    assert got["fired"] == 60 and got["duplicates"] == 0 and got["misses"] == 0


def test_sandbox_cost(bench_out: Path) -> None:
    from bench import sandbox_cost

    figures = sandbox_cost.main(["--loops", "20", "--runs", "1"])
    assert all(got["us"] > 0 and got["ratio"] > 0 for got in figures.values())
    assert (bench_out / "sandbox_cost.json").exists()


def test_input_checks(bench_out: Path) -> None:
    from bench import input_checks

    figures = input_checks.main(["--repeat", "1", "--number", "20"]).figures
    assert figures["scan_over_loads"] > 0 and figures["clean_over_deepcopy"] > 0
    assert figures["condition_us"] > 0
    assert (bench_out / "input_checks.json").exists()
