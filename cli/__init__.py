"""The ``bihuan`` command, above the API and the engine.

Each group of commands is a module of this package; all follow one convention
(:mod:`cli.common`): an error is a message on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys

import typer

from cli import audit, calendar, db, deadlines, definitions, demo, kpi, serve, users

app = typer.Typer(help="bihuan (闭环): a workflow engine for closing the loop on disputes.")
for _commands in (definitions.app, demo.app, serve.app, audit.report_app):
    app.registered_commands.extend(_commands.registered_commands)
app.add_typer(db.app, name="db")
app.add_typer(users.app, name="users")
app.add_typer(deadlines.app, name="deadlines")
app.add_typer(audit.app, name="audit")
app.add_typer(kpi.app, name="kpi")
app.add_typer(calendar.app, name="calendar")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())


__all__ = ["app", "main"]
