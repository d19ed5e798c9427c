"""What validation accepts and refuses (issue 14): standard BPMN accepted, every expression the
engine evaluates compiled in the sandbox, the model's static budget, timer values.

Each refusal names the element (id) and line and says why; the models here are written the way
modelers write them (``incoming``/``outgoing`` children, bare timer values, no forms).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.budget import ModelBudget
from engine.errors import Problem, ValidationFailed
from engine.sandbox import Sandbox
from engine.spiff import BundleFile, CompiledBundle, compile_bundle

NOW = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="d" targetNamespace="t">
"""


def model(body: str, *, before: str = "", pid: str = "p") -> bytes:
    """A process ``pid`` whose flow is ``body`` between the start event ``s`` and end ``e``."""
    return (
        HEAD
        + before
        + f"""
  <bpmn:process id="{pid}" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="s" targetRef="a"/>
{body}
    <bpmn:endEvent id="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
    ).encode()


def compile_one(content: bytes, budget: ModelBudget | None = None) -> CompiledBundle:
    kw = {"budget": budget} if budget is not None else {}
    return compile_bundle([BundleFile("m.bpmn", content)], Sandbox(), now=NOW, **kw)


def refused(content: bytes, budget: ModelBudget | None = None) -> list[Problem]:
    with pytest.raises(ValidationFailed) as info:
        compile_one(content, budget)
    return info.value.problems


def only(problems: list[Problem], element: str) -> Problem:
    [problem] = [p for p in problems if p.element_id == element]
    assert problem.line is not None
    return problem


def task(tid: str, extra: str = "", to: str = "e", kind: str = "task") -> str:
    return f"""    <bpmn:{kind} id="{tid}">{extra}</bpmn:{kind}>
    <bpmn:sequenceFlow id="{tid}_out" sourceRef="{tid}" targetRef="{to}"/>"""


# ------------------------------------------------------------------ standard BPMN accepted


def test_sub_process_with_incoming_outgoing_and_multi_instance_deploys() -> None:
    body = """    <bpmn:subProcess id="a" name="逐户走访">
      <bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:multiInstanceLoopCharacteristics isSequential="true">
        <bpmn:loopCardinality>3</bpmn:loopCardinality>
      </bpmn:multiInstanceLoopCharacteristics>
      <bpmn:startEvent id="ss"><bpmn:outgoing>sf</bpmn:outgoing></bpmn:startEvent>
      <bpmn:sequenceFlow id="sf" sourceRef="ss" targetRef="se"/>
      <bpmn:endEvent id="se"><bpmn:incoming>sf</bpmn:incoming></bpmn:endEvent>
    </bpmn:subProcess>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>"""
    assert set(compile_one(model(body)).processes) == {"p"}


def test_implicit_parallel_and_inclusive_splits_deploy() -> None:
    parallel = (
        """    <bpmn:task id="a"/>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="b"/>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="c"/>
"""
        + task("b", to="j")
        + task("c", to="j")
        + """
    <bpmn:parallelGateway id="j"/>
    <bpmn:sequenceFlow id="fj" sourceRef="j" targetRef="e"/>"""
    )
    assert set(compile_one(model(parallel)).processes) == {"p"}
    conditional = """    <bpmn:task id="a" default="f2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e">
      <bpmn:conditionExpression>x == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="b"/>
""" + task("b")
    assert set(compile_one(model(conditional)).processes) == {"p"}


def test_user_task_without_a_form_deploys_with_a_warning() -> None:
    compiled = compile_one(model(task("a", kind="userTask")))
    [warning] = compiled.warnings
    assert warning.element_id == "a" and warning.severity == "warning"
    assert "no form" in warning.message and warning.line == 9


def test_non_executable_process_deploys_with_a_warning() -> None:
    content = model(task("a")).replace(b'isExecutable="true"', b'isExecutable="false"')
    compiled = compile_one(content)
    assert set(compiled.processes) == {"p"}
    assert "isExecutable" in compiled.warnings[0].message


def test_bare_timer_values_as_modelers_write_them_deploy() -> None:
    for kind, value in (("timeDuration", "PT1H"), ("timeDate", "2026-12-24T09:00:00+08:00"),
                        ("timeCycle", "R3/PT1H"), ("timeDate", "2027-W02-1")):  # fmt: skip
        assert set(compile_one(model(timer_body(kind, value))).processes) == {"p"}, value


def timer_body(kind: str, value: str) -> str:
    """A timer ``a`` (名称 等待): an intermediate event, or for a cycle a boundary event on ``w``."""
    definition = f"""<bpmn:timerEventDefinition id="td"><bpmn:{kind}>{value}</bpmn:{kind}>
      </bpmn:timerEventDefinition>"""
    if kind != "timeCycle":
        return f"""    <bpmn:intermediateCatchEvent id="a" name="等待">
      {definition}
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>"""
    return f"""    <bpmn:task id="a_host"/>
    <bpmn:sequenceFlow id="fw" sourceRef="a_host" targetRef="e"/>
    <bpmn:boundaryEvent id="a" name="等待" attachedToRef="a_host" cancelActivity="false">
      {definition}
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""".replace(
        'targetRef="a"', 'targetRef="a_host"'
    )


@pytest.mark.parametrize("where", ["intermediateCatchEvent", "startEvent"])
def test_a_cycle_outside_a_boundary_event_is_refused(where: str) -> None:
    body = f"""    <bpmn:{where} id="a">
      <bpmn:timerEventDefinition><bpmn:timeCycle>R3/PT1H</bpmn:timeCycle></bpmn:timerEventDefinition>
    </bpmn:{where}>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>"""
    assert "boundary event only" in only(refused(model(body)), "a").message


# ------------------------------------------------------------------ expressions compiled at deploy

EXPRESSIONS = {
    "loopCondition": """    <bpmn:task id="a"><bpmn:standardLoopCharacteristics loopMaximum="3">
      <bpmn:loopCondition>{expr}</bpmn:loopCondition></bpmn:standardLoopCharacteristics></bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
    "conditional event": """    <bpmn:intermediateCatchEvent id="a"><bpmn:conditionalEventDefinition>
      <bpmn:condition>{expr}</bpmn:condition></bpmn:conditionalEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
    "completionCondition": """    <bpmn:task id="a"><bpmn:multiInstanceLoopCharacteristics>
      <bpmn:loopCardinality>2</bpmn:loopCardinality>
      <bpmn:completionCondition>{expr}</bpmn:completionCondition>
    </bpmn:multiInstanceLoopCharacteristics></bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
    "loopCardinality": """    <bpmn:task id="a"><bpmn:multiInstanceLoopCharacteristics>
      <bpmn:loopCardinality>{expr}</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics></bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
    "timer expression": """    <bpmn:intermediateCatchEvent id="a"><bpmn:timerEventDefinition>
      <bpmn:timeDuration>{expr}</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
    "sequence flow condition": """    <bpmn:exclusiveGateway id="a" default="f2"/>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e">
      <bpmn:conditionExpression>{expr}</bpmn:conditionExpression></bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f2" sourceRef="a" targetRef="e"/>""",
    "preScript": """    <bpmn:task id="a"><bpmn:extensionElements>
      <spiffworkflow:preScript>{expr}</spiffworkflow:preScript></bpmn:extensionElements></bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>""",
}
BAD = {
    "import": "__import__('os').system('id')",
    "syntax": "x ==",
    "dunder": "().__class__.__base__",
    "forbidden name": "open('/etc/passwd')",
}


