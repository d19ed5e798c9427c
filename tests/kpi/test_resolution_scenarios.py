"""The 考核 defects of issue 15, driven through the shipped dispute process as real users, with
save → reload before every step, on both databases:

* 化解率 counted every closure: a case fed back as *not* resolved whose party says "not solved",
  and a case whose party was never reached at 回访, gave 2/2. Now 0/2; a case resolved and
  confirmed by the party makes it 1/3.
* 按期办结率 was measured at the centre's 办结 (after review and 回访): a unit that fed back on
  time was late when the centre reviewed after the due date. Now measured at the feedback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from demo import scenarios as sc
from engine.clock import ManualClock, as_utc
from engine.kpi import Period, compute, compute_from_record
from engine.kpi.store import CACHE
from engine.storage.models import Case
from tests.kpi.county import REPORTER, County, build

HOUR = timedelta(hours=1)


@pytest.fixture
def county(db_url: str, clock: ManualClock) -> Iterator[County]:
    CACHE.clear()
    world = build(db_url, clock)
    world.driver = sc.Driver(world.engine, reload=True)  # save → reload before every step
    yield world
    world.db.dispose()


def run(county: County, case_no: str, steps: list[sc.Step], grid: str = "qs-dc-hp-01") -> None:
    county.driver.start(case_no, sc.report(case_no, grid), REPORTER)
    for element, form in steps:
        county.clock.advance(HOUR)
        county.driver.do(case_no, element, form)


def handled(unit: str, now: datetime, resolved: bool = True) -> list[sc.Step]:
    """Screened, dispatched, signed, contacted (``now`` is the time the worker types in the
    contact form), handled and fed back."""
    return [
        sc.screen(),
        sc.dispatch(unit),
        sc.sign(),
        sc.contact(now),
        sc.handle(),
        sc.feedback(resolved),
    ]


def test_resolution_counts_only_cases_resolved_in_substance(county: County) -> None:
    now = county.clock.now()
    run(county, "R-UNSOLVED", [*handled("qs-dc-hp-01", now, resolved=False), sc.review(),
                               sc.revisit(now, 3, problem_solved=False)])  # fmt: skip
    run(county, "R-UNREACHED", [*handled("qs-dc-hp-01", now), sc.review(),
                                *[sc.revisit(now, None)] * 3])  # fmt: skip
    with county.db.session() as s:
        statuses = dict(s.execute(select(Case.case_no, Case.status)).all())
    assert statuses == {"R-UNSOLVED": "CLOSED", "R-UNREACHED": "CLOSED"}
    month = Period.parse("2026-03")
    later = county.clock.now() + timedelta(days=40)
    with county.db.session() as s:
        k = compute(s, "qs", month, later).total
    assert (k.closed, k.resolved, k.unverified) == (2, 0, 1)  # was 2/2
    assert k.resolution_rate.value == 0.0

    run(county, "R-SOLVED", [*handled("qs-dc-hp-01", now), sc.review(), sc.revisit(now, 4)])
    with county.db.session() as s:
        report = compute(s, "qs", month, later)
        assert report == compute_from_record(s, "qs", month, later)
    k = report.total
    assert (k.closed, k.resolved) == (3, 1)
    assert report.total.resolved_by_tier["grid"] + report.total.resolved_by_tier["village"] == 1
    handlers = {h.unit: h.kpis for h in report.handlers}
    assert (handlers["qs-dc-hp-01"].closed, handlers["qs-dc-hp-01"].resolved) == (3, 1)


def test_on_time_is_measured_at_the_handling_unit_s_feedback(county: County) -> None:
    run(county, "R-LATEREVIEW", handled("qs-dc-hp-01", county.clock.now()))
    with county.db.session() as s:
        stored = s.scalar(select(Case.due_at).where(Case.case_no == "R-LATEREVIEW"))
    assert stored is not None
    due = as_utc(stored)
    assert county.clock.now() < due  # fed back before the due date
    county.clock.set(due + 2 * HOUR)  # the centre reviews after it
    county.driver.do("R-LATEREVIEW", *sc.review())
    county.clock.advance(HOUR)
    county.driver.do("R-LATEREVIEW", *sc.revisit(county.clock.now(), 5))
    period = Period.parse(f"{due.year}-{due.month:02d}")
    with county.db.session() as s:
        k = compute(s, "qs", period, county.clock.now() + timedelta(days=40)).total
    assert (k.due, k.due_on_time, k.due_closed_on_time) == (1, 1, 0)  # fed back on time
    assert (k.dispatched, k.responded) == (1, 1)  # first contact within its limit
