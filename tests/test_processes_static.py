"""The shipped processes, decisions and forms: they parse, they are consistent, they are drawn
legibly, and they run.

Static checks read ``processes/*.bpmn``, ``processes/*.dmn`` and ``forms/*.json`` directly. The
drives at the end run the dispute process with raw SpiffWorkflow (the helper functions the engine
offers are supplied as plain Python) through every main path, validating each submitted form
against its JSON Schema and resolving each human task's lane with ``engine.orgs.LaneResolver``.
They prove the model executable; the full scenarios through the engine live elsewhere.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from engine.candidates import Candidate
from engine.orgs import LaneConfig, LaneResolver, OrgTree

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
DMN_FILES = sorted(PROCESSES.glob("*.dmn"))
FORM_FILES = sorted(FORMS.glob("*.json"))

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "callActivity",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "boundaryEvent", "subProcess",
    "intermediateCatchEvent", "intermediateThrowEvent", "manualTask", "task",
}  # fmt: skip
CHINA = timezone(timedelta(hours=8))


# ============================================================================ parsing


def test_the_shipped_files_exist() -> None:
    names = {p.name for p in BPMN_FILES + DMN_FILES}
    assert {"dispute.bpmn", "whistle.bpmn", "dispute_routing.dmn"} <= names


@cache
def parser() -> SpiffBpmnParser:
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_bpmn_files([str(f) for f in BPMN_FILES])
    p.add_dmn_files([str(f) for f in DMN_FILES])
    return p


def test_every_process_parses_with_the_schema_validator() -> None:
    p = parser()
    ids = set(p.get_process_ids())
    assert {"dispute", "whistle"} <= ids
    for pid in ids:
        spec = p.get_spec(pid)
        assert spec.task_specs
        p.get_subprocess_specs(pid)


def _xml(path: Path) -> Any:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def _props(node: Any) -> dict[str, str]:
    return {
        p.get("name"): p.get("value")
        for p in node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
            namespaces=NS,
        )
    }


def _user_tasks() -> Iterator[tuple[str, Any]]:
    for path in BPMN_FILES:
        for node in _xml(path).iter(f"{{{NS['bpmn']}}}userTask"):
            yield path.name, node


def test_no_element_uses_a_reserved_id() -> None:
    for path in BPMN_FILES:
        ids = {el.get("id") for el in _xml(path).iter() if isinstance(el.tag, str)}
        assert not ids & {"Start", "End", "Root"}, path.name


def test_every_user_task_has_a_form_a_ui_schema_and_a_status() -> None:
    seen = 0
    for filename, node in _user_tasks():
        props = _props(node)
        where = f"{filename}:{node.get('id')}"
        form = props.get("formJsonSchemaFilename")
        ui = props.get("formUiSchemaFilename")
        assert form and (FORMS / form).is_file(), f"{where}: form {form!r} missing"
        assert ui and (FORMS / ui).is_file(), f"{where}: UI schema {ui!r} missing"
        assert form.removesuffix(".schema.json") == ui.removesuffix(".uischema.json"), where
        if "priority" in props:
            int(props["priority"])
        in_event_subprocess = node.getparent().get("triggeredByEvent") == "true"
        if not in_event_subprocess:  # approvals beside the main path change no state
            assert props.get("caseStatus") and props.get("deadline"), where
        seen += 1
    assert seen >= 19


def test_the_start_event_names_the_report_form() -> None:
    root = _xml(PROCESSES / "dispute.bpmn")
    (start,) = root.xpath("//bpmn:process/bpmn:startEvent", namespaces=NS)
    assert start.get("id") == "start_report"
    assert _props(start)["formJsonSchemaFilename"] == "report.schema.json"


def test_deadline_keys_are_in_the_policy_file() -> None:
    policy = yaml.safe_load((PROCESSES / "deadlines.yaml").read_text(encoding="utf-8"))
    steps = set(policy["steps"])
    for filename, node in _user_tasks():
        key = _props(node).get("deadline")
        if key is not None:
            assert key in steps, f"{filename}:{node.get('id')}: deadline {key!r} not in policy"


def test_case_status_values_are_domain_states() -> None:
    states = {
        "REPORTED", "SCREENING", "REGISTERED", "DISPATCHED", "SIGNED", "RETURN_REQUESTED",
        "IN_PROGRESS", "SUSPENDED", "FEEDBACK", "VERIFYING", "REVISIT",
    }  # fmt: skip
    for path in BPMN_FILES:
        for node in _xml(path).iter():
            if isinstance(node.tag, str) and (status := _props(node).get("caseStatus")):
                assert status in states, f"{path.name}:{node.get('id')}: {status}"


def test_every_lane_is_mapped_in_lanes_yaml() -> None:
    config = LaneConfig.load(PROCESSES / "lanes.yaml")
    for path in BPMN_FILES:
        for lane in _xml(path).iter(f"{{{NS['bpmn']}}}lane"):
            assert lane.get("name") in config.lanes, f"{path.name}: lane {lane.get('name')!r}"


# ============================================================================ forms


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", [p for p in FORM_FILES if p.name.endswith(".schema.json")],
                         ids=lambda p: p.name)  # fmt: skip
def test_every_form_is_a_valid_closed_json_schema(path: Path) -> None:
    schema = _load(path)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert schema["required"], "every form requires something"
    assert set(schema["required"]) <= set(schema["properties"])
    for cond in schema.get("allOf", []):
        assert set(cond["then"]["required"]) <= set(schema["properties"]), path.name
    for name, prop in schema["properties"].items():
        assert name.isascii() and name == name.lower(), f"{path.name}: {name} is not snake_case"
        assert prop.get("title"), f"{path.name}: {name} has no title"
    ui = FORMS / path.name.replace(".schema.json", ".uischema.json")
    assert ui.is_file()
    order = _load(ui).get("ui:order")
    assert order is not None and set(order) == set(schema["properties"]), ui.name
    for key in _load(ui):
        assert key.startswith("ui:") or key in schema["properties"], f"{ui.name}: {key}"


def test_every_form_is_used_by_a_task() -> None:
    used = {"report.schema.json"}
    for _, node in _user_tasks():
        used.add(_props(node)["formJsonSchemaFilename"])
    shipped = {p.name for p in FORM_FILES if p.name.endswith(".schema.json")}
    assert shipped == used


def test_coded_fields_carry_chinese_labels() -> None:
    schema = _load(FORMS / "screen.schema.json")
    severity = {o["const"]: o["title"] for o in schema["properties"]["severity"]["oneOf"]}
    assert set(severity) == {"red", "yellow", "blue"}
    assert severity["red"].startswith("红")
    revisit = _load(FORMS / "revisit.schema.json")
    levels = {o["const"]: o["title"] for o in revisit["properties"]["satisfaction"]["oneOf"]}
    assert levels == {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    sign = _load(FORMS / "sign.schema.json")
    reasons = [o["title"] for o in sign["properties"]["return_reason"]["oneOf"]]
    assert reasons == ["职能不符", "属地不符", "权属不清", "其他"]


def _validator(form: str) -> Draft202012Validator:
    return Draft202012Validator(
        _load(FORMS / form), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _errors(form: str, data: dict[str, Any]) -> list[str]:
    return sorted(e.message for e in _validator(form).iter_errors(data))


def test_red_cases_require_a_case_leader_at_screening() -> None:
    base = {
        "screen_outcome": "register",
        "screen_opinion": "属实",
        "category": "labour",
        "severity": "red",
        "difficulty": "complex",
    }
    assert "'case_leader' is a required property" in _errors("screen.schema.json", base)
    ok = {**base, "case_leader": "leader01", "red_criteria": ["group"]}
    assert _errors("screen.schema.json", ok) == []
    assert _errors("screen.schema.json", {**base, "severity": "blue"}) == []
    assert _errors("leader_plan.schema.json", {}) == [
        "'plan_target_date' is a required property",
        "'resolution_plan' is a required property",
    ]
    assert "'stabilization_measures' is a required property" in _errors(
        "leader_stabilize.schema.json", {"stabilized": True}
    )


def test_conditional_requirements() -> None:
    assert _errors("sign.schema.json", {"sign_decision": "return"}) == [
        "'return_basis' is a required property",
        "'return_reason' is a required property",
    ]
    assert _errors("screen.schema.json", {"screen_outcome": "merge", "screen_opinion": "同事"}) == [
        "'master_case_no' is a required property"
    ]
    revisit = {"contact_result": "reached", "revisit_method": "phone", "revisit_at": _now()}
    assert _errors("revisit.schema.json", {**revisit, "satisfaction": 1, "problem_solved": False})
    assert not _errors("revisit.schema.json", {**revisit, "contact_result": "unreachable"})
    assert _errors("screen.schema.json", {"screen_outcome": "register", "extra": 1})


# ============================================================================ diagram


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, o: Rect) -> bool:
        return not (
            self.x + self.w <= o.x
            or o.x + o.w <= self.x
            or self.y + self.h <= o.y
            or o.y + o.h <= self.y
        )

    def contains(self, o: Rect) -> bool:
        return (
            self.x <= o.x
            and self.y <= o.y
            and o.x + o.w <= self.x + self.w
            and o.y + o.h <= self.y + self.h
        )


def _shapes(root: Any) -> dict[str, Rect]:
    out = {}
    for shape in root.iter(f"{{{NS['bpmndi']}}}BPMNShape"):
        (b,) = shape.xpath("./dc:Bounds", namespaces=NS)
        out[shape.get("bpmnElement")] = Rect(
            *(float(b.get(k)) for k in ("x", "y", "width", "height"))
        )
    return out


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_every_element_is_drawn(path: Path) -> None:
    root = _xml(path)
    shapes = _shapes(root)
    edges = {
        e.get("bpmnElement"): e.xpath("./di:waypoint", namespaces=NS)
        for e in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge")
    }
    for el in root.iter():
        if not isinstance(el.tag, str) or etree.QName(el).namespace != NS["bpmn"]:
            continue
        tag = etree.QName(el).localname
        if tag in FLOW_NODE_TAGS or tag in ("participant", "lane"):
            assert el.get("id") in shapes, f"{path.name}: {tag} {el.get('id')} has no shape"
        if tag == "sequenceFlow":
            assert len(edges.get(el.get("id"), [])) >= 2, f"{path.name}: {el.get('id')} not drawn"
    (plane,) = root.xpath("//bpmndi:BPMNPlane", namespaces=NS)
    assert plane.get("bpmnElement") in {
        c.get("id") for c in root.xpath("//bpmn:collaboration", namespaces=NS)
    }


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_no_two_shapes_overlap_and_lanes_hold_their_elements(path: Path) -> None:
    root = _xml(path)
    shapes = _shapes(root)
    containers = {l.get("id") for l in root.iter(f"{{{NS['bpmn']}}}lane")}  # noqa: E741
    containers |= {p.get("id") for p in root.iter(f"{{{NS['bpmn']}}}participant")}
    parent: dict[str, str] = {}
    for sp in root.iter(f"{{{NS['bpmn']}}}subProcess"):
        for child in sp:
            if isinstance(child.tag, str) and child.get("id"):
                parent[child.get("id")] = sp.get("id")
    attached = {
        b.get("id"): b.get("attachedToRef") for b in root.iter(f"{{{NS['bpmn']}}}boundaryEvent")
    }
    nodes = [k for k in shapes if k not in containers]
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            if b in (attached.get(a), parent.get(a)) or a in (attached.get(b), parent.get(b)):
                continue  # a boundary event on its host, a child inside its sub-process
            assert not shapes[a].overlaps(shapes[b]), f"{path.name}: {a} overlaps {b}"
    for sp_child, sp in parent.items():
        if sp_child in shapes:
            assert shapes[sp].contains(shapes[sp_child]), f"{path.name}: {sp_child} outside {sp}"
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            assert shapes[lane.get("id")].contains(shapes[ref.text]), (
                f"{path.name}: {ref.text} sticks out of lane {lane.get('name')}"
            )
    pools = [shapes[p.get("id")] for p in root.iter(f"{{{NS['bpmn']}}}participant")]
    for lane in root.iter(f"{{{NS['bpmn']}}}lane"):
        assert any(p.contains(shapes[lane.get("id")]) for p in pools)


@pytest.mark.parametrize("path", BPMN_FILES, ids=lambda p: p.name)
def test_edges_are_orthogonal_and_touch_their_shapes(path: Path) -> None:
    root = _xml(path)
    shapes = _shapes(root)
    flows = {f.get("id"): f for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")}
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        pts = [
            (float(w.get("x")), float(w.get("y")))
            for w in edge.xpath("./di:waypoint", namespaces=NS)
        ]
        for (ax, ay), (bx, by) in pairwise(pts):
            assert ax == bx or ay == by, f"{path.name}: {edge.get('bpmnElement')} is diagonal"
        flow = flows[edge.get("bpmnElement")]
        for end, ref in ((pts[0], flow.get("sourceRef")), (pts[-1], flow.get("targetRef"))):
            r = shapes[ref]
            on_border = (r.x - 1 <= end[0] <= r.x + r.w + 1) and (
                r.y - 1 <= end[1] <= r.y + r.h + 1
            )
            assert on_border, f"{path.name}: {edge.get('bpmnElement')} misses {ref}"


# ============================================================================ decision table

ROUTING_CASES = [
    # severity, category, difficulty → tier
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
    ("blue", "debt", "simple", "village"),
    ("blue", "consumer", "simple", "village"),
    ("blue", "other", "simple", "village"),
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


def route(severity: str, category: str, difficulty: str) -> tuple[dict[str, Any], Any]:
    wf = BpmnWorkflow(route_probe(), script_engine=script_engine())
    start = wf.get_tasks(state=TaskState.READY)[0]
    start.set_data(severity=severity, category=category, difficulty=difficulty)
    wf.do_engine_steps()
    assert wf.is_completed()
    return wf.last_task.data, wf


@pytest.mark.parametrize(("severity", "category", "difficulty", "tier"), ROUTING_CASES)
def test_routing_table_gives_the_expected_tier(
    severity: str, category: str, difficulty: str, tier: str
) -> None:
    data, _ = route(severity, category, difficulty)
    assert data["tier"] == tier
    assert data["routing_rule"]


def _form_codes(form: str, field: str) -> list[str]:
    return [o["const"] for o in _load(FORMS / form)["properties"][field]["oneOf"]]


def test_routing_table_is_complete_and_its_rules_never_overlap() -> None:
    """UNIQUE in SpiffWorkflow takes the first match silently: check exactly one rule matches."""
    from SpiffWorkflow.dmn.specs.model import HitPolicy

    spec = route_probe()
    engine = spec.task_specs["rule"].dmnEngine
    table = engine.decision_table
    assert table.hit_policy == HitPolicy.UNIQUE.value
    categories = _form_codes("screen.schema.json", "category")
    assert categories == _form_codes("report.schema.json", "category_hint")
    for severity in _form_codes("screen.schema.json", "severity"):
        for category in categories:
            for difficulty in _form_codes("screen.schema.json", "difficulty"):
                _, wf = route(severity, category, difficulty)
                task = wf.get_tasks(spec_name="rule")[0]
                table.hit_policy = HitPolicy.COLLECT.value
                try:
                    matched = engine.decide(task)
                finally:
                    table.hit_policy = HitPolicy.UNIQUE.value
                assert len(matched) == 1, (severity, category, difficulty, len(matched))


def test_dmn_labels_are_chinese() -> None:
    root = _xml(PROCESSES / "dispute_routing.dmn")
    labels = [el.get("label") for el in root.iter() if isinstance(el.tag, str) and el.get("label")]
    assert labels and all(any(ord(c) > 0x2E7F for c in label) for label in labels)


# ============================================================================ expressions


def _names(source: str, mode: str) -> tuple[set[str], set[str]]:
    """(names read, names assigned) in an expression or script."""
    tree = ast.parse(source.strip(), mode=mode)
    read = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    wrote = {
        n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
    }
    return read, wrote


def test_every_name_an_expression_reads_is_written_somewhere() -> None:
    """Conditions, scripts and timers read only form fields, script results or DMN outputs."""
    helpers = set(HELPERS) | {"True", "False", "None"}
    written: set[str] = {"tier", "routing_rule"}  # DMN outputs
    for path in FORM_FILES:
        if path.name.endswith(".schema.json"):
            written |= set(_load(path)["properties"])
    reads: list[tuple[str, set[str]]] = []
    for path in BPMN_FILES:
        root = _xml(path)
        for el in root.iter():
            if not isinstance(el.tag, str) or not el.text or not el.text.strip():
                continue
            tag = etree.QName(el).localname
            if tag in ("conditionExpression", "timeDate"):
                r, _ = _names(el.text, "eval")
                reads.append((f"{path.name}:{el.getparent().get('id')}", r))
            elif tag in ("script", "postScript"):
                r, w = _names(el.text, "exec")
                written |= w
                reads.append((f"{path.name}:{tag}", r - w))
        for mi in root.iter(f"{{{NS['bpmn']}}}inputDataItem"):
            written.add(mi.get("id"))
        for var in root.iter(f"{{{NS['spiffworkflow']}}}messageVariable"):
            written.add(var.text)
    for where, names in reads:
        unknown = names - written - helpers
        assert not unknown, f"{where} reads {sorted(unknown)} which nothing writes"


def test_scripts_avoid_what_the_sandbox_refuses() -> None:
    for path in BPMN_FILES + DMN_FILES:
        text = path.read_text(encoding="utf-8")
        for el in etree.fromstring(text.encode()).iter():
            if isinstance(el.tag, str) and el.text and etree.QName(el).localname in (
                "script", "postScript", "conditionExpression", "timeDate", "text"
            ):  # fmt: skip
                assert "__" not in el.text and "import" not in el.text, path.name
                assert "+=" not in el.text, "augmented assignment: write x = x + 1"


# ============================================================================ drives


def _dt(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=CHINA)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=CHINA)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CHINA)


def _plus(start: Any, delta: timedelta) -> str:
    return (_dt(start) + delta).isoformat()


HELPERS: dict[str, Any] = {
    "now": lambda: datetime.now(UTC),
    "iso": lambda value: _dt(value).isoformat(),
    "parse_datetime": _dt,
    "add_days": lambda start, n: _plus(start, timedelta(days=n)),
    "add_natural_days": lambda start, n: _plus(start, timedelta(days=n)),
    "add_hours": lambda start, h: _plus(start, timedelta(hours=h)),
    "add_working_days": lambda start, n: _plus(start, timedelta(days=n)),
    "add_working_hours": lambda start, h: _plus(start, timedelta(hours=h)),
}


def script_engine() -> PythonScriptEngine:
    return PythonScriptEngine(environment=TaskDataEnvironment(dict(HELPERS)))


def _now() -> str:
    return datetime.now(CHINA).replace(microsecond=0).isoformat()


@cache
def resolver() -> LaneResolver:
    return LaneResolver(
        OrgTree.load(PROCESSES / "organisations.yaml"), LaneConfig.load(PROCESSES / "lanes.yaml")
    )


class Drive:
    """One dispute instance driven by hand: ``do(element_id, **form)`` completes a human task."""

    def __init__(self, **report: Any) -> None:
        p = parser()
        self.wf = BpmnWorkflow(
            p.get_spec("dispute"), p.get_subprocess_specs("dispute"), script_engine=script_engine()
        )
        data = {
            "case_no": "MD-2026-0001",
            "title": "和平社区楼上楼下噪音纠纷",
            "description": "楼上住户夜间噪音影响休息,多次协商未果。",
            "source_channel": "grid_patrol",
            "grid_code": "qs-dc-hp-01",
            "parties": [
                {"name": "张三", "role": "applicant", "phone": "13800000000"},
                {"name": "李四", "role": "respondent"},
            ],
            "risk_flags": [],
            **report,
        }
        assert not _errors("report.schema.json", data)
        start = self.wf.get_tasks(state=TaskState.READY)[0]
        start.set_data(**data)
        self.wf.do_engine_steps()
        self.trail: list[tuple[str, str | None]] = []

    def ready(self) -> list[Any]:
        return list(self.wf.get_tasks(state=TaskState.READY, manual=True))

    def ready_ids(self) -> list[str]:
        return sorted(t.task_spec.bpmn_id for t in self.ready())

    def task(self, element_id: str) -> Any:
        found = [t for t in self.ready() if t.task_spec.bpmn_id == element_id]
        assert found, f"{element_id} is not ready; ready: {self.ready_ids()}"
        return found[0]

    def candidate(self, element_id: str) -> Candidate:
        t = self.task(element_id)
        props = t.task_spec.extensions.get("properties", {})
        return resolver().resolve(
            lane=t.task_spec.lane, element_id=element_id, properties=props, data=t.data
        )

    def do(self, element_id: str, **form: Any) -> None:
        t = self.task(element_id)
        props = t.task_spec.extensions.get("properties", {})
        errors = _errors(props["formJsonSchemaFilename"], form)
        assert not errors, f"{element_id}: {errors}"
        self.candidate(element_id)  # every task has somebody to do it
        self.trail.append((element_id, t.task_spec.lane))
        t.set_data(**form)
        t.run()
        self.wf.do_engine_steps()

    def message(self, name: str, payload: dict[str, Any]) -> None:
        for sp_name in self.wf.spec.start.trigger_specs:
            for start in self.wf.subprocess_specs[sp_name].bpmn_start_events:
                if getattr(start.event_definition, "name", None) == name:
                    self.wf.send_event(BpmnEvent(start.event_definition, payload))
                    self.wf.do_engine_steps()
                    return
        raise AssertionError(f"no event sub-process starts on {name}")

    @property
    def data(self) -> dict[str, Any]:
        tasks = self.ready()
        result: dict[str, Any] = (tasks[0] if tasks else self.wf.last_task).data
        return result

    def done(self) -> dict[str, Any]:
        assert self.wf.is_completed(), f"still running; ready: {self.ready_ids()}"
        result: dict[str, Any] = self.wf.last_task.data
        return result

    # -- the common steps

    def screen(self, **form: Any) -> None:
        form = {"screen_outcome": "register", "screen_opinion": "经核实,情况属实。", **form}
        self.do("screen_case", **form)

    def register(
        self, category: str = "neighbourhood", severity: str = "blue", difficulty: str = "simple"
    ) -> None:
        self.screen(category=category, severity=severity, difficulty=difficulty)

    def dispatch(self, unit: str) -> None:
        self.do("dispatch_case", dispatch_action="dispatch", handling_unit=unit)

    def sign(self) -> None:
        self.do("sign_case", sign_decision="sign")

    def contact(self) -> None:
        self.do(
            "first_contact",
            contacted_at=_now(),
            contact_method="visit",
            parties_reached=True,
            first_contact_note="双方情绪平稳,诉求明确。",
        )

    def handle(self, action: str = "feedback", **extra: Any) -> None:
        self.do("handle_case", handle_action=action, progress_note="已走访双方。", **extra)

    def feedback(self, resolved: bool = True) -> None:
        extra = (
            {}
            if resolved
            else {"unresolved_reason": "需更高层级协调。", "suggest_escalation": True}
        )
        self.do(
            "feedback_result",
            resolved=resolved,
            result_summary="双方达成谅解。",
            resolution_method="settlement",
            **extra,
        )

    def review(self, decision: str = "pass", **extra: Any) -> None:
        self.do("review_result", review_decision=decision, review_opinion="同意。", **extra)

    def revisit(self, satisfaction: int | None = 4) -> None:
        base = {"revisit_method": "phone", "revisit_at": _now()}
        if satisfaction is None:
            self.do("revisit_party", contact_result="unreachable", **base)
            return
        extra = {"dissatisfaction_reason": "问题没有解决。"} if satisfaction <= 2 else {}
        self.do(
            "revisit_party",
            contact_result="reached",
            satisfaction=satisfaction,
            problem_solved=satisfaction >= 3,
            **base,
            **extra,
        )

    def through_handling(self, unit: str) -> None:
        self.dispatch(unit)
        self.sign()
        self.contact()
        self.handle()
        self.feedback()


def test_main_path_grid_case_closes_after_a_satisfied_revisit() -> None:
    d = Drive()
    assert d.ready_ids() == ["screen_case"]
    assert d.data["case_status"] == "REPORTED"
    assert d.candidate("screen_case") == Candidate("qs-dc-zzzx", "township_center")
    d.register()
    assert d.data["tier"] == "grid" and d.data["routing_rule"] == "小事网格办"
    # 小事: the village dispatches to the grid, the grid worker handles it
    assert d.candidate("dispatch_case") == Candidate("qs-dc-hp", "village_cmte")
    d.dispatch("qs-dc-hp-01")
    assert d.candidate("sign_case") == Candidate("qs-dc-hp-01", "grid_worker")
    d.sign()
    d.contact()
    d.handle()
    d.feedback()
    assert d.candidate("review_result") == Candidate("qs-dc-hp", "village_cmte")
    d.review("pass")
    assert d.candidate("revisit_party") == Candidate("qs-zzzx", "revisit_agent")
    d.revisit(4)
    out = d.done()
    assert out["case_status"] == "CLOSED"
    assert out["resolved_tier"] == "grid"
    assert out["satisfaction"] == 4
    assert out["eval_excluded"] is False
    assert (out["reopen_count"], out["escalation_count"], out["rework_count"]) == (0, 0, 0)
    assert out["closed_at"]
    assert [e for e, _ in d.trail] == [
        "screen_case", "dispatch_case", "sign_case", "first_contact", "handle_case",
        "feedback_result", "review_result", "revisit_party",
    ]  # fmt: skip


def test_escalation_climbs_grid_village_township_county_and_stops_there() -> None:
    d = Drive()
    d.register()
    expected = [
        ("grid", Candidate("qs-dc-hp", "village_cmte")),
        ("village", Candidate("qs-dc-hp", "village_cmte")),
        ("township", Candidate("qs-dc-zzzx", "township_center")),
        ("county", Candidate("qs-zzzx", "county_center")),
    ]
    units = {
        "grid": "qs-dc-hp-01",
        "village": "qs-dc-hp",
        "township": "qs-dc-sfs",
        "county": "qs-rsj",
    }
    for i, (tier, centre) in enumerate(expected):
        assert d.data["tier"] == tier
        assert d.data["escalation_count"] == i
        assert d.candidate("dispatch_case") == centre
        d.dispatch(units[tier])
        assert d.candidate("sign_case").org_id == units[tier]
        d.sign()
        d.contact()
        d.handle()
        d.feedback(resolved=False)
        assert d.candidate("review_result") == centre
        d.review("escalate", escalation_reason="本层级无法化解。")
    # the county cannot escalate: the case goes back to the unit (返工)
    assert d.ready_ids() == ["handle_case"]
    assert d.data["tier"] == "county"
    assert d.data["escalation_count"] == 3
    assert d.data["rework_count"] == 1
    assert [h["to"] for h in d.data["escalation_history"]] == ["village", "township", "county"]
    d.handle()
    d.feedback()
    d.review("pass")
    d.revisit(5)
    assert d.done()["resolved_tier"] == "county"


def test_return_approved_redispatches_and_denied_forces_sign() -> None:
    d = Drive(grid_code="qs-xh-sq-01")
    d.register(category="labour")  # blue labour → township
    assert d.data["tier"] == "township"
    assert d.candidate("dispatch_case") == Candidate("qs-xh-zzzx", "township_center")
    d.dispatch("qs-xh-pcs")
    d.do(
        "sign_case",
        sign_decision="return",
        return_reason="function_mismatch",
        return_basis="欠薪纠纷属劳动保障监察职责,不属派出所职能。",
        suggested_unit="qs-rsj",
    )
    assert d.candidate("return_review") == Candidate("qs-xh-zzzx", "township_center")
    d.do("return_review", return_approved=True, return_review_opinion="同意,改派。")
    assert d.ready_ids() == ["dispatch_case"]
    assert d.data["returned_units"] == ["qs-xh-pcs"]
    d.dispatch("qs-xh-sfs")
    d.do(
        "sign_case",
        sign_decision="return",
        return_reason="other",
        return_basis="工作量大,建议改派。",
    )
    d.do("return_review", return_approved=False, return_review_opinion="理由不成立,须办理。")
    assert d.ready_ids() == ["first_contact"]
    assert d.data["forced_sign"] is True and d.data["return_count"] == 2
    assert d.candidate("first_contact") == Candidate("qs-xh-sfs", "handling_unit")
    d.contact()
    d.handle()
    d.feedback()
    d.review()
    d.revisit(3)
    assert d.done()["case_status"] == "CLOSED"


def test_whistle_summons_two_departments_that_report_in_twice() -> None:
    d = Drive(grid_code="qs-xh-lt-02")
    d.register(category="property_mgmt", difficulty="complex")
    d.dispatch("qs-xh-sfs")
    d.sign()
    d.contact()
    for round_ in (1, 2):
        d.handle("whistle", whistle_request="需要派出所和县住建局共同处置。")
        assert d.candidate("summon_departments") == Candidate("qs-xh-zzzx", "township_center")
        d.do(
            "summon_departments",
            whistle_departments=["qs-xh-pcs", "qs-zjj"],
            whistle_matter="物业公司停水停电,业主聚集。",
        )
        assert d.ready_ids() == ["report_in", "report_in"]
        for t in list(d.ready()):
            dept = t.data["whistle_department"]
            assert resolver().resolve(
                lane=t.task_spec.lane,
                element_id="report_in",
                properties=t.task_spec.extensions["properties"],
                data=t.data,
            ) == Candidate(dept, "handling_unit")
        for dept in ("qs-zjj", "qs-xh-pcs"):  # in the opposite order of the summons
            task = next(t for t in d.ready() if t.data["whistle_department"] == dept)
            form = {
                "report_arrived": True,
                "report_in_at": _now(),
                "report_opinion": f"{dept} 意见",
                "report_measures": "到场协调。",
            }
            assert not _errors("whistle_report_in.schema.json", form)
            task.set_data(**form)
            task.run()
            d.wf.do_engine_steps()
        assert d.ready_ids() == ["handle_case"]
        data = d.data
        assert data["whistle_count"] == round_
        reports = data["whistle_history"][-1]["reports"]
        assert sorted(r["department"] for r in reports) == ["qs-xh-pcs", "qs-zjj"]
        assert all(r["opinion"].startswith(r["department"]) for r in reports)
        assert data["whistle_reports"] == []
        assert "whistle_department" not in data
    assert d.data["co_units"] == ["qs-xh-pcs", "qs-zjj", "qs-xh-pcs", "qs-zjj"]
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    assert d.done()["case_status"] == "CLOSED"


MEDIATION = {
    "mediation_type": "people",
    "mediation_mode": "invite",
    "mediator": "和平社区人民调解委员会",
    "mediation_record": "邀请双方亲属参与调解。",
}


def test_mediation_with_agreement_and_judicial_confirmation() -> None:
    d = Drive()
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.handle("mediate")
    d.do("mediate_case", **MEDIATION, mediation_outcome="no_agreement", failure_reason="分歧大。")
    assert d.ready_ids() == ["handle_case"]  # no agreement: handle again
    d.handle("mediate")
    d.do(
        "mediate_case",
        **MEDIATION,
        mediation_outcome="agreement",
        agreement_date=datetime.now(CHINA).date().isoformat(),
        agreement_summary="夜间十点后不得产生噪音。",
        jc_requested=True,
    )
    assert d.ready_ids() == ["judicial_confirmation"]
    due = [e for e in d.wf.waiting_events() if e.event_type == "TimeDateEventDefinition"]
    assert len(due) == 1
    assert datetime.fromisoformat(due[0].value) > datetime.now(UTC) + timedelta(days=29)
    d.do(
        "judicial_confirmation",
        jc_court="西河人民法庭",
        jc_applied_at=datetime.now(CHINA).date().isoformat(),
        jc_result="confirmed",
        jc_ruling_no="(2026)青西民特1号",
    )
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "confirmed"
    assert not d.wf.waiting_events()
    d.feedback()
    d.review()
    d.revisit(5)
    assert d.done()["case_status"] == "CLOSED"


def test_judicial_confirmation_window_expires_after_30_days() -> None:
    d = Drive()
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.handle("mediate")
    d.do(
        "mediate_case",
        **MEDIATION,
        mediation_outcome="agreement",
        agreement_date=(datetime.now(CHINA).date() - timedelta(days=31)).isoformat(),
        agreement_summary="赔偿五千元。",
        jc_requested=True,
    )
    d.wf.refresh_timers()
    d.wf.do_engine_steps()
    assert d.ready_ids() == ["feedback_result"]
    assert d.data["jc_result"] == "expired"


def test_agreement_without_confirmation_goes_to_feedback() -> None:
    d = Drive()
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.handle("mediate")
    d.do(
        "mediate_case",
        **MEDIATION,
        mediation_outcome="agreement",
        agreement_date=datetime.now(CHINA).date().isoformat(),
        agreement_summary="当场履行。",
        jc_requested=False,
    )
    assert d.ready_ids() == ["feedback_result"]


def test_rework_sends_the_case_back_to_the_unit() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review("rework", rework_reason="未附调解协议。")
    assert d.ready_ids() == ["handle_case"]
    assert d.data["rework_count"] == 1
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    out = d.done()
    assert out["rework_count"] == 1 and out["case_status"] == "CLOSED"


def test_reopen_after_dissatisfaction_and_auto_escalation_on_the_second() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(2)
    assert d.candidate("review_dissatisfaction") == Candidate("qs-dc-hp", "village_cmte")
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="reopen",
        dissatisfaction_note="网格员未实地核实。",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert (d.data["reopen_count"], d.data["tier"], d.data["satisfaction"]) == (1, "grid", None)
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(1)
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="reopen",
        dissatisfaction_note="再次办理仍未解决。",
    )
    assert (d.data["reopen_count"], d.data["tier"], d.data["escalation_count"]) == (2, "village", 1)
    d.through_handling("qs-dc-hp")
    d.review()
    d.revisit(4)
    out = d.done()
    assert (out["reopen_count"], out["resolved_tier"], out["satisfaction"]) == (2, "village", 4)


def test_dissatisfied_but_lawful_closes_excluded_from_the_rating() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(1)
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="close_excluded",
        exclusion_basis="unreasonable_demand",
        dissatisfaction_note="诉求超出法律规定,已依法答复。",
    )
    out = d.done()
    assert (out["case_status"], out["eval_excluded"], out["satisfaction"]) == ("CLOSED", True, 1)


def test_unreachable_three_times_closes_without_a_rating() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(None)
    d.revisit(None)
    assert d.data["revisit_attempts"] == 2
    d.revisit(None)
    out = d.done()
    assert (out["case_status"], out["satisfaction"], out["revisit_attempts"]) == ("CLOSED", None, 3)


def test_merge_ends_the_case_as_merged() -> None:
    d = Drive()
    d.screen(screen_outcome="merge", master_case_no="MD-2026-0000")
    out = d.done()
    assert (out["case_status"], out["master_case_no"], out["resolved_tier"]) == (
        "MERGED", "MD-2026-0000", None
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "extra", "status"),
    [
        ("invalid", {"invalid_reason": "not_dispute"}, "INVALID"),
        ("divert", {"diverted_channel": "arbitration"}, "DIVERTED"),
    ],
)
def test_invalid_and_diverted_inform_the_party_first(
    outcome: str, extra: dict[str, Any], status: str
) -> None:
    d = Drive()
    d.screen(screen_outcome=outcome, **extra)
    assert d.ready_ids() == ["inform_party"]
    assert d.candidate("inform_party") == Candidate("qs-dc-hp", "village_cmte")
    d.do(
        "inform_party",
        inform_method="written",
        informed_at=_now(),
        notice_no="青东告〔2026〕1号",
        inform_content="本事项属劳动仲裁受理范围,请向县劳动人事争议仲裁委员会申请。",
        party_acknowledged=True,
    )
    out = d.done()
    assert out["case_status"] == status
    assert out["closed_at"]


def test_red_case_goes_to_the_county_with_a_case_leader_plan_and_measures() -> None:
    d = Drive(risk_flags=["group"], party_count=35)
    d.screen(
        category="labour",
        severity="red",
        difficulty="complex",
        case_leader="leader01",
        red_criteria=["group"],
    )
    assert d.data["tier"] == "county"
    assert d.candidate("leader_stabilize") == Candidate("qs", "case_leader", "leader01")
    d.do(
        "leader_stabilize",
        stabilization_measures=[
            {"measure": "派出所驻点稳控", "responsible": "西河派出所", "until": "2026-03-10"}
        ],
        stabilized=True,
    )
    d.do(
        "leader_plan",
        resolution_plan="由县人社局牵头,督促企业一周内分期支付。",
        plan_target_date="2026-03-30",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert d.candidate("dispatch_case") == Candidate("qs-zzzx", "county_center")
    d.through_handling("qs-rsj")
    d.review()
    d.revisit(4)
    out = d.done()
    assert (out["resolved_tier"], out["case_leader"], out["severity"]) == (
        "county",
        "leader01",
        "red",
    )
    assert out["stabilization_measures"][0]["responsible"] == "西河派出所"


def test_the_county_can_send_a_case_down() -> None:
    d = Drive()
    d.register(category="land_acquisition")
    assert d.data["tier"] == "county"
    d.do(
        "dispatch_case",
        dispatch_action="send_down",
        target_tier="township",
        send_down_reason="属地可化解,由街道办理。",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert d.data["tier"] == "township" and d.data["send_down_count"] == 1
    assert d.candidate("dispatch_case") == Candidate("qs-dc-zzzx", "township_center")
    # sending up is refused quietly: the tier stays
    d.do(
        "dispatch_case",
        dispatch_action="send_down",
        target_tier="township",
        send_down_reason="再议",
    )
    assert d.data["tier"] == "township"
    d.through_handling("qs-dc-sfs")
    d.review()
    d.revisit(4)
    assert d.done()["resolved_tier"] == "township"


def test_extension_and_hang_requests_are_approved_beside_the_main_path() -> None:
    d = Drive()
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.message("extension_request", {"requested_days": 5, "reason": "当事人外出务工。"})
    assert d.ready_ids() == ["approve_extension", "handle_case"]
    approval = d.task("approve_extension")
    assert approval.data["extension_request"]["requested_days"] == 5
    assert d.candidate("approve_extension") == Candidate("qs-zzzx", "county_center")
    d.do("approve_extension", extension_approved=True, extension_days=5, extension_reason="同意。")
    d.message("extension_request", {"requested_days": 10, "reason": "再次申请。"})
    d.do("approve_extension", extension_approved=False, extension_reason="不同意二次延期。")
    d.message("hang_request", {"requested_days": 90, "reason": "待法院判决。"})
    d.do("approve_hang", hang_approved=True, hang_days=90, hang_reason="同意挂账。")
    assert d.ready_ids() == ["handle_case"]
    main = d.task("handle_case").data
    assert not {"extension_approved", "hang_approved", "extension_request"} & set(main)
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    assert d.done()["case_status"] == "CLOSED"
