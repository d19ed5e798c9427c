"""The packed diagram overlay of a finished instance round-trips exactly."""

from __future__ import annotations

from engine.runtime.diagram import pack_element_states, unpack_element_states

ELEMENTS = {f"e{i:03d}": {} for i in range(150)}


def test_overlay_round_trips_including_ids_the_definition_does_not_list() -> None:
    states = {"e000": "completed", "e149": "completed", "e077": "active", "sub_task": "completed"}
    packed = pack_element_states(states, ELEMENTS)
    assert set(packed) == {"completed", "active", "ids"} and packed["ids"] == {
        "sub_task": "completed"
    }
    assert unpack_element_states(packed, ELEMENTS) == dict(sorted(states.items()))


def test_overlay_is_small_and_independent_of_the_elements_order() -> None:
    states = {f"e{i:03d}": "completed" for i in range(0, 150, 3)}
    packed = pack_element_states(states, reversed(list(ELEMENTS)))
    assert len(str(packed)) < 70
    assert unpack_element_states(packed, sorted(ELEMENTS)) == states
    assert pack_element_states({}, ELEMENTS) == {}
