"""Forms are the contract: the shipped schemas accept no data that does not apply.

* A field that belongs to another branch of a form (``invalid_reason`` on a registered case) is
  refused by the server with a 422 naming it — for every branch of every shipped form, through
  the real API: each form is deployed exactly as shipped behind a one-task process, a case is
  reported, its task claimed and completed with the foreign field.
* Every branch that requires fields also refuses them on its other side (a new branch cannot
  forget to).
* Nothing is pre-selected: no shipped schema carries a ``default`` the process does not mean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.audit import Actor
from engine.clock import ManualClock
from engine.runtime.forms import NOT_APPLICABLE
from engine.spiff import BundleFile
from tests.api.conftest import World, make_demo_world, make_world

FORMS = Path(__file__).resolve().parent.parent / "forms"
SCHEMAS = sorted(FORMS.glob("*.schema.json"))
NOT = {"not": {}}
#: Fields a branch requires that still apply on its other side: {form file: {field, …}}.
SHARED = {"leader_stabilize.schema.json": {"stabilize_note"}}  # 情况说明: stabilized or not
#: ``default`` values the process means (none today): {form file: {field, …}}.
MEANT_DEFAULTS: dict[str, set[str]] = {}


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


# ---------------------------------------------------------------- the branches, from the schemas


@dataclass(frozen=True)
class Branch:
    form: str
    condition: dict[str, Any]  # the ``if`` entry's ``properties``
    refused: tuple[str, ...]  # the fields its ``else`` refuses
    outside: dict[str, Any]  # values under which the fields are refused
    side: str  # "else": refused when the condition fails; "then": when it holds


def options(prop: dict[str, Any]) -> list[Any]:
    if "oneOf" in prop:
        return [o["const"] for o in prop["oneOf"] if "const" in o]
    if "enum" in prop:
        return list(prop["enum"])
    if prop.get("type") == "boolean":
        return [True, False]
    if prop.get("type") == "integer":
        return list(range(prop.get("minimum", 0), prop.get("maximum", 10) + 1))
    return []


def outside(schema: dict[str, Any], condition: dict[str, Any]) -> dict[str, Any]:
    """Data for which ``condition`` fails on its first field, the others holding."""
    first, *rest = condition
    data = {name: inside_value(schema, name, condition[name]) for name in rest}
    prop = schema["properties"][first]
    sub = condition[first]
    for value in options(prop):
        if not _meets(value, sub):
            data[first] = value
            return data
    raise AssertionError(f"no value falls outside {condition}")


def inside_value(schema: dict[str, Any], name: str, sub: dict[str, Any]) -> Any:
    for value in options(schema["properties"][name]):
        if _meets(value, sub):
            return value
    raise AssertionError(f"no value meets {sub}")


def _meets(value: Any, sub: dict[str, Any]) -> bool:
    if "const" in sub:
        return bool(value == sub["const"] and type(value) is type(sub["const"]))
    if "maximum" in sub:
        return bool(value <= sub["maximum"])
    if "enum" in sub:
        return value in sub["enum"]
    raise AssertionError(f"unknown condition {sub}")


def branches() -> list[Branch]:
    found = []
    for path in SCHEMAS:
        schema = load(path)
        for entry in schema.get("allOf", []):
            condition = entry["if"]["properties"]
            refused = [
                f for f, s in (entry.get("else") or {}).get("properties", {}).items() if s == NOT
            ]
            refused += [
                f for f, s in (entry.get("then") or {}).get("properties", {}).items() if s == NOT
            ]
            if not refused:
                continue
            if entry.get("else"):  # refused when the condition fails
                side, out = "else", outside(schema, condition)
            else:  # refused when it holds
                side, out = "then", {n: inside_value(schema, n, s) for n, s in condition.items()}
            found.append(Branch(path.name, condition, tuple(refused), out, side))
    return found


BRANCHES = branches()


def sample(prop: dict[str, Any]) -> Any:
    """A value the property's own schema accepts."""
    if options(prop):
        return options(prop)[0]
    kind = prop.get("type")
    if kind == "array":
        return [sample(prop["items"])] if prop.get("minItems", 0) else []
    if kind == "integer":
        return max(prop.get("minimum", 1), 1)
    if kind == "number":
        return 1
    if kind == "object":
        return {}
    fmt = prop.get("format")
    if fmt == "date":
        return "2026-03-02"
    if fmt == "date-time":
        return "2026-03-02T09:00:00+08:00"
    for text in ("grid_a1", "BH-2026-000001", "说明情况", "ok"):
        if re.search(prop.get("pattern", ""), text) and len(text) >= prop.get("minLength", 0):
            return text
    raise AssertionError(f"no sample for {prop}")


