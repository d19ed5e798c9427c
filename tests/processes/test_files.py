"""The shipped processes, decisions and forms as files: they parse with the schema validator,
every user task names its form, status and deadline, the forms are closed JSON Schemas with
Chinese labels, and every name an expression reads is written somewhere.

These checks read ``processes/*.bpmn``, ``processes/*.dmn`` and ``forms/*.json`` directly.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator
from lxml import etree

from engine.orgs import LaneConfig
from tests.processes.support import (
    BPMN_FILES,
    DMN_FILES,
    FORM_FILES,
    FORMS,
    HELPER_NAMES,
    NS,
    PROCESSES,
    SCHEMA_FILES,
    errors,
    load,
    parser,
    user_tasks,
    xml,
)
from tests.processes.support import (
    props as properties,
)

# ============================================================================ parsing


def test_the_shipped_files_exist() -> None:
    names = {p.name for p in BPMN_FILES + DMN_FILES}
    assert {"dispute.bpmn", "whistle.bpmn", "dispute_routing.dmn"} <= names


def test_every_process_parses_with_the_schema_validator() -> None:
    p = parser()
    ids = set(p.get_process_ids())
    assert {"dispute", "whistle"} <= ids
    for pid in ids:
        spec = p.get_spec(pid)
        assert spec.task_specs
        p.get_subprocess_specs(pid)


def test_no_element_uses_a_reserved_id() -> None:
    for path in BPMN_FILES:
        ids = {el.get("id") for el in xml(path).iter() if isinstance(el.tag, str)}
        assert not ids & {"Start", "End", "Root"}, path.name


def test_every_user_task_has_a_form_a_ui_schema_and_a_status() -> None:
    seen = 0
    for filename, node in user_tasks():
        props = properties(node)
        where = f"{filename}:{node.get('id')}"
        form = props.get("formJsonSchemaFilename")
        ui = props.get("formUiSchemaFilename")
        assert form and (FORMS / form).is_file(), f"{where}: form {form!r} missing"
        assert ui and (FORMS / ui).is_file(), f"{where}: UI schema {ui!r} missing"
        assert form.removesuffix(".schema.json") == ui.removesuffix(".uischema.json"), where
        if "priority" in props:
            int(props["priority"])
        in_event_subprocess = node.getparent().get("triggeredByEvent") == "true"
        # 首问负责: accepting a hand-off (accept_transfer) must not move the case's owner
        if not in_event_subprocess and node.get("id") != "accept_transfer":
            assert props.get("caseStatus") and props.get("deadline"), where
        seen += 1
    assert seen >= 19


def test_the_start_event_names_the_report_form() -> None:
    root = xml(PROCESSES / "dispute.bpmn")
    (start,) = root.xpath("//bpmn:process/bpmn:startEvent", namespaces=NS)
    assert start.get("id") == "start_report"
    assert properties(start)["formJsonSchemaFilename"] == "report.schema.json"


def test_deadline_keys_are_in_the_policy_file() -> None:
    policy = yaml.safe_load((PROCESSES / "deadlines.yaml").read_text(encoding="utf-8"))
    steps = set(policy["steps"])
    for filename, node in user_tasks():
        key = properties(node).get("deadline")
        if key is not None:
            assert key in steps, f"{filename}:{node.get('id')}: deadline {key!r} not in policy"


def test_case_status_values_are_domain_states() -> None:
    states = {
        "REPORTED", "SCREENING", "REGISTERED", "DISPATCHED", "SIGNED", "RETURN_REQUESTED",
        "IN_PROGRESS", "SUSPENDED", "FEEDBACK", "VERIFYING", "REVISIT",
    }  # fmt: skip
    for path in BPMN_FILES:
        for node in xml(path).iter():
            if isinstance(node.tag, str) and (status := properties(node).get("caseStatus")):
                assert status in states, f"{path.name}:{node.get('id')}: {status}"


def test_every_lane_is_mapped_in_lanes_yaml() -> None:
    config = LaneConfig.load(PROCESSES / "lanes.yaml")
    for path in BPMN_FILES:
        for lane in xml(path).iter(f"{{{NS['bpmn']}}}lane"):
            assert lane.get("name") in config.lanes, f"{path.name}: lane {lane.get('name')!r}"


# ============================================================================ forms


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_every_form_is_a_valid_closed_json_schema(path: Path) -> None:
    schema = load(path)
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
    order = load(ui).get("ui:order")
    assert order is not None and set(order) == set(schema["properties"]), ui.name
    for key in load(ui):
        assert key.startswith("ui:") or key in schema["properties"], f"{ui.name}: {key}"


#: Forms the engine itself serves, not a BPMN element: the grid worker's daily 零报告
#: (engine/supervision/zero_reports.py) and the unit's answer to a 督办单 (orders.py).
ENGINE_FORMS = {"zero_report.schema.json", "supervision_answer.schema.json"}


def test_every_form_is_used_by_a_task() -> None:
    used = set(ENGINE_FORMS)
    for _, node in user_tasks():
        used.add(properties(node)["formJsonSchemaFilename"])
    # the report (start), the 延期 request (message start), the reopening request (catch event),
    # the 分流转办 request (boundary message events)
    for path in BPMN_FILES:
        events = xml(path).xpath(
            "//bpmn:startEvent|//bpmn:receiveTask|//bpmn:boundaryEvent", namespaces=NS
        )
        for node in events:
            form = properties(node).get("formJsonSchemaFilename")
            if form:
                used.add(form)
    # the engine's own tasks beside the processes: 零报告 (engine/supervision/zero_reports.py) and
    # the answer to a 督办单 (engine/supervision/orders.py)
    used |= {"zero_report.schema.json", "supervision_answer.schema.json"}
    shipped = {p.name for p in FORM_FILES if p.name.endswith(".schema.json")}
    assert shipped == used


def test_coded_fields_carry_chinese_labels() -> None:
    schema = load(FORMS / "screen.schema.json")
    severity = {o["const"]: o["title"] for o in schema["properties"]["severity"]["oneOf"]}
    assert set(severity) == {"red", "yellow", "blue"}
    assert severity["red"].startswith("红")
    revisit = load(FORMS / "revisit.schema.json")
    levels = {o["const"]: o["title"] for o in revisit["properties"]["satisfaction"]["oneOf"]}
    assert levels == {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
    sign = load(FORMS / "sign.schema.json")
    reasons = [o["title"] for o in sign["properties"]["return_reason"]["oneOf"]]
    assert reasons == ["职能不符", "属地不符", "权属不清", "其他"]


def test_red_cases_require_a_case_leader_at_screening() -> None:
    base = {
        "screen_outcome": "register",
        "screen_opinion": "属实",
        "category": "labour",
        "severity": "red",
        "difficulty": "complex",
        "urgency": "urgent",
    }
    assert "'case_leader' is a required property" in errors("screen.schema.json", base)
    ok = {**base, "case_leader": "leader01", "red_criteria": ["group"]}
    assert errors("screen.schema.json", ok) == []
    assert errors("screen.schema.json", {**base, "severity": "blue"}) == []
    assert errors("leader_plan.schema.json", {}) == [
        "'plan_target_date' is a required property",
        "'resolution_plan' is a required property",
    ]
    assert "'stabilization_measures' is a required property" in errors(
        "leader_stabilize.schema.json", {"stabilized": True}
    )


def test_conditional_requirements() -> None:
    assert errors("sign.schema.json", {"sign_decision": "return"}) == [
        "'return_basis' is a required property",
        "'return_reason' is a required property",
    ]
    assert errors("screen.schema.json", {"screen_outcome": "merge", "screen_opinion": "同事"}) == [
        "'master_case_no' is a required property"
    ]
    revisit = {
        "contact_result": "reached",
        "revisit_method": "phone",
        "revisit_at": "2026-03-02T09:00:00+08:00",
    }
    assert errors("revisit.schema.json", {**revisit, "satisfaction": 1, "problem_solved": False})
    assert not errors("revisit.schema.json", {**revisit, "contact_result": "unreachable"})
    assert errors("screen.schema.json", {"screen_outcome": "register", "extra": 1})


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
    helpers = HELPER_NAMES | {"True", "False", "None"}
    written: set[str] = {"tier", "routing_rule"}  # DMN outputs
    for path in FORM_FILES:
        if path.name.endswith(".schema.json"):
            written |= set(load(path)["properties"])
    reads: list[tuple[str, set[str]]] = []
    for path in BPMN_FILES:
        root = xml(path)
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


def test_the_extension_routing_knows_the_tiers_limits_from_the_deadline_policy() -> None:
    """route_extension sends an extension longer than the case's handling limit one level up;
    its table must say what processes/deadlines.yaml says for dispute.resolve (natural days)."""
    root = xml(PROCESSES / "dispute.bpmn")
    (script,) = root.xpath("//bpmn:scriptTask[@id='route_extension']/bpmn:script", namespaces=NS)
    (line,) = [x for x in script.text.splitlines() if x.startswith("resolve_limits = ")]
    in_model = ast.literal_eval(line.split("=", 1)[1].strip())
    policy = yaml.safe_load((PROCESSES / "deadlines.yaml").read_text(encoding="utf-8"))
    limits = policy["steps"]["dispute.resolve"]["limits"]
    assert in_model == {k: v[1] for k, v in limits.items() if k != "default" and v[0] == "days"}
    assert limits["default"] == ["days", 7]


def test_the_reopening_window_in_the_model_is_the_policys() -> None:
    """The 办结 case waits for a reopening request for deadlines.yaml's reopen.window."""
    root = xml(PROCESSES / "dispute.bpmn")
    (timer,) = root.xpath("//bpmn:boundaryEvent[@id='reopen_window_end']//bpmn:timeDate",
                          namespaces=NS)  # fmt: skip
    policy = yaml.safe_load((PROCESSES / "deadlines.yaml").read_text(encoding="utf-8"))
    unit, amount = policy["reopen"]["window"]
    assert (unit, timer.text) == ("days", f"add_natural_days(closed_at, {amount})")
