"""``bihuan validate`` and ``bihuan deploy``: check and deploy a bundle of process files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import CLI_ACTOR, Group, out, settings_from_env, styled
from engine.errors import BihuanError

app = Group()


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
def validate(
    files: Annotated[list[Path], typer.Argument(help="BPMN, DMN and form files (or folders)")],
) -> None:
    """Check a bundle; exit 0 if it is deployable, else 1 with every problem."""
    from engine.bootstrap import build_sandbox
    from engine.clock import SystemClock
    from engine.runtime import files_from_paths
    from engine.runtime import validate as check

    bundle = files_from_paths(_bundle_paths(files))
    warnings = check(bundle, build_sandbox(settings_from_env()), now=SystemClock().now())
    for warning in warnings:
        out.print(f"warning: {warning}", markup=False)
    out.print(styled("ok:", "green", f"{len(bundle)} file(s) are deployable"))


@app.command()
def deploy(
    files: Annotated[list[Path], typer.Argument(help="BPMN, DMN and form files (or folders)")],
) -> None:
    """Deploy a bundle as new definition versions (the same content twice is the same version)."""
    from engine.bootstrap import build_engine
    from engine.runtime import files_from_paths

    engine = build_engine(settings_from_env())
    versions = engine.deploy(files_from_paths(_bundle_paths(files)), CLI_ACTOR)
    table = Table("process", "version", "status", "hash")
    for v in versions:
        table.add_row(v.process_id, str(v.version), "new" if v.created else "unchanged",
                      v.content_hash[:12])  # fmt: skip
    out.print(table)
    for warning in versions[0].warnings if versions else []:
        out.print(f"warning: {warning}", markup=False)
