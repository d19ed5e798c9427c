"""Demo data: the demo county's organisations and users, the shipped processes, and cases.

``bihuan demo`` is idempotent: organisations are upserted, the same process content is the same
version, and each demo case is created only once (a case already present is left alone). The
cases are driven with :mod:`demo.scenarios` into different states, so that every demo user's
inbox has something in it: ``town01`` (a case to screen is town02's; town01 dispatches an escalated
case), ``village01`` (a review), ``grid01`` (handling), ``county01`` (a 挂账 approval),
``leader01`` (a red case's 稳控措施) and ``revisit01`` (a revisit). Every demo user's password is
``demo``.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from rich.text import Text
from sqlalchemy import select

from demo import scenarios as sc
from engine.audit import SYSTEM, Actor
from engine.bootstrap import build_engine
from engine.clock import Clock, in_china
from engine.errors import CalendarDataMissing
from engine.orgs import argon2_hasher, load_organisations
from engine.runtime import files_from_paths
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import Case
from engine.supervision import open_for_day
from engine.workdays import WorkCalendar

DEMO_PASSWORD = "demo"
REPORTER = Actor("grid01", "grid_worker", "qs-dc-hp-01")


@dataclass(frozen=True)
class DemoCase:
    """One demo case: its report and the canned steps that bring it to its state."""

    case_no: str
    state: str  # what the demo shows (for the console and the test)
    report: dict[str, Any]
    steps: Callable[[datetime], list[sc.Step]]
    #: messages delivered after the steps: (name, payload, steps after it)
    messages: tuple[tuple[str, dict[str, Any], tuple[sc.Step, ...]], ...] = ()


#: Each demo case's parties and place (fictional people; points about a small town, WGS-84), so
#: the case pages show a place and no two demo cases look like the same matter (疑似重复).
_PEOPLE = itertools.cycle(
    [("张某", "李某"), ("王某", "赵某"), ("陈某", "刘某"), ("周某", "某劳务公司"), ("吴某", "郑某"),
     ("孙某", "某物业公司"), ("钱某", "冯某"), ("褚某", "卫某")]
)  # fmt: skip
_PLACES = itertools.cycle(
    [(30.27408, 120.15507, "和平社区 3 号楼"), (30.27521, 120.15311, "和平社区 7 号楼楼道"),
     (30.26873, 120.16122, "永庆村 5 组"), (30.25912, 120.17405, "西河社区 工地"),
     (30.26240, 120.16877, "李庄村 东头"), (30.27366, 120.15650, "和平社区 物业中心"),
     (30.27450, 120.15588, "和平社区 地下车库"), (30.27301, 120.15402, "和平社区 12 号楼")]
)  # fmt: skip


def _report(title: str, grid: str, category: str, **extra: Any) -> dict[str, Any]:
    applicant, respondent = next(_PEOPLE)
    lat, lng, address = next(_PLACES)
    return {
        "title": title,
        "description": f"{title}：当事人多次协商未果，请求调处。",
        "source_channel": "grid_patrol",
        "grid_code": grid,
        "location": address,
        "geo": {"lat": lat, "lng": lng},
        "parties": [
            {"name": applicant, "role": "applicant"},
            {"name": respondent, "role": "respondent"},
        ],
        "category_hint": category,
        **extra,
    }


def _escalated(now: datetime) -> list[sc.Step]:
    steps: list[sc.Step] = [sc.screen()]
    for unit in ("qs-dc-yq-01", "qs-dc-yq"):
        steps += [*sc.handling(unit, now)[:-1], sc.feedback(False), sc.review("escalate")]
    return [*steps, *sc.escalated_leader(now, "leader02")]  # the township's 包案领导 planned


DEMO_CASES: list[DemoCase] = [
    DemoCase(
        "DEMO-2026-0001",
        "closed after a satisfied revisit (resolved at the grid)",
        _report("邻里噪音纠纷", "qs-dc-hp-01", "neighbourhood"),
        lambda now: sc.main_path(now, "qs-dc-hp-01"),
    ),
    DemoCase(
        "DEMO-2026-0002",
        "closed with the rating excluded (诉求不合理)",
        _report("楼道堆物纠纷", "qs-dc-hp-02", "neighbourhood"),
        lambda now: [
            sc.screen(),
            *sc.handling("qs-dc-hp-02", now),
            sc.review(),
            sc.revisit(now, 1),
            sc.dissatisfaction("close_excluded"),
        ],
    ),
    DemoCase(
        "DEMO-2026-0003",
        "escalated grid → village → township, waiting for the township to dispatch",
        _report("家庭赡养纠纷", "qs-dc-yq-01", "family"),
        _escalated,
    ),
    DemoCase(
        "DEMO-2026-0004",
        "red case at the county, waiting for its case leader's 稳控措施 and 化解方案 (in parallel)",
        _report(
            "农民工欠薪纠纷",
            "qs-xh-sq-01",
            "labour",
            source_channel="hotline_12345",
            party_count=12,
            amount_involved=300000,
            risk_flags=["group"],
        ),
        lambda now: [sc.screen_red("leader01")],
    ),
    DemoCase(
        "DEMO-2026-0005",
        "reported, waiting for screening",
        _report("宅基地边界争议", "qs-xh-lt-02", "housing", source_channel="walk_in"),
        lambda now: [],
    ),
    DemoCase(
        "DEMO-2026-0006",
        "extended (延期 approved), a 挂账 request waiting for approval, handling open",
        _report("物业费纠纷", "qs-dc-hp-01", "neighbourhood"),
        lambda now: [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]],
        (
            (
                "extension_request",
                {"requested_days": 5, "reason": "当事人外出务工。"},
                (sc.approve_extension(True, 5),),
            ),
            ("hang_request", {"requested_days": 90, "reason": "待法院判决。"}, ()),
        ),
    ),
    DemoCase(
        "DEMO-2026-0007",
        "handled at the grid, waiting for the revisit",
        _report("车位占用纠纷", "qs-dc-hp-01", "neighbourhood"),
        lambda now: [sc.screen(), *sc.handling("qs-dc-hp-01", now), sc.review()],
    ),
    DemoCase(
        "DEMO-2026-0008",
        "handled at the grid, waiting for the village's review",
        _report("宠物扰民纠纷", "qs-dc-hp-01", "neighbourhood"),
        lambda now: [sc.screen(), *sc.handling("qs-dc-hp-01", now)],
    ),
]


def seed_demo(
    settings: Settings, out: Console | None = None, *, clock: Clock | None = None
) -> None:
    out = out or Console(markup=False, emoji=False, highlight=False)
    engine = build_engine(settings, clock=clock)
    db = engine.db
    with db.session() as s:
        load_organisations(
            s, settings.organisations_file, hash_password=_demo_hasher(), now=engine.clock.now
        )
    out.print(Text.assemble(("organisations and users loaded", "green"),
                           f" from {settings.organisations_file}"))  # fmt: skip
    paths = _bundle(settings.processes_dir, settings.forms_dir)
    versions = engine.deploy(files_from_paths(paths), Actor("system:demo", "designer", None))
    for v in versions:
        out.print(f"process {v.process_id} v{v.version} ({'new' if v.created else 'unchanged'})")
    _open_zero_reports(settings, engine.clock.now(), db, out)
    with db.session() as s:
        existing = set(s.scalars(select(Case.case_no).where(Case.case_no.like("DEMO-%"))))
    todo = [c for c in DEMO_CASES if c.case_no not in existing]
    if existing:
        out.print(f"{len(existing)} demo case(s) already present")
    if not todo:
        engine.db.dispose()
        return
    driver = sc.Driver(engine)
    with Progress(console=out) as progress:
        job = progress.add_task("demo cases", total=len(todo))
        for demo in todo:
            _seed(driver, demo)
            progress.advance(job)
    for demo in todo:
        out.print(f"  {demo.case_no}: {demo.state}")
    out.print(Text(f"{len(todo)} demo case(s) created", style="green"))
    engine.db.dispose()


def _open_zero_reports(settings: Settings, now: datetime, db: Database, out: Console) -> None:
    """Today's 零报告 for each grid worker, as the 07:00 job would have opened them (a demo
    started later in the day would otherwise show none until tomorrow). Only on a working day."""
    calendar = WorkCalendar.load(
        settings.calendar_override_file, missing_year_policy=settings.missing_year_policy
    )
    day = in_china(now).date()
    try:
        working = calendar.is_workday(day)
    except CalendarDataMissing:
        return
    if working:
        with db.session() as s:
            opened = open_for_day(s, day, now)
        out.print(f"零报告 opened for {day}: {opened} grid worker(s)")


def _seed(driver: sc.Driver, demo: DemoCase) -> None:
    """Start the case and drive it to its state; a half-seeded case is cancelled, not kept."""
    engine = driver.engine
    instance = engine.start("dispute", demo.case_no, demo.report, REPORTER)
    try:
        now = engine.clock.now()
        driver.run_all(demo.case_no, demo.steps(now))
        for name, payload, then in demo.messages:
            driver.message(demo.case_no, name, payload, REPORTER)
            driver.run_all(demo.case_no, list(then))
    except Exception:
        engine.cancel(instance.id, "示范数据生成失败 (demo seeding failed)", SYSTEM)
        raise


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
