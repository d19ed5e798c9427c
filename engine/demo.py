"""Demo data: the demo county's organisations and users, the shipped processes, and cases.

``bihuan demo`` is idempotent: organisations are upserted, the same process content is the same
version, and demo cases are created only once. Every demo user's password is ``demo``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import func, select

from engine.audit import Actor
from engine.bootstrap import build_engine
from engine.definitions import files_from_paths
from engine.orgs import argon2_hasher, load_organisations
from engine.settings import Settings
from engine.storage.models import Case

DEMO_PASSWORD = "demo"
REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")

DEMO_REPORTS: list[dict[str, Any]] = [
    {
        "title": "邻里噪音纠纷",
        "description": "楼上住户夜间装修噪音扰民，双方多次争吵。",
        "source_channel": "grid_patrol",
        "grid_code": "qs-dc-hp-01",
        "parties": [{"name": "张某", "role": "applicant"}, {"name": "李某", "role": "respondent"}],
        "category_hint": "neighbourhood",
    },
    {
        "title": "农民工欠薪纠纷",
        "description": "某工地拖欠十二名农民工工资约三十万元，工人聚集讨薪。",
        "source_channel": "hotline_12345",
        "grid_code": "qs-xh-sq-01",
        "parties": [
            {"name": "王某等12人", "role": "applicant"},
            {"name": "某建筑公司", "role": "respondent"},
        ],
        "party_count": 12,
        "amount_involved": 300000,
        "category_hint": "labour",
        "risk_flags": ["group"],
    },
    {
        "title": "宅基地边界争议",
        "description": "两户村民因宅基地界址发生争执。",
        "source_channel": "walk_in",
        "grid_code": "qs-xh-lt-02",
        "parties": [{"name": "赵某", "role": "applicant"}, {"name": "钱某", "role": "respondent"}],
        "category_hint": "housing",
    },
    {
        "title": "物业费纠纷",
        "description": "小区业主与物业公司因收费标准发生争议。",
        "source_channel": "grid_patrol",
        "grid_code": "qs-dc-yq-02",
        "parties": [
            {"name": "业主代表孙某", "role": "applicant"},
            {"name": "某物业公司", "role": "respondent"},
        ],
        "category_hint": "property_mgmt",
    },
]


def seed_demo(settings: Settings, out: Console | None = None) -> None:
    out = out or Console()
    engine = build_engine(settings)
    db = engine.db
    with db.session() as s:
        load_organisations(
            s, settings.organisations_file, hash_password=_demo_hasher(), now=engine.clock.now
        )
    out.print(f"[green]organisations and users loaded[/green] from {settings.organisations_file}")
    paths = _bundle(settings.processes_dir, settings.forms_dir)
    versions = engine.deploy(files_from_paths(paths), Actor("system:demo", "designer", None))
    for v in versions:
        out.print(f"process {v.process_id} v{v.version} ({'new' if v.created else 'unchanged'})")
    with db.session() as s:
        existing = s.scalar(
            select(func.count()).select_from(Case).where(Case.case_no.like("DEMO-%"))
        )
    if existing:
        out.print(f"{existing} demo case(s) already present")
        return
    with Progress(console=out) as progress:
        job = progress.add_task("demo cases", total=len(DEMO_REPORTS))
        for n, report in enumerate(DEMO_REPORTS, start=1):
            engine.start("dispute", f"DEMO-2026-{n:04d}", report, REPORTER)
            progress.advance(job)
    out.print(f"[green]{len(DEMO_REPORTS)} demo cases reported[/green]")


def _bundle(processes: Path, forms: Path) -> list[Path]:
    return (
        sorted(processes.glob("*.bpmn"))
        + sorted(processes.glob("*.dmn"))
        + sorted(forms.glob("*.json"))
    )


def _demo_hasher() -> Any:
    """Argon2 is slow on purpose; hash the shared demo password once."""
    hashed = argon2_hasher()(DEMO_PASSWORD)
    real = argon2_hasher()
    return lambda password: hashed if password == DEMO_PASSWORD else real(password)
