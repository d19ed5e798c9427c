"""``bihuan kpi …``: the per-case facts table behind the KPI report."""

from __future__ import annotations

import time

import typer

from cli.common import Group, database, out

app = Group(help="指标事实表 (the per-case KPI facts): rebuild, catch up.")


@app.command("rebuild")
def rebuild_command(
    batch: int = typer.Option(1000, min=1, help="cases per transaction"),
) -> None:
    """Fold every case's audit record again and rewrite its facts (after an upgrade, a bulk
    load, or a change of the fold)."""
    from engine.kpi import rebuild

    with database() as (_, db):
        t0 = time.perf_counter()
        with out.status("rebuilding…"):
            cases = rebuild(db, batch=batch)
    out.print(f"{cases} case(s) folded in {time.perf_counter() - t0:.1f} s")


@app.command("catch-up")
def catch_up_command() -> None:
    """Fold the events written without the engine since the last catch-up (a report does this
    itself first)."""
    from engine.kpi import catch_up

    with database() as (_, db), db.session() as s:
        cases = catch_up(s)
    out.print(f"{cases} case(s) caught up")