@pytest.mark.parametrize("where", sorted(EXPRESSIONS))
@pytest.mark.parametrize("bad", sorted(BAD))
def test_every_expression_is_compiled_at_deploy(where: str, bad: str) -> None:
    expr = BAD[bad].replace("'", "&apos;")
    problems = refused(model(EXPRESSIONS[where].format(expr=expr)))
    element = "f1" if where == "sequence flow condition" else "a"
    problem = only(problems, element)
    assert problem.message.startswith("expression refused"), problem


@pytest.mark.parametrize("where", sorted(EXPRESSIONS))
def test_the_same_places_accept_a_good_expression(where: str) -> None:
    expr = "'PT1H'" if where == "timer expression" else "2" if where == "loopCardinality" else (
        "x = 1" if where == "preScript" else "len([1]) == 1")  # fmt: skip
    assert compile_one(model(EXPRESSIONS[where].format(expr=expr))).processes


def test_correlation_property_expressions_are_compiled() -> None:
    before = """  <bpmn:message id="m" name="m"/>
  <bpmn:correlationProperty id="cp" name="cp">
    <bpmn:correlationPropertyRetrievalExpression messageRef="m">
      <bpmn:formalExpression>__import__('os')</bpmn:formalExpression>
    </bpmn:correlationPropertyRetrievalExpression>
  </bpmn:correlationProperty>
"""
    problem = only(refused(model(task("a"), before=before)), "cp")
    assert "expression refused" in problem.message


