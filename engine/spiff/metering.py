"""The work budget of one command, enforced where SpiffWorkflow does the work (issue 14).

A command runs inside :func:`metered`; the :class:`Meter` it installs counts what the engine
does for it and stops the command — with an error naming the element and the limit, before
anything is committed — when it passes :class:`engine.budget.ModelBudget`:

* engine steps: every task the engine completes on its own (scripts, gateways, events) counts
  one; a script → gateway → script loop with no wait ends at ``engine_steps``;
* standard loops: iterations of one loop activity (``loopMaximum`` too big, or a
  ``loopCondition`` that never ends) end at ``loop_maximum``, checked before each new iteration;
* multi-instance: instances of one activity (a cardinality computed at run time, or a long
  input collection) end at ``mi_cardinality``, checked before each instance is created, so
  ``10**7`` costs 501 tasks, not gigabytes;
* wall time: ``command_seconds`` for the whole command, checked at every engine step, every new
  loop iteration or instance, and inside every script (the sandbox's deadline is capped to it),
  so a command never holds its transaction for long.

Nothing here reads the wall clock: durations come from ``time.monotonic``.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    LoopTask,
    MultiInstanceTask,
    StandardLoopTask,
)

from engine.budget import DEFAULT_BUDGET, ModelBudget
from engine.errors import BihuanError, BudgetExceeded, CommandTimedOut

_METER: contextvars.ContextVar[Meter | None] = contextvars.ContextVar(
    "bihuan_command_meter", default=None
)


def _element(task: Any) -> tuple[str, str]:
    spec = task.task_spec
    element_id = str(getattr(spec, "bpmn_id", None) or spec.name)
    name = getattr(spec, "bpmn_name", None)
    if not name and isinstance(spec, LoopTask):
        # A loop or multi-instance wrapper: the element's name is on the activity it repeats.
        inner = task.workflow.spec.task_specs.get(spec.task_spec)
        name = getattr(inner, "bpmn_name", None)
    return element_id, str(name or "")


def _named(element_id: str, name: str) -> str:
    return f"{element_id} ({name})" if name else element_id


class Meter:
    """What one command has used of its budget."""

    def __init__(self, budget: ModelBudget) -> None:
        self.budget = budget
        self.steps = 0
        self.deadline = time.monotonic() + budget.command_seconds
        self.timed_out: tuple[str, str] | None = None

    def engine_step(self, task: Any) -> None:
        """One task completed by the engine itself."""
        self.steps += 1
        if self.steps > self.budget.engine_steps:
            raise over_budget(task, "engine_steps", self.budget.engine_steps, lambda where: (
                f"流程在一次操作中运行超过 {self.budget.engine_steps} 步而未等待 "
                f"(the process ran more than {self.budget.engine_steps} engine steps in one "
                f"command without waiting, last at element {where}: a loop "
                "with no user task, message or timer in it?)"
            ))  # fmt: skip
        self.check_time(task)

    def loop_iteration(self, task: Any, done: int) -> None:
        """Before iteration ``done + 1`` of a standard loop."""
        if done >= self.budget.loop_maximum:
            raise over_budget(task, "loop_maximum", self.budget.loop_maximum, lambda where: (
                f"循环 {where} 超过 {self.budget.loop_maximum} 次 "
                f"(the standard loop of element {where} would run more "
                f"than {self.budget.loop_maximum} iterations: lower loopMaximum or make its "
                "loopCondition end)"
            ))  # fmt: skip
        self.check_time(task)

    def instance(self, task: Any, existing: int) -> None:
        """Before instance ``existing + 1`` of a multi-instance activity."""
        if existing >= self.budget.mi_cardinality:
            raise over_budget(task, "mi_cardinality", self.budget.mi_cardinality, lambda where: (
                f"多实例 {where} 超过 {self.budget.mi_cardinality} 个实例 "
                f"(the multi-instance element {where} would create more "
                f"than {self.budget.mi_cardinality} instances: check its loopCardinality or "
                "input collection)"
            ))  # fmt: skip
        self.check_time(task)

    def check_time(self, task: Any = None) -> None:
        if time.monotonic() > self.deadline:
            raise self.timeout(task)

    def timeout(self, task: Any = None) -> CommandTimedOut:
        element_id, name = _element(task) if task is not None else ("", "")
        where = f" at element {_named(element_id, name)}" if element_id else ""
        return CommandTimedOut(
            f"操作超过 {self.budget.command_seconds:g} 秒已停止，未作任何修改 (the command ran "
            f"longer than its budget of {self.budget.command_seconds:g} seconds{where} and was "
            "stopped; nothing was changed)",
            element_id=element_id or None,
            element_name=name or None,
            limit="command_seconds",
            limit_value=self.budget.command_seconds,
        )

    def expired(self) -> bool:
        return time.monotonic() > self.deadline


@contextmanager
def metered(budget: ModelBudget = DEFAULT_BUDGET) -> Iterator[Meter]:
    """Run one command under ``budget`` (nested calls share the outer command's meter)."""
    outer = _METER.get()
    if outer is not None:
        yield outer
        return
    meter = Meter(budget)
    token = _METER.set(meter)
    try:
        yield meter
    finally:
        _METER.reset(token)


def current_meter() -> Meter | None:
    return _METER.get()


def runaway(task: Any) -> BudgetExceeded:
    """The error for a loop with no wait that ran deeper than SpiffWorkflow follows."""
    meter = _METER.get()
    budget = meter.budget if meter is not None else DEFAULT_BUDGET
    steps = meter.steps if meter is not None else 0
    return over_budget(task, "engine_steps", budget.engine_steps, lambda where: (
        f"流程在一次操作中运行了 {steps} 步而未等待，无法继续 (the process ran {steps} engine "
        f"steps in one command without waiting and got deeper than the engine can follow, at "
        f"element {where}: a loop with no user task, message or timer in it?)"
    ))  # fmt: skip


def over_budget(task: Any, limit: str, value: int, text: Callable[[str], str]) -> BudgetExceeded:
    """The 422 for ``limit`` (a field of ModelBudget) run over at ``task``'s element; ``text``
    words it around the element's id and name."""
    element_id, name = _element(task)
    return BudgetExceeded(
        text(_named(element_id, name)),
        element_id=element_id,
        element_name=name,
        limit=limit,
        limit_value=value,
    )


def budget_error(exc: BaseException) -> BihuanError | None:
    """The budget error behind ``exc`` (SpiffWorkflow may wrap what a hook raised)."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        if isinstance(node, BudgetExceeded | CommandTimedOut):
            return node
        seen.add(id(node))
        node = node.__cause__ or node.__context__
    return None


# ------------------------------------------------------------------------------------------
# Hooks into SpiffWorkflow's loop and multi-instance specs (before each new child task)

_standard_create_child = StandardLoopTask.create_child
_multi_create_child = MultiInstanceTask.create_child


def _metered_loop_child(self: Any, my_task: Any) -> Any:
    meter = _METER.get()
    if meter is not None:
        meter.loop_iteration(my_task, len(self._merged_children(my_task)))
    return _standard_create_child(self, my_task)


def _metered_instance(self: Any, my_task: Any, item: Any, key_or_index: Any = None) -> Any:
    meter = _METER.get()
    if meter is not None:
        meter.instance(my_task, sum(1 for _ in self._instances(my_task)))
    return _multi_create_child(self, my_task, item, key_or_index)


StandardLoopTask.create_child = _metered_loop_child
MultiInstanceTask.create_child = _metered_instance


__all__ = ["Meter", "budget_error", "current_meter", "metered", "runaway"]
