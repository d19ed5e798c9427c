"""``bihuan audit verify`` checks the evidence files against the chain (``--no-files`` skips)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from engine.audit import Actor
from engine.clock import ManualClock
from engine.evidence import Evidence, LocalStore
from engine.runtime import Engine
from engine.storage.database import Database
from engine.storage.migrate import upgrade
from tests.api.conftest import loop_bundle
from tests.conftest import START

JPEG = b"\xff\xd8\xff\xe0" + b"photo" * 100


def test_verify_names_an_altered_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = tmp_path / "evidence"
    monkeypatch.setenv("BIHUAN_DATABASE_URL", url)
    monkeypatch.setenv("BIHUAN_EVIDENCE_DIR", str(store))
    db, clock = Database(url), ManualClock(START)
    upgrade(db)
    engine = Engine(db, clock=clock)
    engine.deploy(loop_bundle(), Actor("designer", "designer"))
    engine.start("loop", "C-1", {"rounds": 0}, Actor("grid_a", "grid_worker"))
    made = Evidence(db, clock, LocalStore(store)).attach(
        "C-1", JPEG, filename="a.jpg", kind="photo", actor=Actor("grid_a", "grid_worker")
    )
    db.dispose()
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    (store / made.sha256[:2] / made.sha256[2:4] / made.sha256).write_bytes(JPEG + b"!")
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "evidence_altered" in bad.output and "C-1" in bad.output
    assert runner.invoke(app, ["audit", "verify", "--no-files"]).exit_code == 0
