"""The model's static work budget (engine/budget.py), checked at validation.

Where a value is written in the model — a timer's date, duration or cycle, a ``loopMaximum``, a
multi-instance cardinality given as a number — it is checked here and a model over budget is
refused naming the element. Computed values are checked where they are computed (timers:
``SandboxScriptEngine.evaluate``; loops and multi-instance: the run-time budget).

Timers in standard BPMN are written bare (``<timeDuration>PT1H</timeDuration>``, as every modeler
writes them); SpiffWorkflow reads a timer as a Python expression, where ``PT1H`` is an unknown
name and ``2026-05-01T09:00`` a syntax error. Text that is itself a valid timer value is taken as
that value: :func:`quote_literal_timers` quotes it in the tree handed to SpiffWorkflow's parser
(the deployed file is kept byte for byte).
"""

from __future__ import annotations

import ast
import re
from datetime import datetime
from typing import Any

from engine.budget import ModelBudget
from engine.spiff.timers import KINDS, TimerValueError, check_timer_value

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def literal(text: str) -> tuple[bool, Any]:
    """(True, value) when ``text`` is a Python literal, else (False, None)."""
    try:
        return True, ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


_TIMERISH = re.compile(r"[PR0-9][0-9A-Z:.,+\-/]*")


def bare_timer(text: str) -> bool:
    """Whether ``text`` is a timer value written without quotes (``PT1H``, ``R3/PT1H``,
    ``2026-05-01T09:00:00+08:00``): ISO 8601 characters only (upper case), with a digit, and
    not a number. Such text is the value, and is checked as one (``P-1D`` is a bad value, not an
    expression ``P - 1D``)."""
    value = text.strip()
    if not _TIMERISH.fullmatch(value) or not any(c.isdigit() for c in value):
        return False
    # A number is an expression whose value is checked (and refused) as such.
    return not literal(value)[0]


def timer_problem(kind: str, text: str, budget: ModelBudget, now: datetime | None) -> str | None:
    """Why a timer written as a literal (quoted or bare) cannot run, or None."""
    is_literal, value = literal(text)
    if not is_literal:
        if not bare_timer(text):
            return None  # an expression computed at run time: checked when it is evaluated
        value = text.strip()
    try:
        check_timer_value(kind, value, budget, now)
    except TimerValueError as exc:
        return f"{kind}: {exc}"
    return None


def loop_problems(node: Any, budget: ModelBudget) -> list[tuple[int | None, str]]:
    """(line, message) for a literal loop bound over budget on an activity."""
    found: list[tuple[int | None, str]] = []
    standard = node.find(f"{{{BPMN_NS}}}standardLoopCharacteristics")
    if standard is not None and standard.get("loopMaximum") is not None:
        raw = standard.get("loopMaximum", "").strip()
        if not raw.lstrip("-").isdigit():
            found.append((standard.sourceline, f"loopMaximum {raw!r} is not a whole number"))
        elif int(raw) > budget.loop_maximum:
            found.append((
                standard.sourceline,
                f"loopMaximum {raw} is over the limit of {budget.loop_maximum} iterations",
            ))  # fmt: skip
    multi = node.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    card = multi.find(f"{{{BPMN_NS}}}loopCardinality") if multi is not None else None
    if card is not None and card.text and card.text.strip():
        is_literal, value = literal(card.text)
        if is_literal and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            found.append((
                card.sourceline,
                f"loopCardinality {card.text.strip()!r} is not a whole number of instances",
            ))  # fmt: skip
        elif is_literal and value > budget.mi_cardinality:
            found.append((
                card.sourceline,
                f"loopCardinality {value} is over the limit of {budget.mi_cardinality} instances",
            ))  # fmt: skip
    return found


def quote_literal_timers(root: Any) -> None:
    """Quote bare timer values in ``root`` (a parsed BPMN file) for SpiffWorkflow's parser."""
    for kind in KINDS:
        for el in root.iter(f"{{{BPMN_NS}}}{kind}"):
            if el.text and bare_timer(el.text):
                el.text = repr(el.text.strip())


__all__ = ["bare_timer", "literal", "loop_problems", "quote_literal_timers", "timer_problem"]