# ---------------------------------------------------------------- static checks


def test_every_form_has_branches_to_check() -> None:
    forms_with_choices = {
        p.name
        for p in SCHEMAS
        if any("then" in e for e in load(p).get("allOf", [])) and p.name not in SHARED
    }
    assert forms_with_choices <= {b.form for b in BRANCHES}
    assert len(BRANCHES) >= 20
    refused = {(b.form.removesuffix(".schema.json"), f) for b in BRANCHES for f in b.refused}
    assert {
        ("screen", "invalid_reason"), ("screen", "severity"), ("screen", "red_criteria"),
        ("dispatch", "target_tier"), ("dispatch", "handling_unit"), ("sign", "return_reason"),
        ("revisit", "satisfaction"), ("feedback", "unresolved_reason"),
    } <= refused  # fmt: skip


@pytest.mark.parametrize("path", SCHEMAS, ids=lambda p: p.name)
def test_a_branch_refuses_on_its_other_side_what_it_requires(path: Path) -> None:
    schema = load(path)
    shared = set(schema["required"]) | SHARED.get(path.name, set())
    refused = {
        f
        for entry in schema.get("allOf", [])
        for side in ("then", "else")
        for f, s in (entry.get(side) or {}).get("properties", {}).items()
        if s == NOT
    }
    for entry in schema.get("allOf", []):
        required = set((entry.get("then") or {}).get("required", [])) - shared
        assert required <= refused, (
            f"{path.name}: {sorted(required - refused)} are required when {entry['if']} holds "
            "but never refused where it does not: add them to the entry's else"
        )


@pytest.mark.parametrize("path", sorted(FORMS.glob("*.json")), ids=lambda p: p.name)
def test_nothing_is_preselected(path: Path) -> None:
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("default", "ui:emptyValue") and where.split("/")[-1] not in (
                    MEANT_DEFAULTS.get(path.name, set())
                ):
                    found.append(f"{where}/{key}")
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(load(path), "")
    assert not found, f"{path.name} invents data: {found}"


# ---------------------------------------------------------------- through the real API


def probe_bpmn(forms: list[str]) -> bytes:
    """One process per form: start → a user task showing the shipped form → end."""
    processes = []
    for form in forms:
        n = form.removesuffix(".schema.json")  # element ids are unique across the file
        processes.append(
            f'<bpmn:process id="probe_{n}" isExecutable="true">'
            f'<bpmn:startEvent id="{n}_start"><bpmn:outgoing>{n}_f1</bpmn:outgoing>'
            "</bpmn:startEvent>"
            f'<bpmn:sequenceFlow id="{n}_f1" sourceRef="{n}_start" targetRef="{n}_fill"/>'
            f'<bpmn:userTask id="{n}_fill" name="填写"><bpmn:extensionElements>'
            "<spiffworkflow:properties>"
            f'<spiffworkflow:property name="formJsonSchemaFilename" value="{form}"/>'
            "</spiffworkflow:properties></bpmn:extensionElements>"
            f"<bpmn:incoming>{n}_f1</bpmn:incoming><bpmn:outgoing>{n}_f2</bpmn:outgoing>"
            "</bpmn:userTask>"
            f'<bpmn:sequenceFlow id="{n}_f2" sourceRef="{n}_fill" targetRef="{n}_end"/>'
            f'<bpmn:endEvent id="{n}_end"><bpmn:incoming>{n}_f2</bpmn:incoming></bpmn:endEvent>'
            "</bpmn:process>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
        'id="probes" targetNamespace="http://bihuan.example/probes">'
        + "".join(processes)
        + "</bpmn:definitions>"
    ).encode()


@pytest.fixture
def probes(db_url: str, clock: ManualClock) -> Iterator[World]:
    """The loop fixture's people, and every shipped form behind a one-task process."""
    w, db = make_world(db_url, clock)
    forms = sorted({b.form for b in BRANCHES})
    bundle = [BundleFile("probes.bpmn", probe_bpmn(forms))]
    bundle += [BundleFile(f, (FORMS / f).read_bytes()) for f in forms]
    w.engine.deploy(bundle, Actor("designer", "designer", "county"))
    with w.client:
        yield w
    db.dispose()


