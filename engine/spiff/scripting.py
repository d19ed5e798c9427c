"""SpiffWorkflow's script engine, running every expression and script in our sandbox, and the
engine clock fed to SpiffWorkflow's timers (which otherwise read the wall clock and take a timer
date without an offset in the host's time zone: we take it in Beijing time)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from engine.budget import DEFAULT_BUDGET, ModelBudget
from engine.clock import SystemClock
from engine.jsondata import OBJECT_TEXT, checked, printable
from engine.sandbox.restricted import Sandbox, SandboxRuntimeError, SandboxViolation
from engine.spiff.metering import current_meter
from engine.spiff.timers import TimerValueError, check_timer_value

TIMER_ZONE = timezone(timedelta(hours=8), "CST")
"""The zone of a timer date written without an offset: Beijing time (no daylight saving)."""

_NOW: contextvars.ContextVar[Callable[[], datetime] | None] = contextvars.ContextVar(
    "bihuan_engine_now", default=None
)


class _EngineDatetime(datetime):
    """``datetime`` whose ``now()`` is the engine clock while a command runs."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Any:
        source = _NOW.get()
        value = source() if source is not None else SystemClock().now()
        return value.astimezone(tz) if tz is not None else value


# SpiffWorkflow's timer definitions call datetime.now(timezone.utc): route them to our clock.
_timer_module.datetime = _EngineDatetime
# ... and read a date without an offset in LOCALTZ, the host's zone when it was imported.
_timer_module.LOCALTZ = TIMER_ZONE


@contextmanager
def engine_time(now: Callable[[], datetime]) -> Iterator[None]:
    token = _NOW.set(now)
    try:
        yield
    finally:
        _NOW.reset(token)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__({})
        self.sandbox = sandbox

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: Any = None
    ) -> Any:
        scope = {**context, **(external_context or {})}
        result = self.sandbox.evaluate(expression, scope, deadline=_deadline())
        if type(result) is bool or result is None:  # conditions: the common case, no walk
            return result
        value, problem = checked(result, OBJECT_TEXT, strict=False)
        if problem is not None:
            where = "" if problem.path == "/" else f" at {problem.path}"
            raise SandboxRuntimeError(f"the expression's value{where}: {problem.message}")
        return value

    def execute(self, script: str, context: dict[str, Any], external_context: Any = None) -> bool:
        before = dict(context)
        if external_context:
            scope = {**context, **external_context}
            self.sandbox.execute(script, scope, deadline=_deadline())
            for key in external_context:
                scope.pop(key, None)
            context.clear()
            context.update(scope)
        else:
            self.sandbox.execute(script, context, deadline=_deadline())
        _check_results(context, before)
        return True


def _check_results(context: dict[str, Any], before: dict[str, Any]) -> None:
    """A script's results are data that every database stores exactly (engine/jsondata.py):
    a variable holding anything else fails the script, naming the variable (and the path in
    it); numbers are put in their stored form. Unchanged scalars are not walked again."""
    for name, value in context.items():
        if before.get(name, _ABSENT) is value and type(value) not in (dict, list):
            continue
        stored, problem = checked(value, OBJECT_TEXT)
        if problem is not None:
            inside = "" if problem.path == "/" else f" at {problem.path}"
            raise SandboxRuntimeError(
                f"variable '{printable(str(name))}'{inside}: {problem.message} "
                "(a script's results must be data: text, numbers, booleans, None, lists, dicts)"
            )
        context[name] = stored


_ABSENT = object()


def _deadline() -> float | None:
    """The running command's deadline (``time.monotonic``): no script outlives its command."""
    meter = current_meter()
    return meter.deadline if meter is not None else None


_TIMER_KINDS = {
    _timer_module.TimeDateEventDefinition: "timeDate",
    _timer_module.DurationTimerEventDefinition: "timeDuration",
    _timer_module.CycleTimerEventDefinition: "timeCycle",
}


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, sandbox: Sandbox, budget: ModelBudget = DEFAULT_BUDGET) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox))
        self.budget = budget

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        """Evaluate; a timer's value is checked before SpiffWorkflow reads it (engine/spiff/
        timers.py), so a computed timer that is malformed or over budget fails the command."""
        value = super().evaluate(task, expression, external_context)
        definition = getattr(task.task_spec, "event_definition", None)
        kind = _TIMER_KINDS.get(type(definition))
        if kind is not None and expression == getattr(definition, "expression", None):
            try:
                check_timer_value(kind, value, self.budget, _EngineDatetime.now(UTC))
            except TimerValueError as exc:
                raise WorkflowTaskException(f"{kind}: {exc}", task=task) from None
            value = value.strip()  # as checked (SpiffWorkflow trips on surrounding blanks)
            if kind == "timeCycle" and value.upper().startswith("R/"):
                # An unbounded cycle repeats as often as the budget allows, then stops.
                value = f"R{self.budget.timer_repeats}{value[1:]}"
        return value

    def validate(self, expression: str) -> None:
        """SpiffWorkflow's DMN engine probes expressions and expects ``SyntaxError``."""
        try:
            self.environment.sandbox.compile(expression, "eval")
        except SandboxViolation as exc:
            raise SyntaxError(exc.message) from None


__all__ = [
    "TIMER_ZONE",
    "SandboxRuntimeError",
    "SandboxScriptEngine",
    "SandboxViolation",
    "engine_time",
]
