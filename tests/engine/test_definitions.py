"""Deploy, version, redeploy, and refuse bad bundles with every problem listed."""

from __future__ import annotations

import pytest

from engine.clock import ManualClock
from engine.errors import ValidationFailed
from engine.runtime import Engine
from engine.runtime import definitions as defs
from engine.spiff import BundleFile
from engine.storage.database import Database
from tests.engine.support import DESIGNER, FIXTURES, bundle


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    return Engine(db, clock=clock)


def test_same_content_is_same_version_new_content_is_new_version(engine: Engine) -> None:
    first = engine.deploy(bundle("loop.bpmn"), DESIGNER)
    assert [(v.process_id, v.version, v.created) for v in first] == [("loop", 1, True)]
    again = engine.deploy(bundle("loop.bpmn"), DESIGNER)
    assert [(v.process_id, v.version, v.created) for v in again] == [("loop", 1, False)]
    assert again[0].content_hash == first[0].content_hash
    changed = bundle("loop.bpmn")
    changed[0] = BundleFile("loop.bpmn", changed[0].content.replace(b'name="Loop"', b'name="L2"'))
    second = engine.deploy(changed, DESIGNER)
    assert [(v.process_id, v.version, v.created) for v in second] == [("loop", 2, True)]
    with engine.db.session() as s:
        assert defs.latest(s, "loop").version == 2
        assert [d.version for d in defs.list_definitions(s)] == [1, 2]


def test_running_instances_stay_on_their_version(engine: Engine) -> None:
    engine.deploy(bundle("loop.bpmn"), DESIGNER)
    old = engine.start("loop", "V-1", {"rounds": 0}, DESIGNER)
    changed = bundle("loop.bpmn")
    changed[0] = BundleFile("loop.bpmn", changed[0].content.replace(b'name="Loop"', b'name="L2"'))
    engine.deploy(changed, DESIGNER)
    new = engine.start("loop", "V-2", {"rounds": 0}, DESIGNER)
    with engine.db.session() as s:
        from engine.storage.models import Definition, Instance

        versions = {
            i.business_key: s.get(Definition, i.definition_id).version  # type: ignore[union-attr]
            for i in (s.get(Instance, old.id), s.get(Instance, new.id))
            if i is not None
        }
    assert versions == {"V-1": 1, "V-2": 2}


def test_xml_is_kept_byte_for_byte(engine: Engine) -> None:
    files = bundle("loop.bpmn")
    engine.deploy(files, DESIGNER)
    with engine.db.session() as s:
        stored = defs.source_xml(s, defs.get_version(s, "loop", 1))
    assert stored == files[0].content


def test_the_spec_is_stored_once_per_version_not_in_instances(engine: Engine) -> None:
    engine.deploy(bundle("loop.bpmn"), DESIGNER)
    engine.start("loop", "S-1", {"rounds": 0}, DESIGNER)
    with engine.db.session() as s:
        from engine.storage.models import Instance

        state = s.query(Instance).one().state
    assert "spec" not in state and "subprocess_specs" not in state


def _problems(files: list[BundleFile], engine: Engine) -> list[tuple[str, int | None, str | None]]:
    with pytest.raises(ValidationFailed) as caught:
        engine.validate(files)
    return [(p.file, p.line, p.element_id) for p in caught.value.problems]


BROKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="x">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="no_form"/>
    <bpmn:userTask id="no_form" name="x"/>
    <bpmn:sequenceFlow id="f2" sourceRef="no_form" targetRef="missing_form"/>
    <bpmn:userTask id="missing_form"><bpmn:extensionElements><spiffworkflow:properties><spiffworkflow:property name="formJsonSchemaFilename" value="nope.schema.json"/></spiffworkflow:properties></bpmn:extensionElements></bpmn:userTask>
    <bpmn:sequenceFlow id="f3" sourceRef="missing_form" targetRef="gw"/>
    <bpmn:exclusiveGateway id="gw" default="f5"/>
    <bpmn:sequenceFlow id="f4" sourceRef="gw" targetRef="script"><bpmn:conditionExpression>().__class__.__base__.__subclasses__()</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f5" sourceRef="gw" targetRef="rule"/>
    <bpmn:scriptTask id="script"><bpmn:script>import os
os.system("true")</bpmn:script></bpmn:scriptTask>
    <bpmn:businessRuleTask id="rule"><bpmn:extensionElements><spiffworkflow:calledDecisionId>no_such_table</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>
    <bpmn:complexGateway id="cx"/>
    <bpmn:callActivity id="call" calledElement="ghost"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_bad_bundle_lists_every_problem_with_file_line_and_element(engine: Engine) -> None:
    problems = _problems([BundleFile("broken.bpmn", BROKEN)], engine)
    by_element = {element: (file, line) for file, line, element in problems}
    assert set(by_element) >= {"missing_form", "f4", "script", "rule", "cx", "call"}
    assert "no_form" not in by_element  # a user task without a form is a confirmation: a warning
    assert by_element["missing_form"] == ("broken.bpmn", 8)
    assert by_element["f4"] == ("broken.bpmn", 11)
    assert by_element["script"][1] in (13, 14)
    assert all(file == "broken.bpmn" for file, _, _ in problems)


def test_schema_errors_and_malformed_xml_name_the_line(engine: Engine) -> None:
    bad_schema = BROKEN.replace(
        b'<bpmn:startEvent id="s"/>', b'<bpmn:startEvent id="s" bogus="1"/>'
    )
    problems = _problems([BundleFile("a.bpmn", bad_schema)], engine)
    assert problems[0][0] == "a.bpmn" and problems[0][1] == 4
    problems = _problems([BundleFile("b.bpmn", b"<bpmn:definitions\n  <oops")], engine)
    assert problems[0][0] == "b.bpmn" and problems[0][1] is not None


def test_bad_forms_are_reported(engine: Engine) -> None:
    files = bundle("loop.bpmn")
    files = [f for f in files if f.filename != "check.schema.json"]
    files.append(
        BundleFile("check.schema.json", b'{"type": "object",\n "properties": {"x": {"type": 7}}}')
    )
    problems = _problems(files, engine)
    assert ("check.schema.json", None, None) in problems
    files[-1] = BundleFile("check.schema.json", b'{"type": \n nope}')
    problems = _problems(files, engine)
    assert problems[0][:2] == ("check.schema.json", 2)


def test_validation_failure_deploys_nothing(engine: Engine) -> None:
    files = [*bundle("loop.bpmn"), BundleFile("broken.bpmn", BROKEN)]
    with pytest.raises(ValidationFailed):
        engine.deploy(files, DESIGNER)
    with engine.db.session() as s:
        assert defs.list_definitions(s) == []


def test_fixture_bundles_are_valid(engine: Engine) -> None:
    for name in sorted(p.name for p in (FIXTURES / "bpmn").iterdir()):
        engine.validate(bundle(name))


def test_the_shipped_processes_deploy(engine: Engine) -> None:
    root = FIXTURES.parent.parent
    paths = sorted((root / "processes").glob("*.bpmn")) + sorted((root / "processes").glob("*.dmn"))
    paths += sorted((root / "forms").glob("*.json"))
    versions = engine.deploy(defs.files_from_paths(paths), DESIGNER)
    assert "dispute" in {v.process_id for v in versions}
    assert all(v.version == 1 and v.created for v in versions)
