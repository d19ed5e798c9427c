"""docs/api.md's "A caseworker's day", replayed with curl against a live uvicorn (real HTTP)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.clock import ManualClock
from tests.api.conftest import PASSWORD, World, make_world
from tests.live_server import live_server

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def day_script() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## A caseworker's day", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 6, "the walkthrough lost its commands"
    return "\n".join(blocks)


@pytest.fixture
def live(db_url: str, clock: ManualClock) -> Iterator[tuple[World, str]]:
    world, db = make_world(db_url, clock, deploy_as="dispute")
    with live_server(world.app) as base:
        yield world, base
    db.dispose()


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_caseworkers_day_runs_as_written(live: tuple[World, str]) -> None:
    world, base = live
    env = {
        "PATH": "/usr/bin:/bin",
        "BASE": base,
        "REPORTER": "grid_a",
        "WORKER": "handler_a",
        "PASSWORD": PASSWORD,
        "LANG": "C.UTF-8",
    }
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + day_script()],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    assert "reported BH-2026-000001" in run.stdout
    assert '"state": "completed"' in run.stdout
    assert "task_completed handler_a" in run.stdout
    r = world.get("town_a_staff", "/api/v1/cases/BH-2026-000001")
    assert r.json()["case"]["status"] == "VERIFYING"
