"""SpiffWorkflow's script engine, running every expression and script in our sandbox, and the
engine clock fed to SpiffWorkflow's timers (which otherwise read the wall clock and take a timer
date without an offset in the host's time zone: we take it in Beijing time)."""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.bpmn.specs.event_definitions import timer as _timer_module

from engine.clock import SystemClock
from engine.jsondata import OBJECT_TEXT, checked, printable
from engine.sandbox.restricted import Sandbox, SandboxRuntimeError, SandboxViolation
from engine.spiff.metering import current_meter

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


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    def __init__(self, sandbox: Sandbox) -> None:
        super().__init__(environment=SandboxEnvironment(sandbox))

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
