"""``bihuan serve`` and ``bihuan scheduler``: the long-running processes."""

from __future__ import annotations

from cli.common import Group, settings_from_env

app = Group()


@app.command()
def serve() -> None:
    """Run the HTTP API (several uvicorn workers) with the scheduler as a leader-elected task."""
    from api.app import serve as run

    run(settings_from_env())


@app.command()
def scheduler() -> None:
    """Run the scheduler alone (any number may run against one PostgreSQL database)."""
    from engine.bootstrap import build_engine
    from engine.scheduler import run_scheduler

    settings = settings_from_env()
    run_scheduler(settings, engine=build_engine(settings))
