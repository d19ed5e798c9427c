"""A property-based run over what clients send most: task data, message names and payloads,
report fields and query parameters — JSON values of every kind (NaN, ±Infinity, integers of any
size, floats at the edges, lone surrogates and NUL in values and keys, deep nesting). No answer
may be a 5xx, and the audit chain verifies afterwards. Bounded: a fixed number of derandomised
examples per target (a few seconds; far below a minute on either database). Beside it,
tests/api/test_fuzz.py runs schemathesis over the whole OpenAPI document."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import World
from tests.api.test_messages_users_ops import _deploy_feedback

EXAMPLES = 30
BUDGET_SECONDS = 60

TRICKY_TEXT = ["\ud800", "a\udfffb", "\x00", "a\x00", "[/x]:100:", "<bound method x>", "😀",
               "\u202e", "'; drop table cases; --", "%00", "\\u0000", " ", ""]  # fmt: skip
text = st.one_of(st.text(max_size=20), st.sampled_from(TRICKY_TEXT))
numbers = st.one_of(
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 1e16, 1e20, 1e308, 5e-324, 2.0**63, -(2.0**63), 0.1 + 0.2]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(text, inner, max_size=4)),
    max_leaves=12,
)
objects = st.dictionaries(text, values, max_size=5)
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


def _send(world: World, user: str, url: str, body: Any) -> int:
    raw = json.dumps(body, ensure_ascii=True, allow_nan=True)  # NaN, \ud800 … as JSON text
    headers = {**world.h(user), "Content-Type": "application/json"}
    r = world.client.post(url, content=raw.encode("ascii"), headers=headers)
    assert r.status_code < 500, (url, raw[:500], r.text)
    r.json()  # every answer is JSON that decodes
    return r.status_code


def _run(check: Callable[..., None], strategy: st.SearchStrategy[Any]) -> None:
    @given(strategy)
    @SETTINGS
    def run(example: Any) -> None:
        check(example)

    run()


def test_fuzz_data_messages_reports_and_queries(world: World) -> None:
    started = time.monotonic()
    _deploy_feedback(world)
    task: list[str] = []

    def claimed_task() -> str:
        if not task:
            case_no = world.report()
            task.append(world.open_task(case_no))
            assert world.post("handler_a", f"/api/v1/tasks/{task[0]}/claim").status_code == 200
        return task[0]

    def complete(data: dict[str, Any]) -> None:
        current = claimed_task()
        if _send(world, "handler_a", f"/api/v1/tasks/{current}/complete", {"data": data}) == 200:
            task.clear()

    _run(complete, st.one_of(objects, objects.map(lambda d: {**d, "result": "办结"}),
                             text.map(lambda t: {"result": t}),
                             numbers.map(lambda n: {"result": "ok", "round": n})))  # fmt: skip

    waiting = world.report(process_id="feedback")

    def message(example: tuple[Any, Any, Any]) -> None:
        name, key, payload = example
        _send(world, "town_a_staff", "/api/v1/messages",
              {"name": name, "correlation_key": key, "payload": payload})  # fmt: skip

    _run(message, st.tuples(st.one_of(st.just("citizen_feedback"), st.just("tier_timeout"), text),
                            st.one_of(st.just(waiting), text), objects))  # fmt: skip

    def report(example: tuple[Any, Any, Any, Any]) -> None:
        title, parties, data, case_no = example
        body: dict[str, Any] = {"process_id": "loop", "title": title, "grid_code": "grid_a1",
                                "parties": parties, "data": {"rounds": 0, **data}}  # fmt: skip
        if case_no is not None:
            body["case_no"] = case_no
        _send(world, "grid_a", "/api/v1/cases", body)

    _run(report, st.tuples(st.one_of(text, st.just("邻里纠纷"), numbers),
                           st.lists(objects, max_size=3), objects,
                           st.one_of(st.none(), text, st.just("BH-2026-000001"))))  # fmt: skip

    def query(example: tuple[str, Any]) -> None:
        url, params = example
        r = world.get("county_staff", url, params=params)
        assert r.status_code < 500, (url, params, r.text)

    param_values = st.one_of(text, numbers.map(str), st.integers().map(str))
    _run(query, st.tuples(
        st.sampled_from(["/api/v1/cases", "/api/v1/tasks", "/api/v1/audit/events",
                         "/api/v1/orgs", "/api/v1/directory/users"]),
        st.dictionaries(st.sampled_from(["limit", "offset", "text", "status", "case_no", "org",
                                         "scope", "sort", "since", "until", "reported_from",
                                         "overdue", "kind", "q", "role"]),
                        param_values, max_size=4),
    ))  # fmt: skip

    verified = world.get("auditor_county", "/api/v1/audit/verify")
    assert verified.status_code == 200 and verified.json()["ok"], verified.text
    assert time.monotonic() - started < BUDGET_SECONDS
