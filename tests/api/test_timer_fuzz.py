"""Timer fuzz (issue 14): generated timer values of each kind (timeDate, timeDuration, timeCycle),
written in the model (quoted or bare) or computed from the case's data, deployed and started
through the API, then the clock moved and the scheduler swept. No answer is a 500, no command
stops the worker, and the scheduler's sweep always returns.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.scheduler import Scheduler
from tests.api.conftest import World
from tests.api.test_timer_values import deploy, start, timer_model

KINDS = ("timeDate", "timeDuration", "timeCycle")
BUDGET_SECONDS = 60
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def _duration() -> st.SearchStrategy[str]:
    num = st.one_of(st.integers(0, 40), st.integers(0, 10**12), st.just(-1))
    date_part = st.tuples(num, st.sampled_from("YMWD")).map(lambda t: f"{t[0]}{t[1]}")
    time_part = st.tuples(num, st.sampled_from("HMS")).map(lambda t: f"{t[0]}{t[1]}")
    return st.builds(
        lambda d, t: "P" + "".join(d) + ("T" + "".join(t) if t else ""),
        st.lists(date_part, max_size=3),
        st.lists(time_part, max_size=3),
    )


def _date() -> st.SearchStrategy[str]:
    calendar = st.builds(
        lambda y, m, d, h, z: f"{y:04d}-{m:02d}-{d:02d}T{h:02d}:00:00{z}",
        st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 25),
        st.sampled_from(["", "Z", "+08:00", "-12:00", "+14:00"]),
    )  # fmt: skip
    week = st.builds(
        lambda y, w, d: f"{y:04d}-W{w:02d}-{d}",
        st.integers(1, 9999), st.integers(0, 54), st.integers(0, 8),
    )  # fmt: skip
    return st.one_of(calendar, week)


def _cycle() -> st.SearchStrategy[str]:
    count = st.one_of(st.just(""), st.integers(0, 5).map(str), st.integers(0, 10**7).map(str))
    return st.builds(
        lambda n, parts: f"R{n}/" + "/".join(parts),
        count,
        st.lists(st.one_of(_duration(), _date()), min_size=1, max_size=3),
    )


VALUES: st.SearchStrategy[Any] = st.one_of(
    _duration(), _date(), _cycle(),
    st.text(alphabet="PRTYMWDHS0123456789-:/.,Z+ ", max_size=20),
    st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.lists(st.integers(0, 3), max_size=2), st.none(),
)  # fmt: skip


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(kind=st.sampled_from(KINDS), value=VALUES, how=st.sampled_from(["data", "quoted", "bare"]))
def test_timer_values_never_answer_500_and_the_scheduler_survives(
    world: World, kind: str, value: Any, how: str
) -> None:
    began = time.monotonic()  # a bound on work, not a clock read for behaviour
    world.clock.set(START)  # each example from the same moment (tokens are issued at it)
    world.tokens.clear()
    if how != "data" and not isinstance(value, str):
        how = "data"  # only text can be written in the model
    expression = "when" if how == "data" else repr(value) if how == "quoted" else str(value)
    r = deploy(world, timer_model(kind, expression, pid="fz"))
    assert r.status_code in (200, 201, 422), r.text
    if r.status_code == 422:
        assert all(p["element_id"] == "wait" for p in r.json()["problems"]), r.text
        return
    r = start(world, "fz", {"when": value} if how == "data" else {})
    assert r.status_code in (201, 422), r.text
    if r.status_code == 422 and r.json()["code"] == "invalid_request":
        # a value no database stores exactly (beyond 64 bits) is refused at the edge
        assert [e["path"] for e in r.json()["errors"]] == ["/body/data/when"], r.text
    elif r.status_code == 422:
        assert "wait" in r.json()["detail"], r.text
    scheduler = Scheduler(world.db, engine=world.engine, clock=world.clock)
    for days in (1, 400):
        world.clock.advance(timedelta(days=days))
        scheduler.sweep_once(world.clock.now())  # returns: no exception, no hang
    world.clock.set(START)
    world.tokens.clear()
    assert world.get("county_staff", "/api/v1/cases").status_code == 200  # the worker still serves
    assert time.monotonic() - began < BUDGET_SECONDS
