"""The shipped diagrams are drawn legibly: every element has a shape, no two shapes overlap,
lanes hold their elements, and edges are orthogonal and touch the shapes they join."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from tests.processes.support import BPMN_FILES, NS, xml

FLOW_NODE_TAGS = {
    "startEvent", "endEvent", "userTask", "scriptTask", "businessRuleTask", "callActivity",
    "exclusiveGateway", "parallelGateway", "inclusiveGateway", "boundaryEvent", "subProcess",
    "intermediateCatchEvent", "intermediateThrowEvent", "manualTask", "task", "receiveTask",
}  # fmt: skip


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
    root = xml(path)
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
    root = xml(path)
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
    root = xml(path)
    shapes = _shapes(root)
    flows = {
        f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
        for f in root.iter(f"{{{NS['bpmn']}}}sequenceFlow")
    }
    for assoc in root.iter(f"{{{NS['bpmn']}}}dataInputAssociation"):  # data object → task
        flows[assoc.get("id")] = (
            assoc.findtext(f"{{{NS['bpmn']}}}sourceRef"),
            assoc.getparent().get("id"),
        )
    for assoc in root.iter(f"{{{NS['bpmn']}}}dataOutputAssociation"):  # task → data object
        flows[assoc.get("id")] = (
            assoc.getparent().get("id"),
            assoc.findtext(f"{{{NS['bpmn']}}}targetRef"),
        )
    for edge in root.iter(f"{{{NS['bpmndi']}}}BPMNEdge"):
        pts = [
            (float(w.get("x")), float(w.get("y")))
            for w in edge.xpath("./di:waypoint", namespaces=NS)
        ]
        for (ax, ay), (bx, by) in pairwise(pts):
            assert ax == bx or ay == by, f"{path.name}: {edge.get('bpmnElement')} is diagonal"
        source, target = flows[edge.get("bpmnElement")]
        for end, ref in ((pts[0], source), (pts[-1], target)):
            r = shapes[ref]
            on_border = (r.x - 1 <= end[0] <= r.x + r.w + 1) and (
                r.y - 1 <= end[1] <= r.y + r.h + 1
            )
            assert on_border, f"{path.name}: {edge.get('bpmnElement')} misses {ref}"