def open_task(w: World, form: str) -> str:
    n = form.removesuffix(".schema.json")
    case_no = w.report("county_staff", process_id=f"probe_{n}", data={})
    task = w.open_task(case_no, f"{n}_fill")
    assert w.post("county_staff", f"/api/v1/tasks/{task}/claim").status_code == 200
    return task


def complete(w: World, task: str, data: dict[str, Any]) -> dict[str, str]:
    r = w.post("county_staff", f"/api/v1/tasks/{task}/complete", json={"data": data})
    if r.status_code == 200:
        return {}
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "form_invalid", body
    return {e["path"]: e["message"] for e in body["errors"]}


def test_every_branchs_foreign_fields_are_refused_naming_them(probes: World) -> None:
    wrong = []
    by_form: dict[str, list[Branch]] = {}
    for b in BRANCHES:
        by_form.setdefault(b.form, []).append(b)
    for form, its in sorted(by_form.items()):
        props = load(FORMS / form)["properties"]
        task = open_task(probes, form)  # failed completions leave the task open
        for b in its:
            for field in b.refused:
                data = {**b.outside, field: sample(props[field])}
                errors = complete(probes, task, data)
                if errors.get(f"/{field}") != NOT_APPLICABLE:
                    wrong.append(f"{form}: {field} with {b.outside} → {errors}")
    assert not wrong, "\n".join(wrong)


def test_a_field_is_accepted_on_its_own_branch(probes: World) -> None:
    """The other side: where the branch holds, its fields are not refused as foreign."""
    wrong = []
    owners: dict[tuple[str, str], dict[str, Any]] = {}  # (form, field) → values where it applies
    for b in BRANCHES:
        if b.side == "else":
            schema = load(FORMS / b.form)
            for field in b.refused:
                where = owners.setdefault((b.form, field), {})
                where.update({n: inside_value(schema, n, s) for n, s in b.condition.items()})
    for (form, field), inside in sorted(owners.items()):
        task = open_task(probes, form)
        data = {**inside, field: sample(load(FORMS / form)["properties"][field])}
        errors = complete(probes, task, data)
        if errors.get(f"/{field}") == NOT_APPLICABLE:
            wrong.append(f"{form}: {field} refused with {inside}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------- the issue's own example


@pytest.fixture
def demo(db_url: str, clock: ManualClock) -> Iterator[World]:
    w = make_demo_world(db_url, clock)
    with w.client:
        yield w
    w.db.dispose()


def test_invalid_reason_on_a_registered_case_is_refused(demo: World) -> None:
    r = demo.post(
        "grid01",
        "/api/v1/cases",
        json={
            "title": "楼上装修噪音纠纷",
            "description": "3 号楼 502 室夜间装修，邻里多次争吵。",
            "source_channel": "grid_patrol",
            "grid_code": "qs-dc-hp-01",
            "parties": [{"name": "张三", "role": "applicant"}],
        },
    )
    assert r.status_code == 201, r.text
    case_no = r.json()["case"]["case_no"]
    tasks = demo.get("town01", "/api/v1/tasks", params={"scope": "candidate", "case_no": case_no})
    [task] = [t["id"] for t in tasks.json()["items"] if t["element_id"] == "screen_case"]
    assert demo.post("town01", f"/api/v1/tasks/{task}/claim").status_code == 200
    registered = {
        "screen_outcome": "register",
        "screen_opinion": "经核实，情况属实。",
        "category": "neighbourhood",
        "severity": "blue",
        "difficulty": "simple",
        "urgency": "normal",
    }
    r = demo.post(
        "town01",
        f"/api/v1/tasks/{task}/complete",
        json={"data": {**registered, "invalid_reason": "not_dispute", "red_criteria": ["group"]}},
    )
    assert r.status_code == 422, r.text
    assert {e["path"]: e["message"] for e in r.json()["errors"]} == {
        "/invalid_reason": NOT_APPLICABLE,
        "/red_criteria": NOT_APPLICABLE,
    }
    r = demo.get("town01", f"/api/v1/cases/{case_no}")
    assert r.json()["case"]["status"] != "REGISTERED"  # nothing was stored
    r = demo.post("town01", f"/api/v1/tasks/{task}/complete", json={"data": registered})
    assert r.status_code == 200, r.text
