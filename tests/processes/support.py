"""What the checks of the shipped processes share: the files, their XML, the forms' validators,
and the engine's own expression helpers and sandbox bound to a controlled clock.

The helpers are the ones the engine offers (``engine.sandbox.helpers`` plus the working-day
calendar's), built on a :class:`~engine.clock.ManualClock`; nothing here reads the wall clock or
the host's time zone.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from lxml import etree
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from engine.clock import CHINA, ManualClock
from engine.orgs import LaneConfig, LaneResolver, OrgTree
from engine.sandbox import Sandbox
from engine.sandbox.helpers import make_helpers
from engine.spiff import SandboxScriptEngine
from engine.workdays import WorkCalendar, make_workday_helpers

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
FORMS = ROOT / "forms"
BPMN_FILES = sorted(PROCESSES.glob("*.bpmn"))
DMN_FILES = sorted(PROCESSES.glob("*.dmn"))
FORM_FILES = sorted(FORMS.glob("*.json"))
SCHEMA_FILES = [p for p in FORM_FILES if p.name.endswith(".schema.json")]

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}

START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Beijing


# ---------------------------------------------------------------------------------------------
# The files


def fresh_parser() -> SpiffBpmnParser:
    """A parser of its own: SpiffWorkflow wires a triggered event sub-process into the process
    spec it runs on (``Start`` gains it as an output), so each drive parses its own spec."""
    p = SpiffBpmnParser(validator=VALIDATOR)
    p.add_bpmn_files([str(f) for f in BPMN_FILES])
    p.add_dmn_files([str(f) for f in DMN_FILES])
    return p


@cache
def parser() -> SpiffBpmnParser:
    """One shared parser for the checks that only read the specs."""
    return fresh_parser()


def xml(path: Path) -> Any:
    return etree.parse(str(path), etree.XMLParser(resolve_entities=False, no_network=True))


def props(node: Any) -> dict[str, str]:
    """The ``spiffworkflow:property`` values of an element."""
    return {
        p.get("name"): p.get("value")
        for p in node.xpath(
            "./bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property",
            namespaces=NS,
        )
    }


def user_tasks() -> Iterator[tuple[str, Any]]:
    for path in BPMN_FILES:
        for node in xml(path).iter(f"{{{NS['bpmn']}}}userTask"):
            yield path.name, node


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def validator(form: str) -> Draft202012Validator:
    return Draft202012Validator(
        load(FORMS / form), format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def errors(form: str, data: dict[str, Any]) -> list[str]:
    return sorted(e.message for e in validator(form).iter_errors(data))


def form_codes(form: str, field: str) -> list[Any]:
    return [o["const"] for o in load(FORMS / form)["properties"][field]["oneOf"]]


@cache
def resolver() -> LaneResolver:
    return LaneResolver(
        OrgTree.load(PROCESSES / "organisations.yaml"), LaneConfig.load(PROCESSES / "lanes.yaml")
    )


# ---------------------------------------------------------------------------------------------
# Expressions: the engine's helpers and sandbox on a controlled clock


@cache
def calendar() -> WorkCalendar:
    return WorkCalendar.load()


def helpers(now: Callable[[], datetime]) -> dict[str, Callable[..., Any]]:
    """Every function a BPMN expression may call, as the engine offers them."""
    return {**make_helpers(now), **make_workday_helpers(calendar(), now)}


def script_engine(clock: ManualClock) -> SandboxScriptEngine:
    """The engine's script engine (the sandbox with the engine's helpers) on ``clock``."""
    return SandboxScriptEngine(Sandbox(helpers=helpers(clock.now)))


HELPER_NAMES = frozenset(helpers(ManualClock(START).now))


def beijing(clock: ManualClock) -> datetime:
    """The clock's instant in Beijing time, to the second."""
    return clock.now().astimezone(CHINA).replace(microsecond=0)
