"""Standard BPMN made explicit for SpiffWorkflow's parser; the deployed file is kept byte for byte,
only the tree handed to the parser changes.

**Implicit splits.** BPMN lets an activity have several outgoing sequence flows: without
conditions every flow is taken (an implicit parallel split); with conditions each flow whose
condition holds is taken (an implicit inclusive split, the activity's ``default`` flow when none
does). Modelers write
both; SpiffWorkflow 3.2.0 refuses them ("Multiple outgoing flows are not supported…"). Before
parsing, each such activity gets a gateway of the matching kind right after it, with the id
``<activity id>__split``: the same behaviour, in a form the parser runs.

**Messages without a name.** A ``bpmn:message`` needs only an id; SpiffWorkflow matches messages
by name and would wait for ``None``. A message without a name is named by its id (the name the
API then delivers it by).
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from engine.spiff.elements import BPMN_NS, local_name

_ACTIVITIES = frozenset({
    "task", "userTask", "manualTask", "scriptTask", "businessRuleTask", "sendTask",
    "receiveTask", "subProcess", "transaction", "callActivity",
})  # fmt: skip


def _tag(name: str) -> str:
    return f"{{{BPMN_NS}}}{name}"


def _split(container: Any, activity: Any, flows: list[Any]) -> None:
    aid = activity.get("id")
    conditional = any(f.find(_tag("conditionExpression")) is not None for f in flows)
    gateway = etree.SubElement(
        container, _tag("inclusiveGateway" if conditional else "parallelGateway")
    )
    gateway.set("id", f"{aid}__split")
    gateway.set("name", activity.get("name") or aid)
    link = etree.SubElement(container, _tag("sequenceFlow"))
    link.set("id", f"{aid}__to_split")
    link.set("sourceRef", aid)
    link.set("targetRef", gateway.get("id"))
    default = activity.attrib.pop("default", None)
    for flow in flows:
        flow.set("sourceRef", gateway.get("id"))
        if not conditional or flow.get("id") == default:
            continue
        if flow.find(_tag("conditionExpression")) is None:
            expr = etree.SubElement(flow, _tag("conditionExpression"))
            expr.text = "True"  # an unconditional flow beside conditional ones is always taken
    if default is not None:
        gateway.set("default", default)


def name_messages(root: Any) -> None:
    """Give each ``bpmn:message`` without a name its id as name (see the module's docstring)."""
    for message in root.iter(_tag("message")):
        if not (message.get("name") or "").strip() and message.get("id"):
            message.set("name", message.get("id"))


def make_splits_explicit(root: Any) -> list[str]:
    """Insert the gateways (see the module's docstring); the ids of the activities changed."""
    changed: list[str] = []
    containers = [*root.iter(_tag("process")), *root.iter(_tag("subProcess")),
                  *root.iter(_tag("transaction"))]  # fmt: skip
    for container in containers:
        outgoing: dict[str, list[Any]] = {}
        for flow in container.iterfind(_tag("sequenceFlow")):
            outgoing.setdefault(flow.get("sourceRef") or "", []).append(flow)
        for node in list(container):
            if not isinstance(node.tag, str) or local_name(node.tag) not in _ACTIVITIES:
                continue
            flows = outgoing.get(node.get("id") or "", [])
            if len(flows) > 1:
                _split(container, node, flows)
                changed.append(node.get("id"))
    return changed


__all__ = ["make_splits_explicit", "name_messages"]
