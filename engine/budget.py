"""The work budget of one model (issue 14): how much work the engine may do for one command.

Checked at validation where the value is written in the model (a timer's duration, a
``loopMaximum``, a multi-instance cardinality given as a number), and enforced at run time where it
is computed. A model or a command over budget is refused with an error naming the element; nothing
is committed. The script sandbox's own limits (steps, size, time) are ``engine.sandbox.Limits``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ModelBudget:
    """Limits on what one model may ask of the engine in one command."""

    engine_steps: int = 5_000
    """Task transitions one command may run (a script → gateway → script loop with no wait)."""
    loop_maximum: int = 1_000
    """Iterations of a standard loop (``loopMaximum`` or a condition that never stops)."""
    mi_cardinality: int = 500
    """Instances of one multi-instance activity."""
    timer_years: int = 10
    """The farthest a timer may point ahead: a duration's length, a date's distance, a cycle's
    span."""
    timer_repeats: int = 1_000
    """Repetitions of a ``timeCycle`` (``R<n>/…``); an unbounded cycle counts as this many."""


DEFAULT_BUDGET = ModelBudget()

__all__ = ["DEFAULT_BUDGET", "ModelBudget"]
