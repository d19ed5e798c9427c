"""A running workflow behind our own small interface: the only place tasks are touched.

Loop compaction: a token re-entering an element that ran earlier on its path (rework, reopen,
escalate again) resets the tree there with the current data; earlier rounds live in the audit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.util.task import TaskState

from engine.errors import NoMessageWaiting
from engine.spiff.branches import BESIDE_MAIN, STALE_LAST, hand_over_branch_keys
from engine.spiff.failures import element_id_of, wrap_error
from engine.spiff.metering import current_meter, runaway
from engine.spiff.scripting import TIMER_ZONE
from engine.spiff.serializer import RestoredSpec, TaskMemo, state_from_dict, state_to_dict
from engine.spiff.timers import due_of

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class ReadyTask:
    spiff_id: str
    element_id: str
    name: str
    lane: str | None
    properties: dict[str, str]
    data: dict[str, Any]


@dataclass(frozen=True)
class PendingTimer:
    spiff_id: str
    element_id: str
    due_at: str  # ISO-8601 as SpiffWorkflow computed it (a value without offset: Beijing time)
    interrupting: bool
    attached_to: str | None  # element id of the activity a boundary timer sits on


@dataclass(frozen=True)
class PendingMessage:
    spiff_id: str
    element_id: str
    name: str


def _with_offset(value: str) -> str:
    """A timer's date with its offset: one written without is Beijing time (as SpiffWorkflow now
    reads it, see :data:`engine.spiff.scripting.TIMER_ZONE`), never the host's zone."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return moment.replace(tzinfo=TIMER_ZONE).isoformat()
    return value


def _due_text(value: Any, due: datetime) -> str:
    """The due date as stored in the due item's key: the value as written when it is a plain
    ISO date (keys of timers already scheduled stay the same), else the computed UTC date."""
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return due.isoformat()
        return _with_offset(value)
    return due.isoformat()


def _spent_cycle(task: Any) -> bool:
    """A cycle timer that fired its last repetition and ends at its next update."""
    value = task.internal_data.get("event_value")
    return isinstance(value, dict) and value.get("cycles") == 0


def _loop_on_path(task: Any) -> tuple[Any, Any] | None:
    """(first, again): the earliest element on the task's path from the root that occurs twice
    there, at its first occurrence and its second (a loop re-entered); None if none does."""
    chain: list[Any] = []
    node = task
    while node is not None:
        chain.append(node)
        node = node.parent
    first_seen: dict[str, Any] = {}
    for node in reversed(chain):
        name = node.task_spec.name
        if name in first_seen:
            return first_seen[name], node
        first_seen[name] = node
    return None


def _is_completed(wf: BpmnWorkflow) -> bool:
    """``wf.is_completed()`` without its ordered tree walk while some task is unfinished."""
    if wf.completed:
        return True
    if any(not t.state & TaskState.FINISHED_MASK for t in wf.tasks.values()):
        return False
    return bool(wf.is_completed())


