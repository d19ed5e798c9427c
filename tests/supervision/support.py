"""A supervised engine for tests: the shipped deadline policy, the real calendar, a scheduler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine.clock import ManualClock
from engine.runtime import Engine, files_from_paths
from engine.scheduler import Scheduler
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, DueItem, Notification
from engine.supervision import Supervision
from engine.workdays import DeadlinePolicy, WorkCalendar
from tests.engine.support import ALICE, DESIGNER, only_task

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "supervised.bpmn"
TIER_STEP = "  dispute.tier_grid:\n    limits: [working_days, 1]\n\n"


def policy() -> DeadlinePolicy:
    text = (ROOT / "processes" / "deadlines.yaml").read_text(encoding="utf-8")
    if "dispute.tier_grid:" not in text:  # the shipped policy has it; older copies may not
        text = text.replace("steps:\n", "steps:\n" + TIER_STEP, 1)
    return DeadlinePolicy.parse(text, "deadlines")


@dataclass
class Rig:
    db: Database
    clock: ManualClock
    engine: Engine
    supervision: Supervision
    scheduler: Scheduler

    def start(self, case_no: str, **data: object) -> str:
        return self.engine.start(
            "dispute", case_no, {"title": "邻里噪音", "with_requests": False, **data}, ALICE
        ).id

    def do(self, case_no: str, element: str, data: dict[str, object]) -> None:
        task = only_task(self.db, case_no, element)
        self.engine.claim(task.id, ALICE)
        self.engine.complete(task.id, data, ALICE)

    def at(self, when: datetime) -> None:
        self.clock.set(when)
        self.scheduler.sweep_once()

    def case(self, case_no: str) -> Case:
        with self.db.session() as s:
            found = s.get(Case, case_no)
            assert found is not None
            return found

    def events(self, case_no: str, prefix: str = "") -> list[AuditEvent]:
        with self.db.session() as s:
            return [
                e
                for e in s.scalars(
                    select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
                )
                if e.event_type.startswith(prefix)
            ]

    def notes(self, case_no: str, kind: str = "") -> list[Notification]:
        with self.db.session() as s:
            return [
                n
                for n in s.scalars(
                    select(Notification)
                    .where(Notification.case_no == case_no)
                    .order_by(Notification.id)
                )
                if n.kind.startswith(kind)
            ]

    def pending(self, case_no: str, kind: str = "ladder") -> list[DueItem]:
        with self.db.session() as s:
            return list(
                s.scalars(
                    select(DueItem)
                    .where(
                        DueItem.case_no == case_no,
                        DueItem.kind == kind,
                        DueItem.state == "pending",
                    )
                    .order_by(DueItem.due_at)
                )
            )


def rig(db: Database, clock: ManualClock, calendar: WorkCalendar | None = None) -> Rig:
    cal = calendar or WorkCalendar.load()
    supervision = Supervision(policy(), cal, db=db, clock=clock)
    engine = Engine(db, clock=clock, listeners=[supervision])
    engine.deploy(files_from_paths([FIXTURE, FIXTURE.with_name("any.schema.json")]), DESIGNER)
    scheduler = Scheduler(
        db, engine=engine, clock=clock, owner="sweeper", handlers=supervision.due_handlers()
    )
    return Rig(db, clock, engine, supervision, scheduler)
