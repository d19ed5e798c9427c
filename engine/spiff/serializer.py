"""Serialize specs once per definition version, and instance state without the spec.

The stored instance state is SpiffWorkflow's own dict format minus ``spec`` and
``subprocess_specs`` (about half of a small instance), which live in the definition row.

A restored spec is shared by every instance of its version (:class:`RestoredSpec`), so running
a workflow must never change it: specs restored here start with :class:`SharedSpecStartTask`.
"""

from __future__ import annotations

from importlib.metadata import version as _pkg_version
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.process_spec import BpmnProcessSpecConverter
from SpiffWorkflow.bpmn.serializer.default.task_spec import BpmnStartTaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.control import BpmnStartTask
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState


class SharedSpecStartTask(BpmnStartTask):  # type: ignore[misc]
    """A process's ``Start`` that starts a triggered event sub-process without rewiring the spec.

    SpiffWorkflow 3.2.0's ``BpmnStartTask.trigger_wf`` connects ``Start`` to the event
    sub-process and the sub-process to the process's end join *in the spec*, the first time a
    message starts it. On a spec shared by every instance of a definition version, every
    workflow started afterwards would spawn that sub-process at its start (``Start`` now
    predicts it as an output), waiting for a message that never comes, and never complete.
    Here the sub-process's task is only added to the triggering workflow's tree; its own side of
    the connection (``Start`` as input, the end join as output) was made once when the spec was
    restored (:class:`_ProcessSpecConverter`), so it completes into the end join as before.
    """

    def trigger_wf(self, my_task: Any, spec_name: str) -> Any:
        child = my_task._add_child(self._wf_spec.task_specs[spec_name], TaskState.FUTURE)
        child.triggered = True
        child.task_spec._update(child)
        return child.id


class _ProcessSpecConverter(BpmnProcessSpecConverter):  # type: ignore[misc]
    """Restores a process spec with its triggered event sub-processes wired on their side only.

    Each gets ``Start`` as its input (a task spec refuses to become ready without one: before,
    a spec restored afresh after a restart failed a sub-process started before it) and the
    end join as its output, as SpiffWorkflow's ``trigger_wf`` connects it, so its task ends into
    the end join as in SpiffWorkflow (the end join waits for every unfinished task of the tree).
    ``Start`` does not get it as an output: only a triggered workflow has its task.
    """

    def from_dict(self, dct: dict[str, Any]) -> Any:
        spec = super().from_dict(dct)
        start, end = spec.start, spec.end
        for name in getattr(start, "trigger_specs", None) or []:
            sub = spec.task_specs.get(name)
            if sub is None or sub._inputs:
                continue  # a spec saved in full after a trigger (an old format) is wired already
            sub._inputs.append(start.name)
            sub._outputs.append(end.name)
            end._inputs.append(sub.name)
        return spec


_REGISTRY_BASE = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
# Under SpiffWorkflow's own type names: stored specs and states (and the saved-format fixtures)
# read and write as before.
BpmnStartTaskConverter(SharedSpecStartTask, _REGISTRY_BASE, typename="BpmnStartTask")
_ProcessSpecConverter(BpmnProcessSpec, _REGISTRY_BASE, typename="BpmnProcessSpec")
SERIALIZER = BpmnWorkflowSerializer(_REGISTRY_BASE)
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


# Set by the test suite: every memoised dump is checked against a full conversion.
CHECK_MEMO = False
_FINISHED = TaskState.FINISHED_MASK


class TaskMemo:
    """The serialized form of a workflow's finished tasks, kept between dumps.

    Serializing the state is a third of a command's SpiffWorkflow time, and most of a case's
    tree is finished tasks that no later step touches. A finished task's dict is reused while
    the task, its data, internal data, children and its parent's data (its data is stored as a
    delta on the parent's) are the same objects of the same sizes, its state and state-change
    time unchanged; anything else — a reset by loop compaction, new children — converts it
    again. Unfinished tasks are always converted. ``CHECK_MEMO`` proves the reuse in the tests.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[UUID, tuple[tuple[Any, ...], dict[str, Any]]] = {}

    @staticmethod
    def _key(task: Any) -> tuple[Any, ...] | None:
        parent = task.parent
        if not task.state & _FINISHED or (parent is not None and not parent.state & _FINISHED):
            return None
        parent_data = parent.data if parent is not None else None
        return (
            task, task.state, task.last_state_change, task.triggered, tuple(task._children),
            task.data, len(task.data), task.internal_data, len(task.internal_data),
            parent_data, len(parent_data) if parent_data is not None else -1,
        )  # fmt: skip

    def tasks_to_dict(self, tasks: dict[UUID, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        items: dict[UUID, tuple[tuple[Any, ...], dict[str, Any]]] = {}
        for task_id, task in tasks.items():
            key = self._key(task)
            hit = self._items.get(task_id) if key is not None else None
            if hit is not None and _same(hit[0], key):
                converted = hit[1]
            else:
                converted = _REGISTRY.convert(task)
            if key is not None:
                items[task_id] = (key, converted)
            out[str(task_id)] = converted
        self._items = items
        return out


def _same(a: tuple[Any, ...], b: tuple[Any, ...] | None) -> bool:
    """Equal keys: the objects by identity (their ids could be reused), the rest by value."""
    if b is None or len(a) != len(b):
        return False
    return all(x is y or (not isinstance(x, dict) and x == y) for x, y in zip(a, b, strict=True))


def state_to_dict(workflow: BpmnWorkflow, memo: TaskMemo | None = None) -> dict[str, Any]:
    converter = _WF_CONVERTER
    if memo is None:
        dct = super(type(converter), converter).to_dict(workflow)  # WorkflowConverter.to_dict
    else:
        # WorkflowConverter.to_dict with the tasks converted through the memo.
        dct = {
            "data": _REGISTRY.convert(_REGISTRY.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": str(workflow.last_task.id) if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": memo.tasks_to_dict(workflow.tasks),
            "root": str(workflow.task_tree.id),
        }
        if CHECK_MEMO:
            full = super(type(converter), converter).to_dict(workflow)
            assert full == dct, "a memoised task dict differs from a fresh conversion"
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