class Workflow:
    """One instance's workflow. Create with :meth:`start` or :meth:`load`."""

    def __init__(self, wf: BpmnWorkflow) -> None:
        self._wf = wf
        self.compactions = 0
        # BPMN elements the engine itself completed since the last drain (gateways, scripts,
        # events, business rules…): the record of engine transitions for the audit trail.
        self.transitions: list[tuple[str, str]] = []
        # Whether anything happened since the last step ran the workflow to rest. A workflow at
        # rest only moves when a task completes, a message arrives or a timer comes due, and
        # each of those marks it; stepping a workflow at rest again (three times a command,
        # before) walked the whole task tree for nothing.
        self._moved = True
        self._ran = 0  # engine tasks run so far (a pass that runs none cannot progress)
        self._memo = TaskMemo()

    # ---------------------------------------------------------------- life cycle
    @classmethod
    def start(cls, restored: RestoredSpec, data: dict[str, Any], script_engine: Any) -> Workflow:
        wf = BpmnWorkflow(restored.spec, restored.subprocess_specs, script_engine=script_engine)
        ready = wf.get_tasks(state=TaskState.READY)
        if ready:
            ready[0].set_data(**data)
        handle = cls(wf)
        handle.step()
        return handle

    @classmethod
    def load(
        cls,
        restored: RestoredSpec,
        state: dict[str, Any],
        serializer_version: str,
        script_engine: Any,
    ) -> Workflow:
        return cls(state_from_dict(restored, state, serializer_version, script_engine))

    def dump(self) -> dict[str, Any]:
        return state_to_dict(self._wf, self._memo)

    # ---------------------------------------------------------------- stepping
    def step(self) -> None:
        """Run the engine's own tasks until only human tasks and waits are left (no-op at rest)."""
        if not self._moved:
            return
        stuck: Any = None
        while True:
            ran = self._ran
            try:
                self._wf.do_engine_steps(did_complete_task=self._transition)
                while self._compact():
                    self._wf.do_engine_steps(did_complete_task=self._transition)
                hand_over_branch_keys(self._wf)
            except SpiffWorkflowException as exc:
                raise wrap_error(exc) from None
            stranded = self._stranded()
            if stranded is None:
                break
            # do_engine_steps ends by refreshing the timers: a timer that fell due meanwhile is
            # READY and runs on the next pass. A task still READY after a pass that had it and
            # ran nothing is stranded.
            if stranded is stuck and self._ran == ran:
                raise runaway(stranded)
            stuck = stranded
        self._moved = False

    def _stranded(self) -> Any:
        """A READY engine task left after stepping (SpiffWorkflow walks only 1,000 levels
        deep: a loop without a wait that deep stops silently). None in the usual case."""
        wf = self._wf
        for tasks in (wf.tasks, *(sub.tasks for sub in wf.subprocesses.values())):
            for task in tasks.values():
                if task.state == TaskState.READY and not task.task_spec.manual:
                    return task
        return None

    def touch(self) -> None:
        """Step on the next :meth:`step` even though nothing was marked (e.g. on resume)."""
        self._moved = True

    def _transition(self, task: Any) -> None:
        self._ran += 1
        meter = current_meter()
        if meter is not None:
            meter.engine_step(task)
        spec = task.task_spec
        bpmn_id = getattr(spec, "bpmn_id", None)
        if bpmn_id and not getattr(spec, "manual", False):
            self.transitions.append((str(bpmn_id), str(getattr(spec, "bpmn_name", None) or "")))

    def drain_transitions(self) -> list[tuple[str, str]]:
        done, self.transitions = self.transitions, []
        return done

    def refresh_timers(self) -> None:
        """Let due timers fire; step only when one did (a timer's task left WAITING)."""
        events = self._wf.event_manager.tasks
        # A cycle's task stays WAITING when it fires: its next due time (event_value) moves.
        before = {task_id: (task.state, repr(task.internal_data.get("event_value")))
                  for task_id, task in events.items()}  # fmt: skip
        try:
            self._wf.refresh_timers()
            if any(_spent_cycle(task) for task in events.values()):
                self._wf.refresh_timers()  # a spent cycle ends now, not at a later refresh
        except SpiffWorkflowException as exc:
            raise wrap_error(exc) from None
        if any(events.get(task_id) is None
               or (events[task_id].state, repr(events[task_id].internal_data.get("event_value")))
               != seen for task_id, seen in before.items()):  # fmt: skip
            self._moved = True
        self.step()

    def _compact(self) -> bool:
        wf = self._wf
        if not any(_loop_on_path(t) for t in wf.tasks.values() if t.state & ACTIVE):
            return False  # the usual case, found without walking the tree in order
        active = [t for t in wf.get_tasks(state=ACTIVE) if t.workflow is wf]
        for task in active:
            loop = _loop_on_path(task)
            if loop is None:
                continue
            first, repeat = loop
            if not all(self._safe_to_drop(a, first, repeat) for a in active):
                continue
            data = copy.deepcopy(repeat.data)
            # a reset task inherits its parent's data when ready: carry this round's through it
            first.parent.data = copy.deepcopy(data)
            wf.reset_from_task_id(first.id, data=data)
            for gone in [k for k, t in wf.event_manager.tasks.items() if t.id not in wf.tasks]:
                del wf.event_manager.tasks[gone]  # a dropped round's timer (委派调解 extended)
            self.compactions += 1
            return True
        return False

    @staticmethod
    def _safe_to_drop(task: Any, first: Any, repeat: Any) -> bool:
        """An active task under ``first`` must also be under ``repeat`` (the new round)."""
        node = task
        while node is not None:
            if node is repeat:
                return True
            if node is first:
                return False
            node = node.parent
        return True

    # ---------------------------------------------------------------- reading
    @property
    def completed(self) -> bool:
        return _is_completed(self._wf)

    @property
    def data(self) -> dict[str, Any]:
        """The latest data: the workflow's own when finished, else the last completed task's."""
        wf = self._wf
        if _is_completed(wf):
            return dict(wf.data)
        last = wf.last_task
        if last is not None and last.workflow is wf and isinstance(last.task_spec, STALE_LAST):
            return self._main_path_data()  # see engine/spiff/branches.py
        return dict(last.data) if last is not None else {}

    def ready_user_tasks(self) -> list[ReadyTask]:
        out = []
        for t in self._ready_manual():
            spec = t.task_spec
            ext = getattr(spec, "extensions", None) or {}
            out.append(
                ReadyTask(
                    spiff_id=str(t.id),
                    element_id=element_id_of(t),
                    name=str(getattr(spec, "bpmn_name", None) or element_id_of(t)),
                    lane=getattr(spec, "lane", None),
                    properties=dict(ext.get("properties") or {}),
                    data=dict(t.data),
                )
            )
        return out

    def _ready_manual(self) -> list[Any]:
        """READY human tasks, in SpiffWorkflow's tree order. Usually there is at most one, found
        by a scan of the task maps; only several need the (slower) ordered tree walk."""
        wf = self._wf
        found = [
            t
            for tasks in (wf.tasks, *(sub.tasks for sub in wf.subprocesses.values()))
            for t in tasks.values()
            if t.state == TaskState.READY and t.task_spec.manual
        ]
        if len(found) <= 1:
            return found
        return list(wf.get_tasks(state=TaskState.READY, manual=True))

    def is_ready(self, spiff_id: str) -> bool:
        task = self._wf.get_task_from_id(UUID(spiff_id))
        return task is not None and task.state == TaskState.READY

    def task_data(self, spiff_id: str) -> dict[str, Any]:
        task = self._wf.get_task_from_id(UUID(spiff_id))
        return dict(task.data) if task is not None else {}

    def waiting(self) -> tuple[list[PendingTimer], list[PendingMessage]]:
        timers: list[PendingTimer] = []
        messages: list[PendingMessage] = []
        for task in list(self._wf.event_manager.tasks.values()):
            if task.state not in (TaskState.WAITING, TaskState.READY):
                continue
            spec = task.task_spec
            if not isinstance(spec, CatchingEvent):
                continue
            definition = spec.event_definition
            if isinstance(definition, TimerEventDefinition):
                value = task._get_internal_data("event_value")
                due = due_of(value)
                if due is None:
                    continue
                attached = (
                    getattr(spec, "attached_to", None) if hasattr(spec, "attached_to") else None
                )
                parent = task.parent
                host = None
                if parent is not None:
                    for sibling in parent.children:
                        if sibling is not task and not isinstance(sibling.task_spec, CatchingEvent):
                            host = element_id_of(sibling)
                timers.append(
                    PendingTimer(
                        spiff_id=str(task.id),
                        element_id=element_id_of(task),
                        due_at=_due_text(value, due),
                        interrupting=bool(getattr(spec, "cancel_activity", True)),
                        attached_to=host if attached is None else str(attached),
                    )
                )
            elif isinstance(definition, MessageEventDefinition):
                messages.append(
                    PendingMessage(
                        spiff_id=str(task.id), element_id=element_id_of(task), name=definition.name
                    )
                )
        for element_id, definition in self._event_subprocess_starts():
            messages.append(
                PendingMessage(spiff_id="", element_id=element_id, name=definition.name)
            )
        return timers, messages

    def _event_subprocess_starts(self) -> list[tuple[str, Any]]:
        """(start element id, definition) of message starts of the process's event sub-processes,
        which catch while the process runs without being waiting tasks."""
        if _is_completed(self._wf):
            return []
        found = []
        start = self._wf.spec.start
        for sp_name in getattr(start, "trigger_specs", None) or []:
            sub = self._wf.subprocess_specs.get(sp_name)
            for event in getattr(sub, "bpmn_start_events", None) or []:
                definition = getattr(event, "event_definition", None)
                if isinstance(definition, MessageEventDefinition):
                    found.append((str(getattr(event, "bpmn_id", event.name)), definition))
        return found

    def _event_subprocess_start(self, name: str) -> Any:
        for _, definition in self._event_subprocess_starts():
            if definition.name == name:
                return definition
        return None

    def element_states(self) -> dict[str, str]:
        """element id → 'completed' | 'active', for diagram overlays."""
        states: dict[str, str] = {}
        tasks = list(self._wf.get_tasks(state=TaskState.COMPLETED | ACTIVE))
        for sub in self._wf.subprocesses.values():
            tasks.extend(sub.get_tasks(state=TaskState.COMPLETED | ACTIVE))
        for t in tasks:
            bpmn_id = getattr(t.task_spec, "bpmn_id", None)
            if not bpmn_id:
                continue
            if t.state & ACTIVE:
                states[bpmn_id] = "active"
            else:
                states.setdefault(bpmn_id, "completed")
        return states

    # ---------------------------------------------------------------- changing
    def complete(self, spiff_id: str, data: dict[str, Any]) -> None:
        task = self._wf.get_task_from_id(UUID(spiff_id))
        self._moved = True
        try:
            task.set_data(**data)
            task.run()
        except SpiffWorkflowException as exc:
            raise wrap_error(exc) from None
        self.step()

    def send_message(self, name: str, payload: dict[str, Any]) -> None:
        definition = None
        for task in self._wf.event_manager.tasks.values():
            candidate = getattr(task.task_spec, "event_definition", None)
            if isinstance(candidate, MessageEventDefinition) and candidate.name == name:
                definition = candidate
                break
        if definition is None:
            definition = self._event_subprocess_start(name)
        if definition is None:
            raise NoMessageWaiting(f"the instance is not waiting for message {name!r}")
        # Throw with the catcher's own definition class (SpiffWorkflow compares classes).
        event = BpmnEvent(definition, payload)
        self._moved = True
        context = self._main_path_data()
        try:
            self._wf.send_event(event)
        except WorkflowException:
            raise NoMessageWaiting(f"the instance is not waiting for message {name!r}") from None
        except SpiffWorkflowException as exc:
            raise wrap_error(exc) from None
        self._seed_event_subprocesses(context, getattr(definition, "message_var", None))
        if getattr(definition, "message_var", None) is None:
            # Our convention: without a message variable the payload joins the data at top level.
            for task in self._wf.get_tasks(state=TaskState.READY):
                if name in task.internal_data:
                    task.set_data(**payload)
        self.step()

    def _main_path_data(self) -> dict[str, Any]:
        """The process's data as it stands: an open top-level task's, else the last completed."""
        for task in self._wf.get_tasks(state=ACTIVE):
            if task.workflow is self._wf and not isinstance(task.task_spec, BESIDE_MAIN):
                return dict(task.data)
        return dict(self._wf.last_task.data) if self._wf.last_task is not None else {}

    def _seed_event_subprocesses(self, context: dict[str, Any], message_var: str | None) -> None:
        """An event sub-process sees its parent's data as it is when the event occurs (BPMN);
        SpiffWorkflow gives it the data of the process's start. Refresh the just-started ones,
        keeping the message payload's own variable."""
        for task in self._wf.get_tasks(state=TaskState.READY):
            if task.workflow is self._wf or task.parent is None:
                continue
            if task.task_spec not in getattr(task.workflow.spec, "bpmn_start_events", []):
                continue
            kept: dict[str, Any] = {}
            if message_var is not None and message_var in task.data:
                kept[message_var] = task.data[message_var]
            task.set_data(**{**context, **kept})

    def cancel(self) -> None:
        self._wf.cancel()

    def timer_due_at(self, spiff_id: str) -> datetime | None:
        task = self._wf.get_task_from_id(UUID(spiff_id))
        if task is None:
            return None
        return due_of(task._get_internal_data("event_value"))
