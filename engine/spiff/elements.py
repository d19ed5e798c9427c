"""BPMN elements as the engine reads them: namespaces, the flow nodes it runs, the facts kept per
element of a deployed definition (type, name, lane, properties)."""

from __future__ import annotations

from typing import Any

from lxml import etree

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"

SUPPORTED_FLOW_NODES = {
    "startEvent", "endEvent", "userTask", "task", "manualTask", "scriptTask", "subProcess",
    "transaction", "callActivity", "businessRuleTask", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "receiveTask", "sendTask",
}  # fmt: skip


def local_name(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def ns_of(tag: Any) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def properties_of(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in node.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    ):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def spiff_ext(node: Any, name: str) -> Any:
    return node.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}{name}")


def lane_map(process: Any) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id", "")
    return lanes


def element_facts(trees: dict[str, Any]) -> dict[str, Any]:
    elements: dict[str, Any] = {}
    for file, root in trees.items():
        if not file.lower().endswith(".bpmn"):
            continue
        for proc in root.iter(f"{{{BPMN_NS}}}process"):
            lanes = lane_map(proc)
            for node in proc.iter():
                if not isinstance(node.tag, str) or ns_of(node.tag) != BPMN_NS:
                    continue
                tag = local_name(node.tag)
                if tag not in SUPPORTED_FLOW_NODES and tag != "sequenceFlow":
                    continue
                nid = node.get("id")
                elements[nid] = {
                    "type": tag,
                    "name": node.get("name") or nid,
                    "process": proc.get("id"),
                    "lane": lanes.get(nid),
                    "properties": properties_of(node),
                    "top_level": node.getparent() is proc,
                }
                message = _message_name(root, node)
                if message:
                    elements[nid]["message"] = message
    return elements


def _message_name(root: Any, node: Any) -> str | None:
    """The name of the message a catching event waits for (its form validates the payload)."""
    definition = node.find(f"{{{BPMN_NS}}}messageEventDefinition")
    if definition is None and node.get("messageRef"):  # a receive task names it itself
        definition = node
    if definition is None or not definition.get("messageRef"):
        return None
    for message in root.iter(f"{{{BPMN_NS}}}message"):
        if message.get("id") == definition.get("messageRef"):
            return str(message.get("name") or message.get("id"))
    return None


__all__ = [
    "BPMN_NS",
    "FORM_PROPERTY",
    "SPIFF_NS",
    "SUPPORTED_FLOW_NODES",
    "UI_FORM_PROPERTY",
    "element_facts",
    "lane_map",
    "local_name",
    "ns_of",
    "properties_of",
    "spiff_ext",
]
