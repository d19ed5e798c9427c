"""Validate and compile a bundle of BPMN/DMN/form files into process specs.

Every problem is collected (file, line, element id, message) before anything is refused; the
SpiffWorkflow parser itself runs only on files that passed our own checks, and its first error is
translated to a :class:`~engine.errors.Problem` too. Nothing here raises a traceback at a user.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.errors import Problem, ValidationFailed
from engine.sandbox.restricted import Sandbox, SandboxViolation
from engine.spiff.serializer import spec_to_dict
from engine.spiff.xmlsafety import UnsafeXml, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"

SUPPORTED_FLOW_NODES = {
    "startEvent", "endEvent", "userTask", "task", "manualTask", "scriptTask", "subProcess",
    "transaction", "callActivity", "businessRuleTask", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent", "intermediateThrowEvent",
    "boundaryEvent", "receiveTask", "sendTask",
}  # fmt: skip
UNSUPPORTED_FLOW_NODES = {
    "complexGateway": "complex gateways are not supported",
    "serviceTask": "service tasks are not supported (bihuan has no connectors); use a script task",
    "adHocSubProcess": "ad-hoc sub-processes are not supported",
}
UNSUPPORTED_EVENT_DEFINITIONS = {
    "linkEventDefinition": "link events are not supported",
    "compensateEventDefinition": "compensation events are not supported",
}
KNOWN_PROCESS_CHILDREN = {
    "sequenceFlow", "laneSet", "extensionElements", "documentation", "dataObject",
    "dataObjectReference", "dataStoreReference", "ioSpecification", "textAnnotation",
    "association", "group", "property", "correlationSubscription",
}  # fmt: skip
EXPRESSION_TAGS = {  # tag -> mode
    "conditionExpression": "eval",
    "timeDate": "eval",
    "timeDuration": "eval",
    "timeCycle": "eval",
    "loopCardinality": "eval",
    "completionCondition": "eval",
}
FORBIDDEN_IDS = {"Start", "End", "Root"}


@dataclass(frozen=True)
class BundleFile:
    filename: str
    content: bytes

    @property
    def kind(self) -> str:
        name = self.filename.lower()
        if name.endswith(".bpmn"):
            return "bpmn"
        if name.endswith(".dmn"):
            return "dmn"
        if name.endswith(".json"):
            return "form"
        return "other"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class CompiledProcess:
    process_id: str
    name: str | None
    source_file: str
    spec: dict[str, Any]
    elements: dict[str, Any]


@dataclass
class CompiledBundle:
    files: list[BundleFile]
    content_hash: str
    processes: dict[str, CompiledProcess] = field(default_factory=dict)
    forms: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


def bundle_hash(files: Iterable[BundleFile]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.filename):
        h.update(f.filename.encode() + b"\0" + f.sha256.encode() + b"\n")
    return h.hexdigest()


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _ns(tag: Any) -> str:
    return etree.QName(tag).namespace or "" if isinstance(tag, str) else ""


def _properties(node: Any) -> dict[str, str]:
    props: dict[str, str] = {}
    for prop in node.iterfind(
        f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"
    ):
        if prop.get("name"):
            props[prop.get("name")] = prop.get("value", "")
    return props


def _spiff_ext(node: Any, name: str) -> Any:
    return node.find(f"{{{BPMN_NS}}}extensionElements/{{{SPIFF_NS}}}{name}")


def _lane_map(process: Any) -> dict[str, str]:
    lanes: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.iterfind(f"{{{BPMN_NS}}}flowNodeRef"):
            if ref.text:
                lanes[ref.text.strip()] = lane.get("name") or lane.get("id", "")
    return lanes


class _Checker:
    def __init__(self, files: list[BundleFile], sandbox: Sandbox) -> None:
        self.files = files
        self.sandbox = sandbox
        self.problems: list[Problem] = []
        self.trees: dict[str, Any] = {}
        self.forms: dict[str, Any] = {}
        self.decisions: dict[str, str] = {}  # decision id -> file
        self.process_files: dict[str, str] = {}  # process id -> file

    def add(
        self, file: str, message: str, line: int | None = None, element: str | None = None
    ) -> None:
        self.problems.append(Problem(file=file, message=message, line=line, element_id=element))

    # -- pass 1: every file on its own
    def load(self) -> None:
        seen: set[str] = set()
        if not self.files:
            self.add("<bundle>", "the bundle is empty: give at least one .bpmn file")
        for f in self.files:
            if f.filename in seen:
                self.add(f.filename, "the same file name appears twice in the bundle")
            seen.add(f.filename)
            if f.kind == "other":
                self.add(f.filename, "unknown file type: expected .bpmn, .dmn or .json (a form)")
            elif f.kind == "form":
                self._load_form(f)
            else:
                self._load_xml(f)
        if not any(f.kind == "bpmn" for f in self.files) and self.files:
            self.add("<bundle>", "the bundle has no .bpmn file")

    def _load_form(self, f: BundleFile) -> None:
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            doc = json.loads(f.content.decode("utf-8"))
        except UnicodeDecodeError:
            self.add(f.filename, "form file is not UTF-8 text")
            return
        except json.JSONDecodeError as exc:
            self.add(f.filename, f"invalid JSON: {exc.msg}", line=exc.lineno)
            return
        if not isinstance(doc, dict):
            self.add(f.filename, "a form file must hold a JSON object")
            return
        if not f.filename.endswith(".uischema.json"):
            try:
                Draft202012Validator.check_schema(doc)
            except SchemaError as exc:
                path = "/".join(str(p) for p in exc.absolute_path) or "(root)"
                self.add(f.filename, f"not a valid JSON Schema at {path}: {exc.message}")
                return
        self.forms[f.filename.rsplit("/", 1)[-1]] = doc

    def _load_xml(self, f: BundleFile) -> None:
        try:
            root = parse_xml(f.content)
        except UnsafeXml as exc:
            self.add(f.filename, exc.message, line=exc.line)
            return
        if f.kind == "bpmn":
            if _local(root.tag) != "definitions" or _ns(root.tag) != BPMN_NS:
                self.add(f.filename, "not a BPMN 2.0 document (root must be bpmn:definitions)", 1)
                return
            schema = VALIDATOR.validator
            if not schema.validate(etree.ElementTree(root)):
                for err in schema.error_log:
                    self.add(f.filename, f"BPMN schema: {err.message}", line=err.line)
                return
            self.trees[f.filename] = root
            for proc in root.iter(f"{{{BPMN_NS}}}process"):
                pid = proc.get("id")
                if pid in self.process_files:
                    self.add(
                        f.filename,
                        f"process id {pid!r} is also defined in {self.process_files[pid]}",
                        proc.sourceline,
                        pid,
                    )
                self.process_files[pid] = f.filename
        else:
            if _ns(root.tag) not in DMN_NAMESPACES or _local(root.tag) != "definitions":
                self.add(f.filename, "not a DMN document (root must be dmn:definitions)", 1)
                return
            self.trees[f.filename] = root
            for dec in root.iter(f"{{{_ns(root.tag)}}}decision"):
                did = dec.get("id")
                if did in self.decisions:
                    self.add(f.filename, f"decision id {did!r} is defined twice", dec.sourceline)
                self.decisions[did] = f.filename

    # -- pass 2: references and expressions
    def check(self) -> None:
        for f in self.files:
            root = self.trees.get(f.filename)
            if root is None:
                continue
            if f.kind == "bpmn":
                self._check_bpmn(f.filename, root)
            else:
                self._check_dmn(f.filename, root)

    def _compile(
        self, file: str, source: str, mode: str, line: int | None, element: str | None
    ) -> None:
        if not source.strip():
            return
        try:
            # The raw text, exactly as SpiffWorkflow will hand it to the sandbox at run time.
            self.sandbox.compile(source, "exec" if mode == "exec" else "eval", filename=file)
        except SandboxViolation as exc:
            at = line + (exc.line or 1) - 1 if line is not None else exc.line
            self.add(file, f"expression refused: {exc.message}", at, element)

    def _check_bpmn(self, file: str, root: Any) -> None:
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            nid = node.get("id")
            if nid in FORBIDDEN_IDS and _ns(node.tag) == BPMN_NS:
                self.add(file, f"element id {nid!r} is reserved; rename it", node.sourceline, nid)
        for proc in root.iter(f"{{{BPMN_NS}}}process"):
            self._check_container(file, proc, _lane_map(proc))

    def _check_container(self, file: str, container: Any, lanes: dict[str, str]) -> None:
        for node in container:
            if not isinstance(node.tag, str) or _ns(node.tag) != BPMN_NS:
                continue
            tag, nid = _local(node.tag), node.get("id")
            if tag in UNSUPPORTED_FLOW_NODES:
                self.add(file, UNSUPPORTED_FLOW_NODES[tag], node.sourceline, nid)
                continue
            if tag not in SUPPORTED_FLOW_NODES and tag not in KNOWN_PROCESS_CHILDREN:
                self.add(file, f"unsupported element bpmn:{tag}", node.sourceline, nid)
                continue
            self._check_node(file, node, tag, nid)
            if tag in ("subProcess", "transaction"):
                self._check_container(file, node, lanes)

    def _check_node(self, file: str, node: Any, tag: str, nid: str | None) -> None:
        for child in node.iter():
            if not isinstance(child.tag, str):
                continue
            ctag = _local(child.tag)
            if ctag in UNSUPPORTED_EVENT_DEFINITIONS and _ns(child.tag) == BPMN_NS:
                self.add(file, UNSUPPORTED_EVENT_DEFINITIONS[ctag], child.sourceline, nid)
            if ctag in EXPRESSION_TAGS and child.text and child.getparent() is not None:
                owner = child.getparent()
                owner_id = owner.get("id") or nid
                self._compile(file, child.text, EXPRESSION_TAGS[ctag], child.sourceline, owner_id)
            if _ns(child.tag) == SPIFF_NS and ctag in ("preScript", "postScript") and child.text:
                self._compile(file, child.text, "exec", child.sourceline, nid)
            if _ns(child.tag) == SPIFF_NS and ctag == "messagePayload" and child.text:
                self._compile(file, child.text, "eval", child.sourceline, nid)
        if tag == "scriptTask":
            script = node.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                self.add(file, "script task has no script", node.sourceline, nid)
            else:
                self._compile(file, script.text, "exec", script.sourceline, nid)
        if tag == "userTask":
            props = _properties(node)
            form = props.get(FORM_PROPERTY)
            if not form:
                self.add(
                    file,
                    f"user task has no form: set the property {FORM_PROPERTY}",
                    node.sourceline,
                    nid,
                )
            elif form not in self.forms:
                self.add(file, f"form {form!r} is not in the bundle", node.sourceline, nid)
            ui = props.get(UI_FORM_PROPERTY)
            if ui and ui not in self.forms:
                self.add(file, f"UI schema {ui!r} is not in the bundle", node.sourceline, nid)
        if tag == "businessRuleTask":
            ref = _spiff_ext(node, "calledDecisionId")
            did = (ref.text or "").strip() if ref is not None else ""
            if not did:
                self.add(file, "business rule task names no decision", node.sourceline, nid)
            elif did not in self.decisions:
                self.add(file, f"decision {did!r} is not in the bundle", node.sourceline, nid)
        if tag == "callActivity":
            called = node.get("calledElement")
            if not called:
                self.add(file, "call activity names no called process", node.sourceline, nid)
            elif called not in self.process_files:
                self.add(
                    file, f"called process {called!r} is not in the bundle", node.sourceline, nid
                )

    def _check_dmn(self, file: str, root: Any) -> None:
        ns = _ns(root.tag)
        for table in root.iter(f"{{{ns}}}decisionTable"):
            decision = table.getparent()
            did = decision.get("id") if decision is not None else None
            policy = table.get("hitPolicy", "UNIQUE")
            if policy not in ("UNIQUE", "COLLECT"):
                self.add(
                    file,
                    f"hit policy {policy} is not supported (only UNIQUE and COLLECT)",
                    table.sourceline,
                    did,
                )
            for expr in table.iterfind(f"{{{ns}}}input/{{{ns}}}inputExpression/{{{ns}}}text"):
                self._compile(file, expr.text or "", "eval", expr.sourceline, did)
            for rule in table.iterfind(f"{{{ns}}}rule"):
                rid = rule.get("id") or did
                for entry in rule.iterfind(f"{{{ns}}}inputEntry/{{{ns}}}text"):
                    self._check_dmn_entry(file, entry.text or "", entry.sourceline, rid)
                for entry in rule.iterfind(f"{{{ns}}}outputEntry/{{{ns}}}text"):
                    self._compile(file, entry.text or "", "eval", entry.sourceline, rid)

    def _check_dmn_entry(self, file: str, text: str, line: int | None, element: str | None) -> None:
        text = text.strip()
        if not text or text == "-":
            return
        text = re.sub(r"\?", "dmn_input", text)
        candidates = [f"(dmn_input) == ({text})", f"dmn_input {text}", text]
        for source in candidates:
            try:
                self.sandbox.compile(source, "eval", filename=file)
                return
            except SandboxViolation:
                continue
        try:
            self.sandbox.compile(candidates[0], "eval", filename=file)
        except SandboxViolation as exc:
            self.add(file, f"DMN input entry refused: {exc.message}", line, element)

    # -- pass 3: the SpiffWorkflow parser itself
    def compile_specs(self) -> dict[str, CompiledProcess]:
        parser = SpiffBpmnParser(validator=None)
        compiled: dict[str, CompiledProcess] = {}
        try:
            for f in self.files:
                if f.kind == "bpmn":
                    parser.add_bpmn_xml(
                        etree.ElementTree(parse_xml(f.content)), filename=f.filename
                    )
                elif f.kind == "dmn":
                    parser.add_dmn_xml(parse_xml(f.content), filename=f.filename)
            for pid in parser.get_process_ids():
                spec = parser.get_spec(pid)
                subs = parser.get_subprocess_specs(pid)
                root = self.trees[self.process_files[pid]]
                proc = next(p for p in root.iter(f"{{{BPMN_NS}}}process") if p.get("id") == pid)
                compiled[pid] = CompiledProcess(
                    process_id=pid,
                    name=proc.get("name"),
                    source_file=self.process_files[pid],
                    spec=spec_to_dict(spec, subs),
                    elements=self._elements(self.trees),
                )
        except ValidationException as exc:
            line = exc.line_number if isinstance(exc.line_number, int) else None
            self.add(exc.file_name or "<bundle>", str(exc), line, exc.id or None)
        except SpiffWorkflowException as exc:
            self.add("<bundle>", f"cannot build the process: {exc}")
        except Exception as exc:
            self.add("<bundle>", f"the BPMN parser failed: {type(exc).__name__}: {exc}")
        return compiled

    def _elements(self, trees: dict[str, Any]) -> dict[str, Any]:
        elements: dict[str, Any] = {}
        for file, root in trees.items():
            if not file.lower().endswith(".bpmn"):
                continue
            for proc in root.iter(f"{{{BPMN_NS}}}process"):
                lanes = _lane_map(proc)
                for node in proc.iter():
                    if not isinstance(node.tag, str) or _ns(node.tag) != BPMN_NS:
                        continue
                    tag = _local(node.tag)
                    if tag not in SUPPORTED_FLOW_NODES and tag != "sequenceFlow":
                        continue
                    nid = node.get("id")
                    elements[nid] = {
                        "type": tag,
                        "name": node.get("name") or nid,
                        "process": proc.get("id"),
                        "lane": lanes.get(nid),
                        "properties": _properties(node),
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


def compile_bundle(files: list[BundleFile], sandbox: Sandbox) -> CompiledBundle:
    """Check everything, then compile; raise :class:`ValidationFailed` listing every problem."""
    checker = _Checker(files, sandbox)
    checker.load()
    checker.check()
    if checker.problems:
        raise ValidationFailed(checker.problems)
    processes = checker.compile_specs()
    if checker.problems:
        raise ValidationFailed(checker.problems)
    return CompiledBundle(
        files=files, content_hash=bundle_hash(files), processes=processes, forms=checker.forms
    )


__all__ = ["BundleFile", "CompiledBundle", "CompiledProcess", "bundle_hash", "compile_bundle"]
_ = full_tag  # re-exported name kept for parser extension points
