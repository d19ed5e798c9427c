"""``bihuan audit …`` and ``bihuan report``: verification, anchors, export, timelines, retention.

Registered in engine/cli.py with::

    app.add_typer(audit_app, name="audit")
    app.command("report")(report)
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from engine.clock import SystemClock
from engine.settings import Settings
from engine.storage.database import Database

audit_app = typer.Typer(
    help="审计记录：校验、锚定、检索导出、时间线、保留期清理 (the audit record)."
)
out = Console()
err = Console(stderr=True)


@contextmanager
def _db() -> Iterator[tuple[Settings, Database]]:
    settings = Settings()
    db = Database(settings.database_url, pooled=False)
    try:
        yield settings, db
    finally:
        db.dispose()


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        from engine.clock import CHINA

        moment = moment.replace(tzinfo=CHINA)  # a bare time is Beijing time
    return moment.astimezone(UTC)


@audit_app.command("verify")
def verify_command(
    case: Annotated[str | None, typer.Option("--case", help="只校验一个案件 (one case)")] = None,
) -> None:
    """Check every chain and the anchors; name each case's first broken event (exit 1 if any)."""
    from engine.audit_verify import verify

    with _db() as (settings, db), db.session() as s:
        report = verify(s, settings.secret_key, case_no=case)
    for problem in report.problems:
        err.print(str(problem), markup=False, highlight=False)
    summary = f"{report.cases} case(s), {report.events} event(s), {report.anchors} anchor(s)"
    if report.ok:
        out.print(f"[green]ok:[/green] {summary} verified")
        return
    err.print(f"[red]{len(report.problems)} problem(s)[/red] in {summary}")
    raise typer.Exit(1)


@audit_app.command("anchor")
def anchor_command(
    full: Annotated[bool, typer.Option(help="anchor every chain, not only the moved ones")] = False,
) -> None:
    """Sign the current chain heads (HMAC-SHA256 with the server key)."""
    from engine.audit_anchor import create_anchor

    with _db() as (settings, db), db.session() as s:
        anchor = create_anchor(s, settings.secret_key, SystemClock().now(), full=full)
        count = len(anchor.heads["cases"])
        out.print(f"anchor #{anchor.id}: {count} chain head(s), digest {anchor.digest}")


@audit_app.command("export")
def export_command(
    output: Annotated[Path, typer.Option("--out", help="file to write ('-' = stdout)")],
    fmt: Annotated[Literal["csv", "jsonl"], typer.Option("--format")] = "csv",
    org: Annotated[str | None, typer.Option(help="org_path prefix, e.g. /county/town/")] = None,
    actor: Annotated[str | None, typer.Option()] = None,
    event_type: Annotated[list[str] | None, typer.Option("--type")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time (Beijing if no zone)")] = None,
    until: Annotated[str | None, typer.Option()] = None,
    case: Annotated[str | None, typer.Option("--case")] = None,
) -> None:
    """Export matching events as CSV or JSON Lines, streamed (bounded memory)."""
    from engine.audit_search import AuditQuery, export_csv, export_jsonl

    query = AuditQuery(org, actor, tuple(event_type or ()), _instant(since), _instant(until), case)
    write = export_csv if fmt == "csv" else export_jsonl
    with _db() as (_, db), db.session() as s:
        if str(output) == "-":
            count = write(s, query, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                count = write(s, query, fh)
    err.print(f"{count} event(s) exported")


@audit_app.command("timeline")
def timeline_command(case: Annotated[str, typer.Argument(help="案件编号 (case number)")]) -> None:
    """Print a case's timeline in Chinese."""
    from engine.timeline import case_timeline, render_text

    with _db() as (_, db), db.session() as s:
        timeline = case_timeline(s, case)
    if not timeline.steps:
        err.print(f"没有案件 {case} 的审计记录 (no audit events for case {case})")
        raise typer.Exit(1)
    out.print(render_text(timeline), markup=False, highlight=False)


@audit_app.command("purge")
def purge_command(
    ttl_days: Annotated[int, typer.Option(help="保留期（天）: purge cases closed longer ago")],
    yes: Annotated[bool, typer.Option("--yes", help="do it (otherwise only list)")] = False,
    limit: Annotated[int, typer.Option()] = 1000,
) -> None:
    """Replace the detailed events of long-closed cases by signed summaries (audited)."""
    from engine.retention import purge_candidates, purge_expired

    if ttl_days < 1:
        err.print("ttl-days must be at least 1")
        raise typer.Exit(2)
    now, ttl = SystemClock().now(), timedelta(days=ttl_days)
    with _db() as (settings, db), db.session() as s:
        if not yes:
            names = purge_candidates(s, now, ttl, limit=limit)
            out.print(f"{len(names)} case(s) would be purged (add --yes): {', '.join(names[:20])}")
            return
        done = purge_expired(s, settings.secret_key, now, ttl, limit=limit)
    out.print(f"{len(done)} case(s) purged, {sum(r.purged_events for r in done)} event(s)")


def report(
    org: Annotated[str, typer.Option("--org", help="org unit id (or org path)")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM, YYYY-Qn or YYYY")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder")] = Path("reports"),
) -> None:
    """Write the period's report (月研判): Markdown + CSV + PNG charts."""
    from engine.kpi.compute import Period
    from engine.reports import slug, write_report

    try:
        span = Period.parse(period)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    try:
        with _db() as (_, db), db.session() as s:
            folder = out_dir / f"{slug(org)}-{span.label}"
            files = write_report(s, org, span, folder, SystemClock().now())
    except LookupError as exc:
        err.print(str(exc.args[0]))
        raise typer.Exit(1) from None
    for path in (files.markdown, files.csv, *files.charts):
        out.print(str(path))
