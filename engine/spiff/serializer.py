"""Serialize specs once per definition version, and instance state without the spec.

The stored instance state is SpiffWorkflow's own dict format minus ``spec`` and
``subprocess_specs`` (about half of a small instance), which live in the definition row.
"""

from __future__ import annotations

from importlib.metadata import version as _pkg_version
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

SERIALIZER = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
SERIALIZER_VERSION: str = SERIALIZER.VERSION
SPIFF_VERSION: str = _pkg_version("SpiffWorkflow")
_REGISTRY = SERIALIZER.registry
# The registry keeps each converter's bound methods; fetch the workflow converter object.
_WF_CONVERTER: Any = _REGISTRY.convert_to_dict[_REGISTRY.typenames[BpmnWorkflow]].args[1].__self__


def spec_to_dict(spec: Any, subprocess_specs: dict[str, Any]) -> dict[str, Any]:
    return {
        "serializer_version": SERIALIZER_VERSION,
        "spec": _REGISTRY.convert(spec),
        "subprocess_specs": {name: _REGISTRY.convert(s) for name, s in subprocess_specs.items()},
    }


class RestoredSpec:
    """A definition's spec restored once and shared by every instance that loads it."""

    def __init__(self, stored: dict[str, Any]) -> None:
        self.stored = stored
        self.spec = _REGISTRY.restore(_copy(stored["spec"]))
        self.subprocess_specs = {
            name: _REGISTRY.restore(_copy(s)) for name, s in stored["subprocess_specs"].items()
        }


def _copy(value: Any) -> Any:
    # restore() pops keys from the dicts it is given; never hand it the cached original.
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def state_to_dict(workflow: BpmnWorkflow) -> dict[str, Any]:
    converter = _WF_CONVERTER
    dct = super(type(converter), converter).to_dict(workflow)  # WorkflowConverter.to_dict
    dct["subprocesses"] = converter.mapping_to_dict(workflow.subprocesses)
    dct["bpmn_events"] = _REGISTRY.convert(workflow.bpmn_events)
    return dict(dct)


def _parents_first(tasks: dict[str, Any], root: str) -> dict[str, Any]:
    """Order a task map root-first: SpiffWorkflow restores each task's data as a delta on its
    parent's, so a parent must be restored before its children (PostgreSQL's JSONB, for one,
    does not keep key order)."""
    ordered: dict[str, Any] = {}
    queue = [root]
    while queue:
        tid = queue.pop()
        task = tasks.get(tid)
        if task is None or tid in ordered:
            continue
        ordered[tid] = task
        queue.extend(reversed(task.get("children", [])))
    for tid, task in tasks.items():  # anything unreachable keeps its place at the end
        ordered.setdefault(tid, task)
    return ordered


def _order_tasks(state: dict[str, Any]) -> None:
    if "tasks" in state and "root" in state:
        state["tasks"] = _parents_first(state["tasks"], state["root"])
    for sub in (state.get("subprocesses") or {}).values():
        if isinstance(sub, dict):
            _order_tasks(sub)


def state_from_dict(
    restored: RestoredSpec,
    state: dict[str, Any],
    serializer_version: str,
    script_engine: Any,
) -> BpmnWorkflow:
    if serializer_version != SERIALIZER_VERSION:
        # An older format: let SpiffWorkflow migrate it, with the spec put back in.
        full = _copy(state)
        _order_tasks(full)
        full["spec"] = _copy(restored.stored["spec"])
        full["subprocess_specs"] = _copy(restored.stored["subprocess_specs"])
        full[SERIALIZER.VERSION_KEY] = serializer_version
        wf = SERIALIZER.from_dict(full)
        wf.script_engine = script_engine
        return wf
    converter = _WF_CONVERTER
    dct = _copy(state)
    _order_tasks(dct)
    wf = BpmnWorkflow(
        restored.spec, restored.subprocess_specs, script_engine=script_engine, deserializing=True
    )
    wf.tasks = converter.mapping_from_dict(dct["tasks"], UUID, workflow=wf)
    wf.task_tree = wf.tasks.get(UUID(dct["root"]))
    converter.set_default_attributes(wf, dct)
    converter.subprocesses_from_dict(dct["subprocesses"], wf)
    wf.bpmn_events = _REGISTRY.restore(dct.pop("bpmn_events", []))
    return wf
