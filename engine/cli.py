"""The ``bihuan`` command line. Errors are printed as messages, never as tracebacks."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from engine.audit import Actor
from engine.calendar_admin.cli import make_calendar_app
from engine.errors import BihuanError, ValidationFailed
from engine.settings import Settings

app = typer.Typer(help="bihuan (闭环): a workflow engine for closing the loop on disputes.")
db_app = typer.Typer(help="Database commands.")
users_app = typer.Typer(help="Users and roles.")
deadlines_app = typer.Typer(help="Deadlines (办理时限) and the working-day calendar.")
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(deadlines_app, name="deadlines")


def _register_audit_commands() -> None:
    from engine.audit_cli import audit_app, report

    app.add_typer(audit_app, name="audit")
    app.command("report")(report)


def _register_kpi_commands() -> None:
    from engine.kpi.cli import kpi_app

    app.add_typer(kpi_app, name="kpi")


out = Console()
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])
CLI_ACTOR = Actor("cli", "admin", None)


def friendly(func: F) -> F:
    """Turn engine errors into a message and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ValidationFailed as exc:
            err.print(f"[red]refused:[/red] {len(exc.problems)} problem(s)")
            for p in exc.problems:
                err.print(f"  {p}", markup=False, highlight=False)
            raise typer.Exit(1) from None
        except BihuanError as exc:
            err.print(f"[red]error ({exc.code}):[/red] {exc.message}", highlight=False)
            raise typer.Exit(1) from None
        except OSError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except Exception as exc:
            err.print(f"[red]internal error:[/red] {type(exc).__name__}: {exc}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def settings_from_env() -> Settings:
    """Settings from the ``BIHUAN_*`` environment (built per command: no module-level state)."""
    return Settings()


def _bundle_paths(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(q for q in p.iterdir() if q.suffix in (".bpmn", ".dmn", ".json")))
        elif not p.exists():
            raise BihuanError(f"no such file: {p}")
        else:
            files.append(p)
    return files


@app.command()
@friendly
def validate(
    files: Annotated[list[Path], typer.Argument(help="BPMN, DMN and form files (or folders)")],
) -> None:
    """Check a bundle; exit 0 if it is deployable, else 1 with every problem."""
    from engine.bootstrap import build_sandbox
    from engine.definitions import files_from_paths
    from engine.definitions import validate as check

    bundle = files_from_paths(_bundle_paths(files))
    check(bundle, build_sandbox(settings_from_env()))
    out.print(f"[green]ok:[/green] {len(bundle)} file(s) are deployable")


@app.command()
@friendly
def deploy(
    files: Annotated[list[Path], typer.Argument(help="BPMN, DMN and form files (or folders)")],
) -> None:
    """Deploy a bundle as new definition versions (the same content twice is the same version)."""
    from engine.bootstrap import build_engine
    from engine.definitions import files_from_paths

    engine = build_engine(settings_from_env())
    versions = engine.deploy(files_from_paths(_bundle_paths(files)), CLI_ACTOR)
    table = Table("process", "version", "status", "hash")
    for v in versions:
        table.add_row(v.process_id, str(v.version), "new" if v.created else "unchanged",
                      v.content_hash[:12])  # fmt: skip
    out.print(table)


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Migrate the database to the newest schema."""
    from engine.storage.database import Database
    from engine.storage.migrate import upgrade

    settings = settings_from_env()
    db = Database(settings.database_url)
    with out.status("migrating…"):
        upgrade(db)
    out.print(f"[green]database at head[/green] ({_redact(settings.database_url)})")


@app.command()
@friendly
def demo() -> None:
    """Seed demo organisations, users, the shipped processes and demo cases."""
    from engine.demo import seed_demo

    seed_demo(settings_from_env(), out)


@users_app.command("list")
@friendly
def users_list() -> None:
    """Print users with their roles and units."""
    from sqlalchemy import select

    from engine.storage.database import Database
    from engine.storage.models import OrgUnit, User, UserRole

    db = Database(settings_from_env().database_url)
    table = Table("user", "name", "role", "unit")
    with db.session() as s:
        rows = s.execute(
            select(User.id, User.display_name, UserRole.role, OrgUnit.name)
            .join(UserRole, UserRole.user_id == User.id)
            .join(OrgUnit, OrgUnit.id == UserRole.org_id)
            .order_by(User.id)
        ).all()
    for user_id, name, role, unit in rows:
        table.add_row(user_id, name, role, unit)
    out.print(table)


@deadlines_app.command("recompute")
@friendly
def deadlines_recompute(
    all_deadlines: Annotated[
        bool, typer.Option("--all", help="recompute every open deadline, not only low-confidence")
    ] = False,
) -> None:
    """Recompute open deadlines after the holiday schedule changed (e.g. next year loaded)."""
    from engine.bootstrap import build_calendar
    from engine.storage.database import Database
    from engine.supervision import build_supervision

    settings = settings_from_env()
    calendar = build_calendar(settings)
    out.print(f"calendar: {calendar.coverage_text()}")
    service = build_supervision(
        settings, Database(settings.database_url), calendar=calendar,
        policy_path=settings.deadlines_file,
    )  # fmt: skip
    with out.status("recomputing…"):
        changed = service.recompute_deadlines(only_low_confidence=not all_deadlines)
    out.print(f"[green]{changed} deadline(s) changed[/green]")


@app.command()
@friendly
def scheduler() -> None:
    """Run the scheduler alone (any number may run against one PostgreSQL database)."""
    from engine.scheduler import run_scheduler

    run_scheduler(settings_from_env())


def _redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


_register_audit_commands()
_register_kpi_commands()
app.add_typer(make_calendar_app(), name="calendar")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
