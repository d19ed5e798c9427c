"""SpiffWorkflow's exceptions as the engine's errors: over budget, past the command's wall time,
or a failure of the model naming its element (id, name, script line)."""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine.errors import BihuanError, ScriptError
from engine.spiff.metering import budget_error, current_meter


def element_id_of(task: Any) -> str:
    spec = task.task_spec
    return str(getattr(spec, "bpmn_id", None) or spec.name)


def wrap_error(exc: SpiffWorkflowException) -> BihuanError:
    over = budget_error(exc)
    if over is not None:
        return over
    task = getattr(exc, "task", None)
    meter = current_meter()
    if meter is not None and meter.expired():
        return meter.timeout(task)  # a script stopped at the command's deadline
    where = ""
    details: dict[str, Any] = {}
    if task is not None:
        where = f" at element {element_id_of(task)}"
        details["element_id"] = element_id_of(task)
        details["element_name"] = getattr(task.task_spec, "bpmn_name", None)
    line = getattr(exc, "line_number", None)
    if line:
        where += f", line {line}"
        details["line"] = line
    message = getattr(exc, "error", None) or str(exc)
    return ScriptError(f"the process failed{where}: {message}", **details)
