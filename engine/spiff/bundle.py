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
from datetime import datetime
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from engine.budget import DEFAULT_BUDGET, ModelBudget
from engine.errors import Problem, ValidationFailed
from engine.sandbox.restricted import Sandbox, SandboxViolation
from engine.spiff.compiling import CompiledProcess, compile_specs
from engine.spiff.elements import (
    BPMN_NS,
    FORM_PROPERTY,
    SPIFF_NS,
    SUPPORTED_FLOW_NODES,
    UI_FORM_PROPERTY,
    lane_map,
    local_name,
    ns_of,
    properties_of,
    spiff_ext,
)
from engine.spiff.limits import bare_timer, loop_problems, timer_problem
from engine.spiff.xmlsafety import UnsafeXml, parse_xml

DMN_NAMESPACES = (
    "https://www.omg.org/spec/DMN/20191111/MODEL/",
    "http://www.omg.org/spec/DMN/20180521/MODEL/",
    "http://www.omg.org/spec/DMN/20151101/dmn.xsd",
)
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
    "association", "group", "property", "correlationSubscription", "auditing", "monitoring",
    "categoryValueRef", "supports", "resourceRole", "performer", "humanPerformer",
    "potentialOwner",
    # what an activity (a sub-process here) holds besides its flow: every modeler writes these
    "incoming", "outgoing", "dataInputAssociation", "dataOutputAssociation",
    "standardLoopCharacteristics", "multiInstanceLoopCharacteristics",
}  # fmt: skip
FLOW = SUPPORTED_FLOW_NODES | set(UNSUPPORTED_FLOW_NODES) | {"sequenceFlow"}
EXPRESSION_TAGS = {  # tag -> mode
    "conditionExpression": "eval",
    "timeDate": "eval",
    "timeDuration": "eval",
    "timeCycle": "eval",
    "loopCardinality": "eval",
    "completionCondition": "eval",
    "loopCondition": "eval",
    "condition": "eval",  # a conditional event's condition
}
TIMER_TAGS = ("timeDate", "timeDuration", "timeCycle")
_CORRELATION_EXPR = ".//{{{ns}}}correlationPropertyRetrievalExpression/{{{ns}}}{tag}"
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


def _own(node: Any) -> Iterable[Any]:
    """``node`` and what belongs to it, without the flow nodes and flows a sub-process holds
    (each is checked on its own)."""
    yield node
    for child in node:
        if not isinstance(child.tag, str):
            continue
        if local_name(child.tag) in FLOW and ns_of(child.tag) == BPMN_NS:
            continue
        yield from child.iter()


