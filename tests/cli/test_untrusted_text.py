"""Text the command prints from users and files — file names, problem texts, display names,
case numbers — comes out literally: no rich markup (``[red]``, ``[/x]``: a stray closing tag
was a traceback), no emoji codes (``:100:`` became 💯), exit 1 with a message, never exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from engine.clock import ManualClock
from engine.storage.database import Database
from engine.storage.models import OrgUnit, User, UserRole
from tests.conftest import START

NAMES = ["[/x]:100:.bpmn", "a:100:[b].bpmn", "[red]red[/red].bpmn", "[bold]:smile:", "x[/]y.bpmn"]


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("BIHUAN_DATABASE_URL", url)
    return url


def _literal(output: str, text: str) -> None:
    assert text in output, output
    assert "💯" not in output and "😄" not in output and "Traceback" not in output, output


@pytest.mark.parametrize("name", NAMES)
def test_file_names_and_problems_print_literally(env: str, tmp_path: Path, name: str) -> None:
    runner = CliRunner()
    missing = runner.invoke(app, ["validate", str(tmp_path / name)])
    assert missing.exit_code == 1, missing.output
    _literal(missing.output, name)
    folder = tmp_path / "[dir]:100:"
    folder.mkdir()
    base = name.replace("/", "|")  # a file name cannot hold a slash; the path above did
    broken = folder / (base if base.endswith(".bpmn") else base + ".bpmn")
    broken.write_text("<bpmn", encoding="utf-8")
    refused = runner.invoke(app, ["validate", str(broken)])
    assert refused.exit_code == 1, refused.output
    _literal(refused.output, broken.name)
    _literal(refused.output, "malformed XML")


def test_database_text_prints_literally(env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    db = Database(env)
    with db.session() as s:
        s.add(OrgUnit(id="u1", name="[red]u[/red]", kind="county", tier=None, parent_id=None,
                      path="/u1/"))  # fmt: skip
        s.add(User(id="odd", display_name="[/x]:100:", password_hash="x", active=True,
                   created_at=ManualClock(START).now()))  # fmt: skip
        s.flush()
        s.add(UserRole(user_id="odd", role="grid_worker", org_id="u1"))
    db.dispose()
    listed = runner.invoke(app, ["users", "list"])
    assert listed.exit_code == 0, listed.output
    _literal(listed.output, "[/x]:100:")
    _literal(listed.output, "[red]u[/red]")
    timeline = runner.invoke(app, ["audit", "timeline", "[/x]:100:"])
    assert timeline.exit_code == 1
    _literal(timeline.output, "[/x]:100:")