def test_juel_expressions_are_refused_with_a_hint() -> None:
    problem = only(
        refused(model(EXPRESSIONS["sequence flow condition"].format(expr="${ok}"))), "f1"
    )
    assert "JUEL" in problem.message


# ------------------------------------------------------------------ the static budget


@pytest.mark.parametrize(
    ("maximum", "message"),
    [("1000000000", "over the limit"), ("1001", "over the limit"), ("many", "not a whole")],
)
def test_loop_maximum_over_budget_is_refused(maximum: str, message: str) -> None:
    body = f"""    <bpmn:task id="a"><bpmn:standardLoopCharacteristics loopMaximum="{maximum}"/>
    </bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>"""
    if maximum == "many":  # the BPMN schema already refuses a non-integer
        assert refused(model(body))
        return
    assert message in only(refused(model(body)), "a").message


@pytest.mark.parametrize("cardinality", ["10000000", "501", "-1", "2.5", "'3'"])
def test_literal_cardinality_over_budget_or_not_a_count_is_refused(cardinality: str) -> None:
    problem = only(refused(model(EXPRESSIONS["loopCardinality"].format(expr=cardinality))), "a")
    assert "loopCardinality" in problem.message


def test_limits_come_from_the_budget() -> None:
    body = EXPRESSIONS["loopCardinality"].format(expr="20")
    assert compile_one(model(body)).processes
    assert refused(model(body), ModelBudget(mi_cardinality=10))
    loop = """    <bpmn:task id="a"><bpmn:standardLoopCharacteristics loopMaximum="20"/></bpmn:task>
    <bpmn:sequenceFlow id="f1" sourceRef="a" targetRef="e"/>"""
    assert compile_one(model(loop)).processes
    assert refused(model(loop), ModelBudget(loop_maximum=10))


TIMERS_REFUSED = [
    ("timeDuration", "P999999999Y", "longer than the limit"),
    ("timeDuration", "'P11Y'", "longer than the limit"),
    ("timeDuration", "P-1D", "not an ISO 8601 duration"),
    ("timeDuration", "3600", "must be text"),
    ("timeDuration", "['PT1H']", "must be text"),
    ("timeDuration", "''", "empty"),
    ("timeDate", "'2040-01-01T00:00:00+08:00'", "years ahead"),
    ("timeDate", "'9999-12-31T23:59:59'", "years ahead"),
    ("timeDate", "'0001-01-01T00:00:00'", "can represent"),
    ("timeDate", "'2026-W54-1'", "can represent"),
    ("timeDate", "'2026-W00'", "can represent"),
    ("timeDate", "'PT1H'", "not the duration"),
    ("timeCycle", "R1001/PT1H", "more than the limit"),
    ("timeCycle", "R5/P3Y", "longer than the limit"),
    ("timeCycle", "'R3/PT0S'", "must be positive"),
    ("timeCycle", "'R3/9999-12-31T00:00:00Z/P1D'", "years"),
    ("timeCycle", "'R3/PT1H/PT2H'", "exactly one interval"),
]


@pytest.mark.parametrize(("kind", "value", "message"), TIMERS_REFUSED)
def test_literal_timer_over_budget_or_malformed_is_refused(
    kind: str, value: str, message: str
) -> None:
    problem = only(refused(model(timer_body(kind, value.replace("'", "&apos;")))), "a")
    assert message in problem.message and kind in problem.message, problem
