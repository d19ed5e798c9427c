"""One convention for the whole ``bihuan`` command: a bad database or a missing file gives a
message and a non-zero exit status, never a traceback — for every group of commands."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from cli import app
from cli.common import friendly

#: one command of each group, run against a database that cannot be used
COMMANDS = {
    "db": ["db", "upgrade"],
    "users": ["users", "list"],
    "deadlines": ["deadlines", "recompute"],
    "audit verify": ["audit", "verify"],
    "audit anchor": ["audit", "anchor"],
    "audit export": ["audit", "export", "--out", "-"],
    "audit timeline": ["audit", "timeline", "A1"],
    "audit purge": ["audit", "purge", "--ttl-days", "30"],
    "kpi rebuild": ["kpi", "rebuild"],
    "kpi catch-up": ["kpi", "catch-up"],
    "report": ["report", "--org", "/c/", "--period", "2026-10", "--out", "{tmp}"],
    "deploy": ["deploy", "{fixtures}/bpmn/loop.bpmn", "{fixtures}/forms"],
    "demo": ["demo"],
}
#: database URLs that fail in different places: the URL itself, the connection, the schema
BAD_DATABASES = {
    "unknown dialect": "nosuchdb://x",
    "unreachable server": "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2",
    "not migrated": "sqlite:///{tmp}/empty.db",
}


def _run(args: list[str], tmp_path: Path) -> tuple[int, str]:
    fixtures = Path(__file__).resolve().parents[1] / "fixtures"
    filled = [a.format(tmp=tmp_path, fixtures=fixtures) for a in args]
    result = CliRunner().invoke(app, filled)
    return result.exit_code, result.output


@pytest.mark.parametrize("bad", BAD_DATABASES, ids=list(BAD_DATABASES))
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_bad_database_is_a_message(
    command: str, bad: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if command == "db" and bad == "not migrated":
        pytest.skip("migrating an empty database is what `db upgrade` is for")
    monkeypatch.setenv("BIHUAN_DATABASE_URL", BAD_DATABASES[bad].format(tmp=tmp_path))
    monkeypatch.setenv("BIHUAN_SECRET_KEY", "s" * 40)
    code, output = _run(COMMANDS[command], tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    assert "database" in output and "bihuan db upgrade" in output, output


def test_bad_settings_are_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BIHUAN_DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("BIHUAN_WORKERS", "many")
    code, output = _run(["users", "list"], tmp_path)
    assert code == 1 and "Traceback" not in output
    assert "BIHUAN_WORKERS" in output, output


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "{tmp}/absent.bpmn"],
        ["deploy", "{tmp}/absent.bpmn"],
        ["audit", "export", "--out", "{tmp}/no/such/folder/x.csv"],
        ["audit", "export", "--out", "-", "--since", "yesterday"],
    ],
    ids=["validate", "deploy", "export to a missing folder", "export with a bad time"],
)
def test_a_missing_file_or_bad_option_is_a_message(
    args: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIHUAN_DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert CliRunner().invoke(app, ["db", "upgrade"]).exit_code == 0
    code, output = _run(args, tmp_path)
    assert code == 1, output
    assert "Traceback" not in output
    assert "absent.bpmn" in output or "x.csv" in output or "yesterday" in output, output


def _commands(group: typer.Typer) -> list[object]:
    found: list[object] = [c.callback for c in group.registered_commands]
    for sub in group.registered_groups:
        assert sub.typer_instance is not None
        found.extend(_commands(sub.typer_instance))
    return found


def test_every_command_goes_through_the_friendly_wrapper() -> None:
    wrapped_code = friendly(lambda: None).__code__  # type: ignore[attr-defined]
    callbacks = _commands(app)
    assert len(callbacks) >= 15
    for callback in callbacks:
        assert getattr(callback, "__code__", None) is wrapped_code, callback
