"""docs/walkthrough.md (linked from the README) replayed with curl against a live server on the
demo organisations and the shipped processes: a first case through the whole loop."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from demo.seed import _bundle, _demo_hasher
from engine.bootstrap import build_engine
from engine.clock import ManualClock
from engine.orgs import load_organisations
from engine.runtime import files_from_paths
from engine.settings import Settings
from tests.engine.support import DESIGNER
from tests.live_server import live_server

DOC = Path(__file__).resolve().parent.parent / "docs" / "walkthrough.md"


@pytest.fixture
def server(db_url: str, clock: ManualClock) -> Iterator[str]:
    settings = Settings(database_url=db_url, demo=True, scheduler_enabled=False)
    engine = build_engine(settings, clock=clock)
    with engine.db.session() as s:
        load_organisations(s, settings.organisations_file, hash_password=_demo_hasher(),
                           now=clock.now)  # fmt: skip
    engine.deploy(files_from_paths(_bundle(settings.processes_dir, settings.forms_dir)), DESIGNER)
    app = create_app(settings, engine=engine, clock=clock)
    with live_server(app) as base:
        yield base
    engine.db.dispose()


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl and jq")
def test_the_walkthrough_closes_a_case_as_written(server: str) -> None:
    script = "\n".join(re.findall(r"```sh\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S))
    run = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        env={"PATH": "/usr/bin:/bin", "BASE": server, "LANG": "C.UTF-8"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    out = run.stdout
    assert re.search(r"reported BH-2026-\d{6}", out)
    assert "甄别研判 completed by town01" in out
    assert re.search(r"BH-2026-\d{6} CLOSED resolved at grid, satisfaction 4", out)
    assert out.count(" grid01 ") >= 4  # the grid worker's four steps are in the history
