"""A small BPMN writer with a grid layout, used to produce the shipped process files.

The committed ``processes/*.bpmn`` files are the source that designers edit (in bpmn.io or
Camunda Modeler); this kit only produced their first version, so that some 60 shapes and edges got
consistent coordinates. A model is a list of lanes (each with one or more rows), nodes placed on
(column, lane, row) and flows with an exit side, an entry side and, for loops, a channel.

Layout conventions: the pool's lanes are stacked top to bottom; a lane row is ``ROW_H`` high; a
column is as wide as its widest shape plus ``COL_GAP``. Edges are orthogonal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NSMAP = {"bpmn": BPMN, "bpmndi": BPMNDI, "dc": DC, "di": DI, "xsi": XSI, "spiffworkflow": SPIFF}

Side = Literal["left", "right", "top", "bottom"]
LabelSide = Literal["left", "right", "top", "bottom", "topleft", "bottomleft"]

SIZES = {
    "startEvent": (36, 36),
    "endEvent": (36, 36),
    "boundaryEvent": (36, 36),
    "exclusiveGateway": (50, 50),
    "parallelGateway": (50, 50),
    "userTask": (110, 80),
    "scriptTask": (110, 80),
    "businessRuleTask": (110, 80),
    "callActivity": (110, 80),
}
ROW_H = 110
COL_GAP = 56
POOL_LABEL_W = 30
LANE_LABEL_W = 30
LANE_PAD = 14
CHANNEL_STEP = 12
CHAR_W = 14  # width of a CJK character at the modeller's 11-12px label font


CJK = "\u3000-\u9fff\uff00-\uffef"
ZH_PUNCT = {",": "，", ";": "；", ":": "："}


def zh(text: str) -> str:
    """Full-width punctuation next to Chinese characters (what caseworkers read)."""
    return re.sub(
        f"(?<=[{CJK}])([,;:])|([,;:])(?=[{CJK}])",
        lambda m: ZH_PUNCT[m.group(1) or m.group(2)],
        text,
    )


def text_width(text: str) -> int:
    return sum(CHAR_W if ord(ch) > 0x2E7F else 7 for ch in text)


@dataclass
class Lane:
    id: str
    name: str
    rows: int = 1
    row_heights: dict[int, int] = field(default_factory=dict)
    channels: int = 0  # horizontal channels below the last row, for loop edges


@dataclass
class Node:
    id: str
    kind: str
    name: str
    lane: str
    col: int
    row: int = 0
    props: dict[str, str] = field(default_factory=dict)
    script: str | None = None
    decision: str | None = None
    called: str | None = None
    timer: str | None = None  # timeDate expression for a boundary timer
    attached_to: str | None = None
    interrupting: bool = True
    message: str | None = None  # message name (start of an event sub-process)
    message_var: str | None = None
    multi: dict[str, str] | None = None  # loop_input, input_item, loop_output, output_item
    post_script: str | None = None
    documentation: str | None = None
    label_side: LabelSide = "bottom"
    label_dx: int = 0


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str | None = None
    condition: str | None = None
    default: bool = False
    exit: Side | None = None
    enter: Side | None = None
    channel: tuple[str, int] | None = None  # (lane id, channel index) for a loop edge
    via: list[tuple[float, float]] | None = None  # explicit bend points
    label_at: Literal["start", "end", "mid"] = "start"
    label_dx: int = 0
    label_dy: int = 0


@dataclass
class EventSubprocess:
    """A non-interrupting message event sub-process: start (message) → user task → end."""

    id: str
    name: str
    lane: str
    col: int
    row: int
    start: Node
    task: Node
    end: Node
    width: int = 330
    height: int = 150


@dataclass
class Box:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def side(self, side: Side) -> tuple[float, float]:
        return {
            "left": (self.x, self.cy),
            "right": (self.right, self.cy),
            "top": (self.cx, self.y),
            "bottom": (self.cx, self.bottom),
        }[side]

    def overlaps(self, other: Box, margin: float = 0) -> bool:
        return not (
            self.right + margin <= other.x
            or other.right + margin <= self.x
            or self.bottom + margin <= other.y
            or other.bottom + margin <= self.y
        )


@dataclass
class Model:
    process_id: str
    process_name: str
    lanes: list[Lane]
    nodes: list[Node]
    flows: list[Flow]
    event_subprocesses: list[EventSubprocess] = field(default_factory=list)
    documentation: str | None = None
    messages: dict[str, str] = field(default_factory=dict)  # message id -> name
    min_col_width: dict[int, int] = field(default_factory=dict)
    # Names of task-data variables that multi-instance loops reference (loopDataInputRef/
    # loopDataOutputRef are ID references in BPMN; declaring them keeps modellers from dropping
    # the reference on save). SpiffWorkflow still reads them from the task data.
    data_objects: dict[str, str] = field(default_factory=dict)
    x0: int = 20
    y0: int = 20


class Layout:
    """Coordinates of every lane, column, node and edge of a model."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.node_by_id = {n.id: n for n in model.nodes}
        self.col_w: dict[int, float] = {}
        for n in model.nodes:
            if n.kind == "boundaryEvent":
                continue
            w = SIZES[n.kind][0]
            self.col_w[n.col] = max(self.col_w.get(n.col, 0), w)
        for esp in model.event_subprocesses:
            self.col_w[esp.col] = max(self.col_w.get(esp.col, 0), 110)
        for c, w in model.min_col_width.items():
            self.col_w[c] = max(self.col_w.get(c, 0), w)
        ncols = max(self.col_w) + 1
        self.col_x: dict[int, float] = {}
        x = model.x0 + POOL_LABEL_W + LANE_LABEL_W + COL_GAP / 2
        for c in range(ncols):
            w = self.col_w.get(c, 50)
            self.col_x[c] = x + w / 2  # centre of the column
            x += w + COL_GAP
        self.width = x - model.x0 + COL_GAP / 2
        # lanes
        self.lane_box: dict[str, Box] = {}
        self.row_cy: dict[tuple[str, int], float] = {}
        self.channel_y: dict[tuple[str, int], float] = {}
        y = float(model.y0)
        for lane in model.lanes:
            top = y
            y += LANE_PAD
            for r in range(lane.rows):
                h = lane.row_heights.get(r, ROW_H)
                self.row_cy[(lane.id, r)] = y + h / 2
                y += h
            for c in range(lane.channels):
                self.channel_y[(lane.id, c)] = y + CHANNEL_STEP * (c + 0.5)
            y += CHANNEL_STEP * lane.channels + LANE_PAD
            self.lane_box[lane.id] = Box(
                model.x0 + POOL_LABEL_W, top, self.width - POOL_LABEL_W, y - top
            )
        self.height = y - model.y0
        self.pool = Box(model.x0, model.y0, self.width, self.height)
        # nodes
        self.box: dict[str, Box] = {}
        for n in model.nodes:
            if n.kind == "boundaryEvent":
                continue
            w, h = SIZES[n.kind]
            cx, cy = self.col_x[n.col], self.row_cy[(n.lane, n.row)]
            self.box[n.id] = Box(cx - w / 2, cy - h / 2, w, h)
        for n in model.nodes:
            if n.kind == "boundaryEvent":
                assert n.attached_to is not None
                host = self.box[n.attached_to]
                self.box[n.id] = Box(host.cx + 12, host.bottom - 18, 36, 36)
        for esp in model.event_subprocesses:
            cx, cy = self.col_x[esp.col], self.row_cy[(esp.lane, esp.row)]
            outer = Box(cx - 55, cy - esp.height / 2, esp.width, esp.height)
            self.box[esp.id] = outer
            inner_cy = outer.y + 30 + (esp.height - 30) / 2
            self.box[esp.start.id] = Box(outer.x + 30, inner_cy - 18, 36, 36)
            self.box[esp.task.id] = Box(outer.cx - 55, inner_cy - 40, 110, 80)
            self.box[esp.end.id] = Box(outer.right - 66, inner_cy - 18, 36, 36)

    # ---------------------------------------------------------------- edges

    def waypoints(self, f: Flow) -> list[tuple[float, float]]:
        s, t = self.box[f.source], self.box[f.target]
        exit_side: Side = f.exit or self._default_exit(s, t)
        enter_side: Side = f.enter or self._default_enter(s, t, exit_side)
        p0, p1 = s.side(exit_side), t.side(enter_side)
        if f.via is not None:
            return [p0, *f.via, p1]
        pts: list[tuple[float, float]] = [p0]
        horizontal_out = exit_side in ("left", "right")
        horizontal_in = enter_side in ("left", "right")
        if f.channel is not None:
            cy = self.channel_y[f.channel]
            pts += [(p0[0], cy), (p1[0], cy)]
        elif horizontal_out and horizontal_in:
            if abs(p0[1] - p1[1]) > 0.5:
                mx = (p0[0] + p1[0]) / 2
                pts += [(mx, p0[1]), (mx, p1[1])]
        elif horizontal_out and not horizontal_in:
            pts.append((p1[0], p0[1]))
        elif not horizontal_out and horizontal_in:
            pts.append((p0[0], p1[1]))
        else:
            if abs(p0[0] - p1[0]) > 0.5:
                my = (p0[1] + p1[1]) / 2
                pts += [(p0[0], my), (p1[0], my)]
        pts.append(p1)
        return _dedupe(pts)

    @staticmethod
    def _default_exit(s: Box, t: Box) -> Side:
        if t.x >= s.right:
            return "right"
        return "bottom" if t.cy > s.cy else "top"

    @staticmethod
    def _default_enter(s: Box, t: Box, exit_side: Side) -> Side:
        if exit_side == "right":
            if abs(s.cy - t.cy) < 1:
                return "left"
            return "left"
        if exit_side in ("top", "bottom"):
            if abs(s.cx - t.cx) < 1:
                return "bottom" if exit_side == "top" else "top"
            return "left" if t.x >= s.cx else "right"
        return "right"

    def label_box(self, f: Flow, pts: list[tuple[float, float]]) -> Box | None:
        if not f.name:
            return None
        w, h = text_width(zh(f.name)) + 4, 14
        if f.label_at == "end":
            (ax, ay), (bx, by) = pts[-2], pts[-1]
        elif f.label_at == "mid":
            i = max(0, len(pts) // 2 - 1)
            (ax, ay), (bx, by) = pts[i], pts[i + 1]
        else:
            (ax, ay), (bx, by) = pts[0], pts[1]
        if abs(ay - by) < 0.5:  # horizontal segment: label above it
            x = (ax + 6) if bx >= ax else (ax - 6 - w)
            if f.label_at != "start":
                x = (ax + bx) / 2 - w / 2
            box = Box(x, ay - h - 3, w, h)
        else:  # vertical segment: label right of it
            y = (ay + 4) if by >= ay else (ay - 4 - h)
            if f.label_at != "start":
                y = (ay + by) / 2 - h / 2
            box = Box(ax + 5, y, w, h)
        return Box(box.x + f.label_dx, box.y + f.label_dy, box.w, box.h)

    def node_label_box(self, n: Node) -> Box | None:
        if n.kind not in ("startEvent", "endEvent", "boundaryEvent", "exclusiveGateway"):
            return None
        if not n.name:
            return None
        b = self.box[n.id]
        lines = _wrap(zh(n.name), 7)
        w = max(text_width(line) for line in lines) + 4
        h = 14 * len(lines)
        if n.label_side == "top":
            return Box(b.cx - w / 2 + n.label_dx, b.y - h - 4, w, h)
        if n.label_side == "topleft":
            return Box(b.cx - w - 8, b.y - h + 4, w, h)
        if n.label_side == "bottomleft":
            return Box(b.cx - w - 8, b.bottom - 4, w, h)
        if n.label_side == "left":
            return Box(b.x - w - 4, b.cy - h / 2, w, h)
        if n.label_side == "right":
            return Box(b.right + 4, b.cy - h / 2, w, h)
        return Box(b.cx - w / 2 + n.label_dx, b.bottom + 4, w, h)

    # ---------------------------------------------------------------- checks

    def problems(self) -> list[str]:
        """Overlapping shapes, edges through shapes, labels over shapes (layout smells)."""
        found: list[str] = []
        top = [n for n in self.model.nodes if n.kind != "boundaryEvent"]
        boxes = [(n.id, self.box[n.id]) for n in top]
        boxes += [(e.id, self.box[e.id]) for e in self.model.event_subprocesses]
        for i, (a, ba) in enumerate(boxes):
            for b, bb in boxes[i + 1 :]:
                if ba.overlaps(bb, margin=8):
                    found.append(f"shapes {a} and {b} overlap or touch")
        for f in self.model.flows:
            pts = self.waypoints(f)
            for k in range(len(pts) - 1):
                for nid, b in boxes:
                    if nid in (f.source, f.target):
                        continue
                    if self._attached(nid, f.source) or self._attached(nid, f.target):
                        continue
                    if _segment_hits(pts[k], pts[k + 1], b):
                        found.append(f"flow {f.id} crosses {nid}")
            lb = self.label_box(f, pts)
            if lb is not None:
                for nid, b in boxes:
                    if lb.overlaps(b):
                        found.append(f"label of {f.id} covers {nid}")
        return found

    def _attached(self, nid: str, other: str) -> bool:
        n = self.node_by_id.get(other)
        return n is not None and n.attached_to == nid


def _wrap(text: str, n: int) -> list[str]:
    if len(text) <= n:
        return [text]
    return [text[i : i + n] for i in range(0, len(text), n)]


def _dedupe(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for p in pts:
        if not out or abs(out[-1][0] - p[0]) > 0.01 or abs(out[-1][1] - p[1]) > 0.01:
            out.append(p)
    # drop collinear middle points
    i = 1
    while i < len(out) - 1:
        (ax, ay), (bx, by), (cx, cy) = out[i - 1], out[i], out[i + 1]
        if (abs(ax - bx) < 0.01 and abs(bx - cx) < 0.01) or (
            abs(ay - by) < 0.01 and abs(by - cy) < 0.01
        ):
            out.pop(i)
        else:
            i += 1
    return out


def _segment_hits(a: tuple[float, float], b: tuple[float, float], box: Box) -> bool:
    x1, x2 = sorted((a[0], b[0]))
    y1, y2 = sorted((a[1], b[1]))
    inner = Box(box.x + 1, box.y + 1, box.w - 2, box.h - 2)
    return not (x2 < inner.x or x1 > inner.right or y2 < inner.y or y1 > inner.bottom)


# -------------------------------------------------------------------- XML


def _q(ns: str, tag: str) -> str:
    return f"{{{ns}}}{tag}"


def _num(v: float) -> str:
    return str(round(v))


def _sub(parent: etree._Element, ns: str, tag: str, **attrs: str) -> etree._Element:
    el = etree.SubElement(parent, _q(ns, tag))
    for k, v in attrs.items():
        el.set(k, v)
    return el


def _properties(parent: etree._Element, props: dict[str, str]) -> None:
    if not props:
        return
    ext = parent.find(_q(BPMN, "extensionElements"))
    if ext is None:
        ext = _sub(parent, BPMN, "extensionElements")
    container = _sub(ext, SPIFF, "properties")
    for k, v in props.items():
        _sub(container, SPIFF, "property", name=k, value=v)


def _expression(parent: etree._Element, tag: str, text: str) -> None:
    el = _sub(parent, BPMN, tag)
    el.set(_q(XSI, "type"), "bpmn:tFormalExpression")
    el.text = text


def _flow_node(
    parent: etree._Element,
    n: Node,
    incoming: dict[str, list[str]],
    outgoing: dict[str, list[str]],
    defaults: dict[str, str],
    messages: dict[str, str],
) -> etree._Element:
    el = _sub(parent, BPMN, n.kind, id=n.id, name=zh(n.name))
    if n.kind == "callActivity" and n.called:
        el.set("calledElement", n.called)
    if n.kind == "boundaryEvent":
        assert n.attached_to is not None
        el.set("attachedToRef", n.attached_to)
        el.set("cancelActivity", "true" if n.interrupting else "false")
    if n.kind == "startEvent" and n.message and not n.interrupting:
        el.set("isInterrupting", "false")
    if n.id in defaults:
        el.set("default", defaults[n.id])
    if n.documentation:
        _sub(el, BPMN, "documentation").text = zh(n.documentation)
    if n.decision or n.post_script:
        ext = _sub(el, BPMN, "extensionElements")
        if n.decision:
            _sub(ext, SPIFF, "calledDecisionId").text = n.decision
        if n.post_script:
            _sub(ext, SPIFF, "postScript").text = n.post_script
    _properties(el, n.props)
    for fid in incoming.get(n.id, []):
        _sub(el, BPMN, "incoming").text = fid
    for fid in outgoing.get(n.id, []):
        _sub(el, BPMN, "outgoing").text = fid
    if n.multi:
        mi = _sub(el, BPMN, "multiInstanceLoopCharacteristics")
        if n.post_script:
            mi.set(_q(SPIFF, "scriptsOnInstances"), "true")
        _sub(mi, BPMN, "loopDataInputRef").text = n.multi["loop_input"]
        _sub(mi, BPMN, "loopDataOutputRef").text = n.multi["loop_output"]
        _sub(mi, BPMN, "inputDataItem", id=n.multi["input_item"], name=n.multi["input_item"])
        _sub(mi, BPMN, "outputDataItem", id=n.multi["output_item"], name=n.multi["output_item"])
    if n.kind == "scriptTask" and n.script is not None:
        _sub(el, BPMN, "script").text = n.script
    if n.timer:
        td = _sub(el, BPMN, "timerEventDefinition", id=f"{n.id}_def")
        _expression(td, "timeDate", n.timer)
    if n.message:
        mid = next(k for k, v in messages.items() if v == n.message)
        md = _sub(el, BPMN, "messageEventDefinition", id=f"{n.id}_def", messageRef=mid)
        if n.message_var:
            ext = _sub(md, BPMN, "extensionElements")
            _sub(ext, SPIFF, "messageVariable").text = n.message_var
    return el


def _flow_el(parent: etree._Element, f: Flow) -> None:
    el = _sub(parent, BPMN, "sequenceFlow", id=f.id, sourceRef=f.source, targetRef=f.target)
    if f.name:
        el.set("name", zh(f.name))
    if f.condition:
        _expression(el, "conditionExpression", f.condition)


def _edge_maps(flows: Iterable[Flow]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    inc: dict[str, list[str]] = {}
    out: dict[str, list[str]] = {}
    for f in flows:
        out.setdefault(f.source, []).append(f.id)
        inc.setdefault(f.target, []).append(f.id)
    return inc, out


def build_xml(model: Model, layout: Layout) -> bytes:
    root = etree.Element(_q(BPMN, "definitions"), nsmap=NSMAP)
    root.set("id", f"defs_{model.process_id}")
    root.set("targetNamespace", "https://bihuan.example/processes")
    root.set("exporter", "bihuan processes/_tools")
    root.set("exporterVersion", "1")
    collab_id = f"collab_{model.process_id}"
    collab = _sub(root, BPMN, "collaboration", id=collab_id)
    participant_id = f"pool_{model.process_id}"
    _sub(
        collab,
        BPMN,
        "participant",
        id=participant_id,
        name=model.process_name,
        processRef=model.process_id,
    )
    for mid, name in model.messages.items():
        _sub(root, BPMN, "message", id=mid, name=name)
    proc = _sub(root, BPMN, "process", id=model.process_id, name=model.process_name)
    proc.set("isExecutable", "true")
    if model.documentation:
        _sub(proc, BPMN, "documentation").text = zh(model.documentation)
    lane_set = _sub(proc, BPMN, "laneSet", id=f"lanes_{model.process_id}")
    for lane in model.lanes:
        lel = _sub(lane_set, BPMN, "lane", id=lane.id, name=lane.name)
        members = [n.id for n in model.nodes if n.lane == lane.id]
        members += [e.id for e in model.event_subprocesses if e.lane == lane.id]
        for nid in members:
            _sub(lel, BPMN, "flowNodeRef").text = nid
    for oid, oname in model.data_objects.items():
        _sub(proc, BPMN, "dataObject", id=oid, name=oname)
    inc, out = _edge_maps(model.flows)
    defaults = {f.source: f.id for f in model.flows if f.default}
    for n in model.nodes:
        _flow_node(proc, n, inc, out, defaults, model.messages)
    for esp in model.event_subprocesses:
        sp = _sub(proc, BPMN, "subProcess", id=esp.id, name=zh(esp.name), triggeredByEvent="true")
        inner = [
            Flow(f"{esp.id}_f1", esp.start.id, esp.task.id),
            Flow(f"{esp.id}_f2", esp.task.id, esp.end.id),
        ]
        i2, o2 = _edge_maps(inner)
        for n in (esp.start, esp.task, esp.end):
            _flow_node(sp, n, i2, o2, {}, model.messages)
        for f in inner:
            _flow_el(sp, f)
    for f in model.flows:
        _flow_el(proc, f)

    # ---- diagram
    diagram = _sub(root, BPMNDI, "BPMNDiagram", id=f"diagram_{model.process_id}")
    plane = _sub(
        diagram, BPMNDI, "BPMNPlane", id=f"plane_{model.process_id}", bpmnElement=collab_id
    )

    def shape(element: str, b: Box, label: Box | None = None, **attrs: str) -> None:
        sh = _sub(plane, BPMNDI, "BPMNShape", id=f"{element}_di", bpmnElement=element, **attrs)
        _sub(sh, DC, "Bounds", x=_num(b.x), y=_num(b.y), width=_num(b.w), height=_num(b.h))
        if label is not None:
            lab = _sub(sh, BPMNDI, "BPMNLabel")
            _sub(
                lab,
                DC,
                "Bounds",
                x=_num(label.x),
                y=_num(label.y),
                width=_num(label.w),
                height=_num(label.h),
            )

    shape(participant_id, layout.pool, isHorizontal="true")
    for lane in model.lanes:
        shape(lane.id, layout.lane_box[lane.id], isHorizontal="true")
    for n in model.nodes:
        attrs = {"isMarkerVisible": "true"} if n.kind == "exclusiveGateway" else {}
        shape(n.id, layout.box[n.id], layout.node_label_box(n), **attrs)
    for esp in model.event_subprocesses:
        shape(esp.id, layout.box[esp.id], isExpanded="true")
        for n in (esp.start, esp.task, esp.end):
            shape(n.id, layout.box[n.id], layout.node_label_box(n))

    def edge(fid: str, pts: list[tuple[float, float]], label: Box | None) -> None:
        ed = _sub(plane, BPMNDI, "BPMNEdge", id=f"{fid}_di", bpmnElement=fid)
        for x, y in pts:
            _sub(ed, DI, "waypoint", x=_num(x), y=_num(y))
        if label is not None:
            lab = _sub(ed, BPMNDI, "BPMNLabel")
            _sub(
                lab,
                DC,
                "Bounds",
                x=_num(label.x),
                y=_num(label.y),
                width=_num(label.w),
                height=_num(label.h),
            )

    for f in model.flows:
        pts = layout.waypoints(f)
        edge(f.id, pts, layout.label_box(f, pts))
    for esp in model.event_subprocesses:
        s, t, e = (layout.box[n.id] for n in (esp.start, esp.task, esp.end))
        edge(f"{esp.id}_f1", [s.side("right"), t.side("left")], None)
        edge(f"{esp.id}_f2", [t.side("right"), e.side("left")], None)

    etree.indent(root, space="  ")
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return body
