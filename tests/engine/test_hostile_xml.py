"""XML with a DTD, external entities or entity expansion is refused before parsing."""

from __future__ import annotations

import pytest

from engine.errors import ValidationFailed
from engine.sandbox import Sandbox
from engine.spiff import BundleFile, compile_bundle
from engine.spiff.xmlsafety import UnsafeXml, parse_xml

HOSTILE = {
    "billion_laughs": b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol2;</bpmn:definitions>""",
    "external_entity": b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&xxe;</bpmn:definitions>""",
    "external_dtd": b"""<?xml version="1.0"?>
<!DOCTYPE d SYSTEM "http://127.0.0.1:9/evil.dtd">
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>""",
    "parameter_entity": b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>""",
    "lowercase_doctype": b"""<?xml version="1.0"?>
<!doctype d [<!entity e "x">]>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>""",
    "utf16_doctype": '<?xml version="1.0" encoding="UTF-16"?>\n<!DOCTYPE d [<!ENTITY e "x">]>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"/>'.encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_xml_is_refused_before_parsing(name: str) -> None:
    with pytest.raises(UnsafeXml) as caught:
        parse_xml(HOSTILE[name])
    assert caught.value.line in (1, 2)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_bundles_are_refused_with_a_problem(name: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        compile_bundle([BundleFile(f"{name}.bpmn", HOSTILE[name])], Sandbox())
    problem = caught.value.problems[0]
    assert problem.file == f"{name}.bpmn"
    assert "refused" in problem.message or "not a text XML" in problem.message


def test_plain_xml_parses() -> None:
    root = parse_xml(b'<a xmlns="urn:x"><b/></a>')
    assert root.tag == "{urn:x}a"
