"""The routing decision table (``dispute_routing.dmn``): the expected tier for each kind of
case, exactly one rule for every combination the forms allow, and Chinese labels. The table runs
in the engine's sandbox through a one-task probe process."""

from __future__ import annotations

from functools import cache
from itertools import product
from typing import Any

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.dmn.specs.model import HitPolicy
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.clock import ManualClock
from tests.processes.support import PROCESSES, START, form_codes, script_engine, xml

ROUTING_CASES: list[tuple[str, ...]] = [
    # severity, category, difficulty (urgency normal unless "urgent" is appended) → tier
    ("red", "neighbourhood", "simple", "county"),
    ("red", "labour", "complex", "county"),
    ("blue", "land_acquisition", "simple", "county"),
    ("yellow", "environment", "complex", "county"),
    ("yellow", "family", "difficult", "county"),
    ("blue", "debt", "difficult", "county"),
    ("yellow", "family", "simple", "township"),
    ("yellow", "debt", "complex", "township"),
    ("blue", "labour", "simple", "township"),
    ("blue", "property_mgmt", "complex", "township"),
    ("blue", "debt", "complex", "township"),
    ("blue", "family", "complex", "township"),
    ("blue", "neighbourhood", "simple", "grid"),
    ("blue", "family", "simple", "grid"),
    ("blue", "debt", "simple", "grid"),  # 小事: simple and not urgent
    ("blue", "other", "simple", "grid"),
    ("blue", "debt", "simple", "village", "urgent"),  # 急事: decided by urgency
    ("blue", "neighbourhood", "simple", "village", "urgent"),
    ("blue", "consumer", "simple", "village", "urgent"),
    ("blue", "neighbourhood", "complex", "township", "urgent"),
    ("blue", "labour", "simple", "township", "urgent"),
    ("yellow", "family", "simple", "township", "urgent"),
    ("red", "family", "simple", "county", "urgent"),
]

ROUTE_WRAPPER = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="route_probe" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="rule"><bpmn:extensionElements>
      <spiffworkflow:calledDecisionId>dispute_routing</spiffworkflow:calledDecisionId>
    </bpmn:extensionElements><bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="rule"/>
    <bpmn:sequenceFlow id="f2" sourceRef="rule" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"""


@cache
def route_probe() -> Any:
    p = SpiffBpmnParser()
    p.add_bpmn_str(ROUTE_WRAPPER)
    p.add_dmn_files([str(PROCESSES / "dispute_routing.dmn")])
    return p.get_spec("route_probe")


def route(
    severity: str, category: str, difficulty: str, urgency: str = "normal"
) -> tuple[dict[str, Any], Any]:
    wf = BpmnWorkflow(route_probe(), script_engine=script_engine(ManualClock(START)))
    start = wf.get_tasks(state=TaskState.READY)[0]
    start.set_data(severity=severity, category=category, difficulty=difficulty, urgency=urgency)
    wf.do_engine_steps()
    assert wf.is_completed()
    return wf.last_task.data, wf


@pytest.mark.parametrize("case", ROUTING_CASES, ids=lambda c: "-".join(c))
def test_routing_table_gives_the_expected_tier(case: tuple[str, ...]) -> None:
    severity, category, difficulty, tier, *urgency = case
    data, _ = route(severity, category, difficulty, *urgency)
    assert data["tier"] == tier
    assert data["routing_rule"]


def test_routing_table_is_complete_and_its_rules_never_overlap() -> None:
    """UNIQUE in SpiffWorkflow takes the first match silently: check exactly one rule matches."""
    spec = route_probe()
    engine = spec.task_specs["rule"].dmnEngine
    table = engine.decision_table
    assert table.hit_policy == HitPolicy.UNIQUE.value
    categories = form_codes("screen.schema.json", "category")
    assert categories == form_codes("report.schema.json", "category_hint")
    for severity in form_codes("screen.schema.json", "severity"):
        for category in categories:
            for difficulty, urgency in product(
                form_codes("screen.schema.json", "difficulty"),
                form_codes("screen.schema.json", "urgency"),
            ):
                _, wf = route(severity, category, difficulty, urgency)
                task = wf.get_tasks(spec_name="rule")[0]
                table.hit_policy = HitPolicy.COLLECT.value
                try:
                    matched = engine.decide(task)
                finally:
                    table.hit_policy = HitPolicy.UNIQUE.value
                assert len(matched) == 1, (severity, category, difficulty, urgency, len(matched))


def test_dmn_labels_are_chinese() -> None:
    root = xml(PROCESSES / "dispute_routing.dmn")
    labels = [el.get("label") for el in root.iter() if isinstance(el.tag, str) and el.get("label")]
    assert labels and all(any(ord(c) > 0x2E7F for c in label) for label in labels)
