"""``bihuan audit …`` and ``bihuan report``: verification, anchors, export, timelines, retention,
and the period report (月研判)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

import typer

from cli.common import Group, database, err, instant, out, styled
from engine.clock import SystemClock

app = Group(help="审计记录：校验、锚定、检索导出、时间线、保留期清理 (the audit record).")
report_app = Group()


@app.command("verify")
def verify_command(
    case: Annotated[str | None, typer.Option("--case", help="只校验一个案件 (one case)")] = None,
    files: Annotated[
        bool, typer.Option(help="核对附件文件 (re-read every attached file against its digest)")
    ] = True,
) -> None:
    """Check every chain and the anchors, and the evidence files; name each case's first broken
    event (exit 1 if any)."""
    from engine.audit import verify
    from engine.bootstrap import build_evidence

    with database() as (settings, db), db.session() as s:
        report = verify(s, settings.secret_key, case_no=case)
        if files:
            from engine.evidence import check_evidence

            check_evidence(s, build_evidence(settings, db, SystemClock()).store, report, case)
    for problem in report.problems:
        err.print(str(problem), markup=False, highlight=False)
    summary = f"{report.cases} case(s), {report.events} event(s), {report.anchors} anchor(s)"
    if report.ok:
        out.print(styled("ok:", "green", f"{summary} verified"))
        return
    err.print(styled(f"{len(report.problems)} problem(s)", "red", f"in {summary}"))
    raise typer.Exit(1)


@app.command("anchor")
def anchor_command(
    full: Annotated[bool, typer.Option(help="anchor every chain, not only the moved ones")] = False,
) -> None:
    """Sign the current chain heads (HMAC-SHA256 with the server key)."""
    from engine.audit import create_anchor

    with database() as (settings, db), db.session() as s:
        anchor = create_anchor(s, settings.secret_key, SystemClock().now(), full=full)
        count = len(anchor.heads["cases"])
        out.print(f"anchor #{anchor.id}: {count} chain head(s), digest {anchor.digest}")


@app.command("export")
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
    from engine.audit import AuditQuery, export_csv, export_jsonl

    query = AuditQuery(org, actor, tuple(event_type or ()), instant(since), instant(until), case)
    write = export_csv if fmt == "csv" else export_jsonl
    with database() as (_, db), db.session() as s:
        if str(output) == "-":
            count = write(s, query, sys.stdout)
        else:
            with output.open("w", encoding="utf-8", newline="") as fh:
                count = write(s, query, fh)
    err.print(f"{count} event(s) exported")


@app.command("timeline")
def timeline_command(case: Annotated[str, typer.Argument(help="案件编号 (case number)")]) -> None:
    """Print a case's timeline in Chinese."""
    from engine.audit import case_timeline, render_text

    with database() as (_, db), db.session() as s:
        timeline = case_timeline(s, case)
    if not timeline.steps:
        err.print(f"没有案件 {case} 的审计记录 (no audit events for case {case})")
        raise typer.Exit(1)
    out.print(render_text(timeline), markup=False, highlight=False)


@app.command("purge")
def purge_command(
    ttl_days: Annotated[int, typer.Option(help="保留期（天）: purge cases closed longer ago")],
    yes: Annotated[bool, typer.Option("--yes", help="do it (otherwise only list)")] = False,
    limit: Annotated[int, typer.Option()] = 1000,
) -> None:
    """Replace the detailed events of long-closed cases by signed summaries (audited)."""
    from engine.audit import purge_candidates, purge_expired

    if ttl_days < 1:
        err.print("ttl-days must be at least 1")
        raise typer.Exit(2)
    now, ttl = SystemClock().now(), timedelta(days=ttl_days)
    with database() as (settings, db), db.session() as s:
        if not yes:
            names = purge_candidates(s, now, ttl, limit=limit)
            out.print(f"{len(names)} case(s) would be purged (add --yes): {', '.join(names[:20])}")
            return
        done = purge_expired(s, settings.secret_key, now, ttl, limit=limit)
    out.print(f"{len(done)} case(s) purged, {sum(r.purged_events for r in done)} event(s)")


@report_app.command("report")
def report(
    org: Annotated[str, typer.Option("--org", help="org unit id (or org path)")],
    period: Annotated[str, typer.Option("--period", help="YYYY-MM, YYYY-Qn or YYYY")],
    out_dir: Annotated[Path, typer.Option("--out", help="folder")] = Path("reports"),
) -> None:
    """Write the period's report (月研判): Markdown + CSV + PNG charts."""
    from engine.kpi import Period
    from engine.kpi.reports import slug, write_report

    try:
        span = Period.parse(period)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from None
    with database() as (_, db), db.session() as s:
        folder = out_dir / f"{slug(org)}-{span.label}"
        files = write_report(s, org, span, folder, SystemClock().now())
    for path in (files.markdown, files.csv, *files.charts):
        out.print(str(path))
