"""Event sub-processes on a restored (shared) spec behave as SpiffWorkflow runs them on its own.

The engine's restored specs start a triggered event sub-process without wiring it into the spec
(``engine/spiff/serializer.py``). These drives compare that with SpiffWorkflow's own behaviour on
a parser spec (which it rewires), and load a state saved by the unfixed engine mid-extension.
"""

from __future__ import annotations

from typing import Any

import pytest

from engine.spiff.serializer import (
    SERIALIZER_VERSION,
    RestoredSpec,
    spec_to_dict,
    state_from_dict,
    state_to_dict,
)
from tests.processes import drive as drive_module
from tests.processes.drive import Drive
from tests.processes.support import fresh_parser


def restored_spec() -> RestoredSpec:
    p = fresh_parser()
    return RestoredSpec(spec_to_dict(p.get_spec("dispute"), p.get_subprocess_specs("dispute")))


class _Specs:
    """Stands in for the parser a drive takes its spec from: hands out a restored spec."""

    def __init__(self, restored: RestoredSpec) -> None:
        self.restored = restored

    def get_spec(self, process_id: str) -> Any:
        return self.restored.spec

    def get_subprocess_specs(self, process_id: str) -> dict[str, Any]:
        return self.restored.subprocess_specs


def drive_on(restored: RestoredSpec, monkeypatch: pytest.MonkeyPatch) -> Drive:
    with monkeypatch.context() as m:
        m.setattr(drive_module, "fresh_parser", lambda: _Specs(restored))
        return Drive()


def reload(d: Drive, restored: RestoredSpec) -> None:
    """Save the drive's workflow and go on with it loaded on ``restored``."""
    state = state_to_dict(d.wf)
    d.wf = state_from_dict(restored, state, SERIALIZER_VERSION, d.wf.script_engine)


def up_to_handling(d: Drive) -> Drive:
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    return d


def request_extension(d: Drive) -> None:
    d.message("extension_request", {"requested_days": 5, "reason": "当事人外出务工。"})


def approve_then_close(d: Drive, restored: RestoredSpec | None = None) -> dict[str, Any]:
    if restored is not None:
        reload(d, restored)
    d.do("approve_extension", extension_approved=True, extension_days=5, extension_reason="同意。")
    if restored is not None:
        reload(d, restored)
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    return d.done()


def start_outputs(restored: RestoredSpec) -> list[str]:
    return [s.name for s in restored.spec.start.outputs]


def test_a_restored_spec_ends_an_extension_as_spiffworkflow_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = up_to_handling(Drive())  # on a parser spec, which SpiffWorkflow rewires
    request_extension(own)
    expected = approve_then_close(own)
    restored = restored_spec()
    outputs = start_outputs(restored)
    shared = up_to_handling(drive_on(restored, monkeypatch))
    request_extension(shared)
    done = approve_then_close(shared, restored)  # saved and reloaded around each step
    # the same end, with the same final data, as SpiffWorkflow's own run
    assert done == expected
    assert done["case_status"] == "CLOSED"
    assert start_outputs(restored) == outputs
    # a drive started afterwards on the same spec has no sub-process and runs to its end
    later = drive_on(restored, monkeypatch)
    assert later.wf.subprocesses == {}
    up_to_handling(later)
    later.handle()
    later.feedback()
    later.review()
    later.revisit(4)
    assert later.done()["case_status"] == "CLOSED"
    assert later.wf.subprocesses == {}


def test_a_state_saved_mid_extension_before_the_fix_loads_and_ends() -> None:
    """The unfixed engine ran SpiffWorkflow's own trigger: its saved state has the sub-process
    wired to the end join (a predicted end task under it). It loads on a restored spec and ends."""
    old = up_to_handling(Drive())
    request_extension(old)
    restored = restored_spec()
    outputs = start_outputs(restored)
    done = approve_then_close(old, restored)
    assert done["case_status"] == "CLOSED"
    assert start_outputs(restored) == outputs
