"""The ``bihuan`` command: the engine's commands plus ``serve`` (the API lives above the engine)."""

from __future__ import annotations

import sys

from engine.cli import app, friendly, settings_from_env


@app.command()
@friendly
def serve() -> None:
    """Run the HTTP API (several uvicorn workers) with the scheduler as a leader-elected task."""
    from api.app import serve as run

    run(settings_from_env())


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