class _Checker:
    def __init__(
        self, files: list[BundleFile], sandbox: Sandbox, budget: ModelBudget, now: datetime | None
    ) -> None:
        self.files = files
        self.sandbox = sandbox
        self.budget = budget
        self.now = now
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
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
            if local_name(root.tag) != "definitions" or ns_of(root.tag) != BPMN_NS:
                self.add(f.filename, "not a BPMN 2.0 document (root must be bpmn:definitions)", 1)
                return
            # bpmn.io writes a correlation property's expression as formalExpression where the
            # schema wants messagePath; SpiffWorkflow renames it before validating: so do we.
            for expr in root.iterfind(_CORRELATION_EXPR.format(ns=BPMN_NS, tag="formalExpression")):
                expr.tag = f"{{{BPMN_NS}}}messagePath"
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
            if ns_of(root.tag) not in DMN_NAMESPACES or local_name(root.tag) != "definitions":
                self.add(f.filename, "not a DMN document (root must be dmn:definitions)", 1)
                return
            self.trees[f.filename] = root
            for dec in root.iter(f"{{{ns_of(root.tag)}}}decision"):
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
            hint = ""
            if source.strip()[:2] in ("${", "#{"):
                hint = " (a JUEL/EL expression: bihuan evaluates Python expressions)"
            self.add(file, f"expression refused: {exc.message}{hint}", at, element)

    def _check_bpmn(self, file: str, root: Any) -> None:
        for node in root.iter():
            if not isinstance(node.tag, str):
                continue
            nid = node.get("id")
            if nid in FORBIDDEN_IDS and ns_of(node.tag) == BPMN_NS:
                self.add(file, f"element id {nid!r} is reserved; rename it", node.sourceline, nid)
        for proc in root.iter(f"{{{BPMN_NS}}}process"):
            self._check_container(file, proc, lane_map(proc))
        for store in root.iterfind(f"{{{BPMN_NS}}}dataStore"):
            message = "data stores are not supported (bihuan has no data store connectors)"
            self.add(file, message, store.sourceline, store.get("id"))
        # Correlation properties (outside processes) are evaluated against message payloads.
        for expr in root.iterfind(_CORRELATION_EXPR.format(ns=BPMN_NS, tag="messagePath")):
            prop = expr.getparent().getparent()
            self._compile(file, expr.text or "", "eval", expr.sourceline, prop.get("id"))
        for expr in root.iterfind(
            f".//{{{SPIFF_NS}}}processVariableCorrelation/{{{SPIFF_NS}}}expression"
        ):
            self._compile(file, expr.text or "", "eval", expr.sourceline, None)

    def _check_container(
        self, file: str, container: Any, lanes: dict[str, str], top: bool = True
    ) -> None:
        for node in container:
            if not isinstance(node.tag, str) or ns_of(node.tag) != BPMN_NS:
                continue
            tag, nid = local_name(node.tag), node.get("id")
            if not top and tag not in FLOW:
                continue  # the sub-process's own parts: checked with the sub-process
            if tag in UNSUPPORTED_FLOW_NODES:
                self.add(file, UNSUPPORTED_FLOW_NODES[tag], node.sourceline, nid)
                continue
            if tag not in SUPPORTED_FLOW_NODES and tag not in KNOWN_PROCESS_CHILDREN:
                self.add(file, f"unsupported element bpmn:{tag}", node.sourceline, nid)
                continue
            self._check_node(file, node, tag, nid)
            if tag in ("subProcess", "transaction"):
                self._check_container(file, node, lanes, top=False)

    def _check_node(self, file: str, node: Any, tag: str, nid: str | None) -> None:
        for line, message in loop_problems(node, self.budget):
            self.add(file, message, line, nid)
        for child in _own(node):
            if not isinstance(child.tag, str):
                continue
            ctag = local_name(child.tag)
            if ctag in UNSUPPORTED_EVENT_DEFINITIONS and ns_of(child.tag) == BPMN_NS:
                self.add(file, UNSUPPORTED_EVENT_DEFINITIONS[ctag], child.sourceline, nid)
            if (
                ctag == "timerEventDefinition"
                and ns_of(child.tag) == BPMN_NS
                and not any(
                    (t.text or "").strip()
                    for tag in TIMER_TAGS
                    for t in child.iter(f"{{{BPMN_NS}}}{tag}")
                )
            ):
                self.add(file, "timer event has no timeDate, timeDuration or timeCycle: it could"
                         " never fire", child.sourceline, nid)  # fmt: skip
            if ctag == "timeCycle" and ns_of(child.tag) == BPMN_NS and tag != "boundaryEvent":
                self.add(file, "a timeCycle repeats on a boundary event only; a start or"
                         " intermediate event takes a timeDate or timeDuration",
                         child.sourceline, nid)  # fmt: skip
            if ctag in TIMER_TAGS and child.text and ns_of(child.tag) == BPMN_NS:
                problem = timer_problem(ctag, child.text, self.budget, self.now)
                if problem is not None:
                    self.add(file, problem, child.sourceline, nid)
                if bare_timer(child.text):
                    continue  # a value written without quotes: no expression to compile
            if ctag in EXPRESSION_TAGS and child.text and ns_of(child.tag) == BPMN_NS:
                owner = child.getparent()
                owner_id = (owner.get("id") if owner is not None else None) or nid
                if ctag in TIMER_TAGS or ctag == "condition":
                    owner_id = nid  # the event, not its event definition
                self._compile(file, child.text, EXPRESSION_TAGS[ctag], child.sourceline, owner_id)
            if ns_of(child.tag) == SPIFF_NS and ctag in ("preScript", "postScript") and child.text:
                self._compile(file, child.text, "exec", child.sourceline, nid)
            if ns_of(child.tag) == SPIFF_NS and ctag == "messagePayload" and child.text:
                self._compile(file, child.text, "eval", child.sourceline, nid)
        if tag == "scriptTask":
            script = node.find(f"{{{BPMN_NS}}}script")
            if script is None or not (script.text or "").strip():
                self.add(file, "script task has no script", node.sourceline, nid)
            else:
                self._compile(file, script.text, "exec", script.sourceline, nid)
        if tag == "userTask":
            props = properties_of(node)
            form = props.get(FORM_PROPERTY)
            if not form:
                self.warnings.append(Problem(
                    file=file,
                    message="user task has no form: it is a confirmation, completed with no data"
                    f" (to ask for data, set the property {FORM_PROPERTY})",
                    line=node.sourceline, element_id=nid, severity="warning",
                ))  # fmt: skip
            elif form not in self.forms:
                self.add(file, f"form {form!r} is not in the bundle", node.sourceline, nid)
            ui = props.get(UI_FORM_PROPERTY)
            if ui and ui not in self.forms:
                self.add(file, f"UI schema {ui!r} is not in the bundle", node.sourceline, nid)
        if tag == "businessRuleTask":
            ref = spiff_ext(node, "calledDecisionId")
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
        ns = ns_of(root.tag)
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


def compile_bundle(
    files: list[BundleFile],
    sandbox: Sandbox,
    *,
    budget: ModelBudget = DEFAULT_BUDGET,
    now: datetime | None = None,
) -> CompiledBundle:
    """Check everything, then compile; raise :class:`ValidationFailed` listing every problem.

    ``budget`` bounds what a model may ask of the engine (engine/budget.py); ``now``, the engine's
    time, lets a timer date written in the model be checked against ``budget.timer_years``.
    What deploys but deserves a look (a user task without a form…) is in ``warnings``.
    """
    checker = _Checker(files, sandbox, budget, now)
    checker.load()
    checker.check()
    if checker.problems:
        raise ValidationFailed(checker.problems)
    processes, problems, warnings = compile_specs(
        files, checker.trees, checker.process_files, budget
    )
    if problems:
        raise ValidationFailed(problems)
    return CompiledBundle(
        files=files,
        content_hash=bundle_hash(files),
        processes=processes,
        forms=checker.forms,
        warnings=checker.warnings + warnings,
    )


__all__ = ["BundleFile", "CompiledBundle", "CompiledProcess", "bundle_hash", "compile_bundle"]
_ = full_tag  # re-exported name kept for parser extension points
