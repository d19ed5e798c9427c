"""Compile checked BPMN/DMN files into process specs with SpiffWorkflow's own parser.

Runs only on files that passed the bundle's checks (engine/spiff/bundle.py); the parser's first
error becomes a :class:`~engine.errors.Problem`. Processes marked ``isExecutable="false"`` (the
default of many modelers, and of every OMG MIWG reference file) are compiled and deployed too,
with a warning; one that cannot be compiled is left out with a warning rather than refusing the
bundle, and a pool with no flow at all (a black-box participant) is left out silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.budget import ModelBudget
from engine.errors import Problem
from engine.spiff.elements import BPMN_NS, SUPPORTED_FLOW_NODES, element_facts, local_name
from engine.spiff.limits import quote_literal_timers
from engine.spiff.normalize import make_splits_explicit, name_messages
from engine.spiff.serializer import spec_to_dict
from engine.spiff.xmlsafety import parse_xml


@dataclass
class CompiledProcess:
    process_id: str
    name: str | None
    source_file: str
    spec: dict[str, Any]
    elements: dict[str, Any]


_CLEARER = {  # SpiffWorkflow's wording → ours
    "Multiple outgoing flows are not supported for tasks of type":
        "this element cannot split the flow: draw a gateway after it",
    "Non-default exclusive outgoing sequence flow without condition":
        "an exclusive gateway's outgoing flow has no condition and is not the default flow:"
        " the engine cannot choose (give it a condition, or make it the default)",
    "Cannot resolve dataOutputAssociation":
        "a data output association points at something the engine cannot resolve here"
        " (a data store, or a data object outside this process)",
    "Cannot resolve dataInputAssociation":
        "a data input association points at something the engine cannot resolve here"
        " (a data store, or a data object outside this process)",
}  # fmt: skip


def _problem(exc: Exception, severity: str = "error", prefix: str = "") -> Problem:
    if isinstance(exc, ValidationException):
        line = exc.line_number if isinstance(exc.line_number, int) else None
        text = str(exc).strip()
        for theirs, ours in _CLEARER.items():
            if theirs in text:
                text = ours
        return Problem(exc.file_name or "<bundle>", prefix + text, line, exc.id or None,
                       severity)  # fmt: skip
    if isinstance(exc, SpiffWorkflowException):
        return Problem("<bundle>", f"{prefix}cannot build the process: {exc}", severity=severity)
    return Problem(
        "<bundle>", f"{prefix}the BPMN parser failed: {type(exc).__name__}: {exc}",
        severity=severity,
    )  # fmt: skip


def _has_flow(proc: Any) -> bool:
    return any(local_name(child.tag) in SUPPORTED_FLOW_NODES for child in proc)


def compile_specs(
    files: list[Any], trees: dict[str, Any], process_files: dict[str, str], budget: ModelBudget
) -> tuple[dict[str, CompiledProcess], list[Problem], list[Problem]]:
    """(processes, problems, warnings) of the checked ``files`` (``trees``: parsed, by name)."""
    parser = SpiffBpmnParser(validator=None)
    compiled: dict[str, CompiledProcess] = {}
    warnings: list[Problem] = []
    try:
        for f in files:
            if f.kind == "bpmn":
                root = parse_xml(f.content)
                quote_literal_timers(root)
                make_splits_explicit(root)
                name_messages(root)
                parser.add_bpmn_xml(etree.ElementTree(root), filename=f.filename)
            elif f.kind == "dmn":
                parser.add_dmn_xml(parse_xml(f.content), filename=f.filename)
    except Exception as exc:
        return {}, [_problem(exc)], []
    optional: set[str] = set()
    for pid, process_parser in parser.process_parsers.items():
        if not process_parser.process_executable and _has_flow(process_parser.node):
            process_parser.process_executable = True
            optional.add(pid)
    facts = element_facts(trees)
    for pid in parser.get_process_ids():
        source = process_files[pid]
        try:
            spec = parser.get_spec(pid)
            subs = parser.get_subprocess_specs(pid)
        except Exception as exc:
            if pid not in optional:
                return {}, [_problem(exc)], []
            warnings.append(_problem(
                exc, "warning", f"process {pid!r} (isExecutable=\"false\") is not deployed: "
            ))  # fmt: skip
            continue
        proc = next(p for p in trees[source].iter(f"{{{BPMN_NS}}}process") if p.get("id") == pid)
        if pid in optional:
            warnings.append(Problem(
                source, f"process {pid!r} is marked isExecutable=\"false\"; deployed anyway",
                proc.sourceline, pid, "warning",
            ))  # fmt: skip
        compiled[pid] = CompiledProcess(
            process_id=pid,
            name=proc.get("name"),
            source_file=source,
            spec=spec_to_dict(spec, subs),
            elements=facts,
        )
    if not compiled and warnings:  # nothing would be deployed: what kept each process out
        return {}, [Problem(w.file, w.message, w.line, w.element_id) for w in warnings], []
    return compiled, [], warnings


__all__ = ["CompiledProcess", "compile_specs"]
