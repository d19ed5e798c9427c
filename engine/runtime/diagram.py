"""The diagram overlay of a finished instance, kept when its workflow state is dropped.

A completed or cancelled instance never runs again, so the runtime stores no state for it
(``instances.state`` = ``{}``), only what the case detail's overlay shows: each BPMN element's
``active`` / ``completed`` state as the workflow left it (``instances.element_states``).

Packed against the definition's elements, which never change once deployed: per state, a
bitmask (hex) over the sorted element ids of ``definitions.elements``; an element id the
definition does not list is kept by name under ``"ids"``::

    {"completed": "3f0a…", "active": "0004…", "ids": {"<unlisted id>": "completed"}}

About 40 bytes for the dispute process instead of ~400 for the id lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

UNLISTED = "ids"


def pack_element_states(states: dict[str, str], elements: Iterable[str]) -> dict[str, Any]:
    """``{element id: state}`` → the packed overlay (no empty entries)."""
    position = {element_id: i for i, element_id in enumerate(sorted(elements))}
    masks: dict[str, int] = {}
    unlisted: dict[str, str] = {}
    for element_id, state in states.items():
        if element_id in position and state != UNLISTED:
            masks[state] = masks.get(state, 0) | (1 << position[element_id])
        else:
            unlisted[element_id] = state
    packed: dict[str, Any] = {state: format(mask, "x") for state, mask in sorted(masks.items())}
    if unlisted:
        packed[UNLISTED] = dict(sorted(unlisted.items()))
    return packed


def unpack_element_states(packed: dict[str, Any], elements: Iterable[str]) -> dict[str, str]:
    """The inverse of :func:`pack_element_states`, sorted by element id."""
    ordered = sorted(elements)
    states: dict[str, str] = {}
    for state, value in packed.items():
        if state == UNLISTED:
            states.update({str(k): str(v) for k, v in dict(value).items()})
            continue
        mask = int(str(value), 16)
        states.update({e: state for i, e in enumerate(ordered) if mask >> i & 1})
    return dict(sorted(states.items()))
