"""A BPMN timer date written without an offset is Beijing time, whatever the host's zone.

SpiffWorkflow reads such a date in the zone the host had when it was imported; the engine pins it
to Beijing time, for the timer's own check and for the due row the sweep fires, so the two agree.
Run under ``TZ=UTC`` or ``TZ=America/Los_Angeles`` (``make test-zones``) this fails if either
falls back to the host's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from engine.clock import ManualClock
from engine.runtime import Engine
from engine.scheduler import Scheduler
from engine.spiff import BundleFile
from engine.storage.database import Database
from engine.storage.models import DueItem
from tests.engine.support import ALICE, DESIGNER, bundle, instance

pytestmark = pytest.mark.clock

NAIVE_TIMER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
  targetNamespace="http://bihuan.example/test">
  <bpmn:process id="noon" name="Noon" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait"/>
    <bpmn:intermediateCatchEvent id="wait" name="Beijing noon">
      <bpmn:timerEventDefinition>
        <bpmn:timeDate>"2026-03-02T12:00:00"</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="mark"/>
    <bpmn:scriptTask id="mark" name="mark"><bpmn:script>woke = True</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f3" sourceRef="mark" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

NOON_BEIJING = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)


def test_a_timer_date_without_offset_fires_at_that_time_in_beijing(db: Database) -> None:
    clock = ManualClock(NOON_BEIJING - timedelta(hours=3))  # 09:00 in Beijing
    engine = Engine(db, clock=clock)
    engine.deploy([BundleFile("noon.bpmn", NAIVE_TIMER), *bundle()], DESIGNER)
    engine.start("noon", "Z-1", {}, ALICE)
    with db.session() as s:
        (item,) = s.scalars(select(DueItem).where(DueItem.case_no == "Z-1")).all()
        assert item.kind == "bpmn_timer"
        due = item.due_at if item.due_at.tzinfo else item.due_at.replace(tzinfo=UTC)
    assert due == NOON_BEIJING
    sweep = Scheduler(db, engine=engine, clock=clock, owner="s1")
    clock.set(NOON_BEIJING - timedelta(seconds=1))
    assert sweep.sweep_once().fired == 0
    assert instance(db, "Z-1").data.get("woke") is None
    clock.set(NOON_BEIJING + timedelta(seconds=1))
    assert sweep.sweep_once().fired == 1
    assert instance(db, "Z-1").data.get("woke") is True
