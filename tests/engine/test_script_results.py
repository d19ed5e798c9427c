"""A script's results are data that both databases store exactly: a variable holding NaN,
Infinity, a number beyond 64 bits, a lone surrogate, a NUL character or the printed form of a
non-data object (``<bound method Run.safe_sorted of …>``) fails the command with a ScriptError
naming the element and the variable, and nothing is committed. The script's own functions are
dropped (documented); numbers are stored in the form PostgreSQL's jsonb gives back."""

from __future__ import annotations

import pytest

from engine.clock import ManualClock
from engine.errors import ScriptError
from engine.runtime import Engine
from engine.spiff import BundleFile
from engine.storage.database import Database
from engine.storage.models import AuditEvent, Case, Instance
from tests.engine.support import ALICE, DESIGNER, instance

BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
                  targetNamespace="http://bihuan.example/test">
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="compute"/>
    <bpmn:scriptTask id="compute" name="计算"><bpmn:script>{script}</bpmn:script></bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="compute" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""

REFUSED = [
    ("result = float('nan')", "NaN"),
    ("result = float('inf')", "Infinity"),
    ("result = -float('inf')", "Infinity"),
    ("result = 10 ** 30", "64-bit"),
    ("result = -(2 ** 63) - 1", "64-bit"),
    ("result = 1e300", "64-bit"),
    ("result = {'a': [1, float('nan')]}", "NaN"),
    ("result = str(sorted)", "not data"),
    ("result = 'x: ' + str(len)", "not data"),
    ("result = [str(iso)]", "not data"),
    ("result = {'k': '%s' % (str,)}", "not data"),
    ("result = f'{len}'", "not data"),
    ("result = '{}'.format(max)", "not data"),
    ("result = str(sorted([1]).copy)", "not data"),
    ("result = 'a' + str(b'\\x00', 'latin-1')", "NUL"),
    ("result = '\\ud800'", "surrogate"),
    ("result = {'\\udc00': 1}", "surrogate"),
]


@pytest.fixture
def engine(db: Database, clock: ManualClock) -> Engine:
    return Engine(db, clock=clock)


def _deploy(engine: Engine, pid: str, script: str) -> None:
    xml = BPMN.format(pid=pid, script=script.replace("&", "&amp;").replace("<", "&lt;"))
    engine.deploy([BundleFile(f"{pid}.bpmn", xml.encode())], DESIGNER)


def _nothing_stored(db: Database) -> None:
    with db.session() as s:
        assert s.query(Case).count() == 0
        assert s.query(Instance).count() == 0
        assert s.query(AuditEvent).count() == 0


@pytest.mark.parametrize(("script", "words"), REFUSED)
def test_results_that_are_not_exact_data_fail_the_script(
    engine: Engine, script: str, words: str
) -> None:
    _deploy(engine, "p", script)
    with pytest.raises(ScriptError) as failed:
        engine.start("p", "C-1", {}, ALICE)
    message = failed.value.message
    assert "compute" in message and "'result'" in message and words in message, message
    assert "<bound method" not in message or "not data" in message
    _nothing_stored(engine.db)


def test_functions_are_dropped_and_numbers_stored_exactly(engine: Engine) -> None:
    script = "\n".join([
        "def helper(x):", "    return x * 2", "doubled = helper(2)", "fn = sorted", "cls = int",
        "neg = -0.0", "big = 1e17", "deep = {'l': [-0.0, 5e16]}", "keys = {1: 'a', None: 'b'}",
        "text = 'a <b> c'",
    ])  # fmt: skip
    _deploy(engine, "q", script)
    engine.start("q", "C-2", {}, ALICE)
    data = instance(engine.db, "C-2").data
    assert "helper" not in data and "fn" not in data and "cls" not in data
    assert data["doubled"] == 4 and data["text"] == "a <b> c"
    assert data["neg"] == 0.0 and str(data["neg"]) == "0.0"
    assert data["big"] == 10**17 and type(data["big"]) is int
    assert data["deep"] == {"l": [0.0, 5 * 10**16]} and type(data["deep"]["l"][1]) is int
    assert data["keys"] == {"1": "a", "null": "b"}
    from engine.audit import verify

    with engine.db.session() as s:
        assert verify(s, "k" * 40).ok


def test_expression_values_are_checked_and_dates_pass(engine: Engine) -> None:
    """Expressions (DMN cells, payloads, timers) produce values too: the same refusals, while a
    timer's datetime or duration passes as before."""
    from datetime import datetime

    from engine.sandbox import SandboxRuntimeError

    environment = engine.script_engine.environment
    moment = "parse_datetime('2026-03-02T09:00:00+08:00')"
    assert isinstance(environment.evaluate(moment, {}), datetime)
    assert isinstance(environment.evaluate(f"[{moment}, 1]", {})[0], datetime)
    assert environment.evaluate("x * -0.0", {"x": 1}) == 0.0
    assert str(environment.evaluate("x * -0.0", {"x": 1})) == "0.0"
    for expression in ("float('nan')", "10 ** 20", "str(sorted)", "{'a': [float('inf')]}"):
        with pytest.raises(SandboxRuntimeError, match="the expression's value"):
            environment.evaluate(expression, {})
