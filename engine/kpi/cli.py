"""``bihuan kpi …``: the per-case facts table behind the KPI report.

Registered in engine/cli.py with ``app.add_typer(kpi_app, name="kpi")``.
"""

from __future__ import annotations

import time

import typer
from rich.console import Console

from engine.settings import Settings
from engine.storage.database import Database

kpi_app = typer.Typer(help="指标事实表 (the per-case KPI facts): rebuild, catch up.")
out = Console()


@kpi_app.command("rebuild")
def rebuild_command(
    batch: int = typer.Option(1000, min=1, help="cases per transaction"),
) -> None:
    """Fold every case's audit record again and rewrite its facts (after an upgrade, a bulk
    load, or a change of the fold)."""
    from engine.kpi.catchup import rebuild

    db = Database(Settings().database_url, pooled=False)
    try:
        t0 = time.perf_counter()
        with out.status("rebuilding…"):
            cases = rebuild(db, batch=batch)
        out.print(f"{cases} case(s) folded in {time.perf_counter() - t0:.1f} s")
    finally:
        db.dispose()


@kpi_app.command("catch-up")
def catch_up_command() -> None:
    """Fold the events written without the engine since the last catch-up (a report does this
    itself first)."""
    from engine.kpi.catchup import catch_up

    db = Database(Settings().database_url, pooled=False)
    try:
        with db.session() as s:
            cases = catch_up(s)
        out.print(f"{cases} case(s) caught up")
    finally:
        db.dispose()
