"""Saved instances of every released state format keep loading and advancing.

Each fixture in tests/fixtures/saved/ holds an instance's state as a release stored it, with the
serializer and SpiffWorkflow versions. Add one whenever the format changes; never delete one.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.runtime import definitions as defs
from engine.storage.database import Database
from engine.storage.models import Case, Instance
from tests.engine.support import DESIGNER, bundle, do, instance, only_task

SAVED = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "saved").glob("*.json"))


def test_there_is_a_fixture_for_the_current_format() -> None:
    from engine.spiff import SERIALIZER_VERSION

    versions = {json.loads(p.read_text())["serializer_version"] for p in SAVED}
    assert SERIALIZER_VERSION in versions


@pytest.mark.parametrize("path", SAVED, ids=[p.stem for p in SAVED])
def test_saved_instance_loads_and_advances(path: Path, db: Database, clock: ManualClock) -> None:
    saved = json.loads(path.read_text())
    engine = Engine(db, clock=clock)
    engine.deploy(bundle(*saved["bundle"]), DESIGNER)
    with db.session() as s:
        definition = defs.latest(s, saved["process_id"])
        inst = Instance(
            id=str(uuid.uuid4()),
            definition_id=definition.id,
            process_id=definition.process_id,
            business_key="SAVED-1",
            status="running",
            state=saved["state"],
            serializer_version=saved["serializer_version"],
            spiff_version=saved["spiff_version"],
            data={},
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        s.add(inst)
        s.flush()
        s.add(Case(case_no="SAVED-1", instance_id=inst.id, process_id=definition.process_id,
                   status="IN_PROGRESS", reported_at=clock.now(), updated_at=clock.now()))  # fmt: skip
    engine.fire_due_timers(inst.id)  # a no-op command: loads, re-projects, saves
    for element_id, data in saved["drive"]:
        do(engine, only_task(db, "SAVED-1", element_id), data)
    assert instance(db, "SAVED-1").status == saved["expect_status"]
