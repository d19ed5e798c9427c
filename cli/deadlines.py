"""``bihuan deadlines …``: deadlines (办理时限) and the working-day calendar."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.common import Group, database, out, styled

app = Group(help="Deadlines (办理时限) and the working-day calendar.")


@app.command("recompute")
def deadlines_recompute(
    all_deadlines: Annotated[
        bool, typer.Option("--all", help="recompute every open deadline, not only low-confidence")
    ] = False,
) -> None:
    """Recompute open deadlines after the holiday schedule changed (e.g. next year loaded)."""
    from engine.bootstrap import build_calendar
    from engine.supervision import build_supervision

    with database(pooled=True) as (settings, db):
        calendar = build_calendar(settings)
        out.print(f"calendar: {calendar.coverage_text()}")
        service = build_supervision(
            settings, db, calendar=calendar, policy_path=settings.deadlines_file
        )
        with out.status("recomputing…"):
            changed = service.recompute_deadlines(only_low_confidence=not all_deadlines)
    out.print(styled(f"{changed} deadline(s) changed", "green"))
