"""Parallel branches that end beside the main path (a red case's 稳控 beside 交办/处置).

SpiffWorkflow gives each branch of a parallel gateway its own copy of the data and merges the
copies only at a join, the last arriving branch winning: a branch that ran from the split with
the data as it was then would put stale values over what the main path wrote since. A branch
drawn without a join (it ends in its own end event) is therefore never merged whole. When it
ends, it hands over only **its own keys** — those it wrote itself (absent at the split, or
changed since) — to the main path's open tasks, so the case sees them (e.g.
``stabilization_measures``) and nothing on the dispatch side is overwritten.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventJoin, _EndJoin
from SpiffWorkflow.bpmn.specs.mixins.events.end_event import EndEvent
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.parallel_gateway import ParallelGateway
from SpiffWorkflow.util.task import TaskState

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
BESIDE_MAIN = (CatchingEvent, _EndJoin)  # tasks whose data is not the main path's own
_HANDED = "branch_keys_handed_over"
# The last completed task's data is not the process's as it stands after these: a branch's end
# (its copy from the split), or an interrupting boundary event's join, which SpiffWorkflow
# reports completed again after the flow behind it ran on (a timer's script, e.g. 调解期满).
STALE_LAST = (EndEvent, BoundaryEventJoin)


def hand_over_branch_keys(wf: Any) -> None:
    """Give each newly ended branch's own keys to the main path's open tasks (once)."""
    for task in list(wf.tasks.values()):
        if task.state != TaskState.COMPLETED or not isinstance(task.task_spec, EndEvent):
            continue
        if task.internal_data.get(_HANDED):
            continue
        task.internal_data[_HANDED] = True
        split = task.parent
        while split is not None and not isinstance(split.task_spec, ParallelGateway):
            split = split.parent
        if split is None:
            continue
        before = split.data
        own = {k: v for k, v in task.data.items() if k not in before or before[k] != v}
        if not own:
            continue
        for other in wf.get_tasks(state=ACTIVE):
            if other.workflow is wf and not isinstance(other.task_spec, BESIDE_MAIN):
                other.data.update(own)
