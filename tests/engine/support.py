"""Helpers for engine tests: deploy fixture bundles, find open tasks, reload engines."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.runtime import Engine, files_from_paths
from engine.spiff import BundleFile
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, HumanTask, Instance

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FORMS = ["handle.schema.json", "check.schema.json", "handle.uischema.json"]
ALICE = Actor("alice", "handler", "org-a")
BOB = Actor("bob", "handler", "org-a")
DESIGNER = Actor("dora", "designer", None)


def bundle(*bpmn: str) -> list[BundleFile]:
    paths = [FIXTURES / "bpmn" / name for name in bpmn] + [FIXTURES / "forms" / f for f in FORMS]
    return files_from_paths(paths)


def open_tasks(db: Database, case_no: str) -> list[HumanTask]:
    with db.session() as s:
        return list(
            s.scalars(
                select(HumanTask)
                .where(HumanTask.case_no == case_no, HumanTask.state.in_(["open", "claimed"]))
                .order_by(HumanTask.element_id)
            )
        )


def only_task(db: Database, case_no: str, element_id: str | None = None) -> HumanTask:
    tasks = [t for t in open_tasks(db, case_no) if element_id in (None, t.element_id)]
    assert len(tasks) == 1, [t.element_id for t in tasks]
    return tasks[0]


def case(db: Database, case_no: str) -> Case:
    with db.session() as s:
        found = s.get(Case, case_no)
        assert found is not None
        return found


def instance(db: Database, case_no: str) -> Instance:
    with db.session() as s:
        return s.scalars(select(Instance).where(Instance.business_key == case_no)).one()


def events(db: Database, case_no: str) -> list[AuditEvent]:
    with db.session() as s:
        return list(
            s.scalars(
                select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
            )
        )


def event_types(db: Database, case_no: str) -> list[str]:
    return [e.event_type for e in events(db, case_no)]


def do(engine: Engine, task: HumanTask, data: dict[str, object], actor: Actor = ALICE) -> None:
    engine.claim(task.id, actor)
    engine.complete(task.id, data, actor)


def fresh_engine(db_url: str, clock: ManualClock) -> Engine:
    """A new engine on the same database: nothing cached, as after a restart."""
    return Engine(Database(db_url, pooled=False), clock=clock)
