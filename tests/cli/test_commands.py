"""The ``bihuan`` command line: exit codes and messages, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from tests.engine.support import FIXTURES

FORMS = [FIXTURES / "forms" / f for f in ("handle.schema.json", "check.schema.json",
                                          "handle.uischema.json")]  # fmt: skip
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("BIHUAN_DATABASE_URL", url)
    return {"BIHUAN_DATABASE_URL": url}


def test_validate_ok_and_refused(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(FIXTURES / "bpmn" / "loop.bpmn"), *map(str, FORMS)])
    assert ok.exit_code == 0, ok.output
    assert "deployable" in ok.output
    broken = tmp_path / "broken.bpmn"
    broken.write_bytes(
        (FIXTURES / "bpmn" / "loop.bpmn")
        .read_bytes()
        .replace(b'targetRef="check"', b'targetRef="nope"')
    )
    bad = runner.invoke(app, ["validate", str(broken)])
    assert bad.exit_code == 1
    assert "Traceback" not in bad.output
    assert "broken.bpmn" in bad.output
    missing = runner.invoke(app, ["validate", str(tmp_path / "absent.bpmn")])
    assert missing.exit_code == 1 and "no such file" in missing.output


def test_db_upgrade_then_deploy_twice(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    files = [str(FIXTURES / "bpmn" / "loop.bpmn"), *map(str, FORMS)]
    first = runner.invoke(app, ["deploy", *files])
    assert first.exit_code == 0 and "new" in first.output, first.output
    second = runner.invoke(app, ["deploy", *files])
    assert second.exit_code == 0 and "unchanged" in second.output


def test_the_installed_entry_point_runs(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "validate", "/nonexistent.bpmn"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "no such file" in done.stderr


def test_deadlines_recompute_reports_the_calendar(env: dict[str, str]) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    done = runner.invoke(app, ["deadlines", "recompute"])
    assert done.exit_code == 0, done.output
    assert "2004–2026" in done.output and "0 deadline(s) changed" in done.output


def test_validate_and_deploy_list_warnings_as_plain_text(env: dict[str, str]) -> None:
    runner = CliRunner()
    model = FIXTURES / "miwg" / "C.9.1.bpmn"
    ok = runner.invoke(app, ["validate", str(model)])
    assert ok.exit_code == 0, ok.output
    assert "warning: C.9.1.bpmn:29 [UserTask_CallCustomer]: user task has no form" in ok.output
    assert "deployable" in ok.output
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    deployed = runner.invoke(app, ["deploy", str(model)])
    assert deployed.exit_code == 0, deployed.output
    assert "warning: C.9.1.bpmn:29 [UserTask_CallCustomer]" in deployed.output
