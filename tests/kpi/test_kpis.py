"""KPIs on the seventeen-case fixture (tests/kpi/fixture.py); expected values computed by hand.

Hand computation for /c/ (the county), period 2026-10, as of the period end:

registered in Oct: A01 A02 A03 A04 A05 A07 A08 A09 A11 A12 A14 A15 = 12  (A06 A16 A17 Sep, A10
    never, A13 registered Nov 2); escalated above township: A05 → 矛盾上行率 1/12.
due in Oct: A01 A02 A03 A04 A05 A08 A09(fresh due Oct 30) A12 A14 A15 A16 = 11  (A06 due before
    the period, A07 A11 A17 due in Nov).
    closed by Oct 31: A01 A02 A03 A05 A08 A09 A15 A16 = 8 → 办结率 8/11 (A14 closes Nov 3).
    按期办结率, at the handling unit's feedback: fed back by the due date A01 (Oct 6) A02 (Oct 9,
    though closed late) A03 (Oct 17, the feedback after the rework) A05 (Oct 26) A08 A09 (Oct 25,
    after the reopen) A15 (Oct 3 20:00) A16 = 8 → 8/11; A04 A12 never fed back, A14 fed back
    Oct 7 after its due Oct 5.
    按期结案率 (closed by the due, for comparison): A01 A03 A05 A08 A09 A15 A16 = 7/11 (A02 late).
    overdue: A02 (closed late) A04 A12 A14 (open past due) = 4 → 超期率 4/11.
closed in Oct: A01 A02 A03 A05 A06 A07 A08 A09 A15 A16 = 10 (A10 is INVALID, not 办结).
    化解 in substance (feedback resolved and the party, reached, says solved): A01 A02 A05 A07
    A09 A16 = 6 → 化解率 6/10. Not: A03 A06 (party: not solved), A08 (party never reached —
    unverified 1), A15 (no 回访). Before this rule the figure was 10/10.
    tiers of the 6: village A01 A02 A09 = 3, township A07 = 1, county A05 A16 = 2, grid 0 →
    village 3/6 = 50 % misses ≥70 %, township 1/6 = 16.7 % meets ≤30 %.
    reopened: A09 → 重办率 1/10; reworked: A03 → 返工率 1/10 (A11's rework: not closed).
    revisited (satisfaction recorded): A01 A02 A03 A05 A06 A07 A09 A16 = 8 → 回访率 8/10.
    evaluated (less eval_excluded A03) = 7; satisfied (≥3): A01 A02 A05 A07 A09 A16 = 6 → 6/7.
    协议履行率: closed with an agreement A07 A08 = 2; performed at 回访: A07 → 1/2.
dispatched in Oct: the 12 registered in Oct; returned: A02 (explicit) A09 (inferred) → 退单率
    2/12; 响应率: first contact within its limit A01 A09 A12 (A02's was late) → 3/12.
    错派 (approved returns + explicit events in Oct): A02, A15 = 2; 不当退单: A09 = 1;
    返工次数 in Oct: A03, A11 = 2.
agreements in Oct: A07 A08 = 2; judicial confirmation applied: A07 → 司法确认率 1/2.
红案清零率: red cases open at Oct 1: A16 (closed Oct 9), A17 (open) = 2; cleared: A16 → 1/2.
督办数 (rises to 警示 or above in Oct): A04 ×2, A14 ×1 = 3 (A12's 提示 is not 督办);
    督办未处理数: A04, A14 (open at Oct 31) = 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.kpi import Period, compute, compute_from_record, iter_case_facts, rank_units
from engine.storage.database import Database
from tests.kpi.fixture import write_fixture

NOW = datetime(2026, 11, 15, tzinfo=UTC)
OCT = Period.parse("2026-10")


@pytest.fixture
def fixture_db(db: Database) -> Database:
    with db.session() as s:
        write_fixture(s)
    return db


def test_period_bounds_are_beijing_months() -> None:
    assert OCT.start == datetime(2026, 9, 30, 16, tzinfo=UTC)
    assert OCT.end == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert Period.parse("2026-Q4").end == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert [p.label for p in OCT.previous(2)] == ["2026-08", "2026-09"]
    with pytest.raises(ValueError):
        Period.parse("2026-13")


def test_county_kpis(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        report = compute(s, "/c/", OCT, NOW)
    k = report.total
    assert report.as_of == OCT.end
    assert (k.registered, k.escalated_up) == (12, 1)
    assert (k.due, k.due_closed, k.due_on_time, k.due_closed_on_time, k.overdue) == (11, 8, 8, 7, 4)
    assert (k.closed, k.resolved, k.unverified) == (10, 6, 1)
    assert k.resolved_by_tier == {"grid": 0, "village": 3, "township": 1, "county": 2}
    assert (k.reopened, k.reworked, k.revisited, k.evaluated, k.satisfied) == (1, 1, 8, 7, 6)
    assert (k.dispatched, k.returned, k.responded) == (12, 2, 3)
    assert (k.corrections, k.improper_returns, k.rework_events) == (2, 1, 2)
    assert (k.agreements, k.jc_applied, k.agreements_due, k.agreements_performed) == (2, 1, 2, 1)
    assert (k.red_open, k.red_cleared) == (2, 1)
    assert (k.supervisions, k.supervised_open) == (3, 2)
    # the rates
    assert k.on_time_rate.percent() == "72.7%"
    assert k.closed_on_time_rate.percent() == "63.6%"
    assert k.closure_rate.percent() == "72.7%"
    assert k.overdue_rate.percent() == "36.4%"
    assert k.resolution_rate.percent() == "60.0%"
    assert k.upward_rate.percent() == "8.3%"
    assert k.reopen_rate.percent() == k.rework_rate.percent() == "10.0%"
    assert k.return_rate.percent() == "16.7%"
    assert k.response_rate.percent() == "25.0%"
    assert k.revisit_rate.percent() == "80.0%"
    assert k.satisfaction_rate.percent() == "85.7%"
    assert k.jc_rate.percent() == k.performance_rate.percent() == "50.0%"
    assert k.red_clearance_rate.percent() == "50.0%"
    village, township = report.targets
    assert village.met(k.tier_share("village").value) is False  # 50 % < 70 %
    assert township.met(k.tier_share("township").value) is True  # 16.7 % ≤ 30 %
    assert [f.case_no for f in report.overdue_open] == ["A14", "A04", "A12"]


def test_the_two_defect_cases_are_not_resolved(fixture_db: Database) -> None:
    """A08 (fed back resolved, the party never reached) and A03 (the party says not solved)
    are closed but not 化解; before the rule each closure counted."""
    with fixture_db.session() as s:
        report = compute(s, "/c/t2/v3/", OCT, NOW)
        facts = {f.case_no: f for f in iter_case_facts(s, "/c/", OCT.end)}
    assert (facts["A08"].closed, facts["A08"].resolved, facts["A08"].unverified) == (
        True,
        False,
        True,
    )
    assert (facts["A03"].closed, facts["A03"].resolved) == (True, False)
    assert facts["A09"].resolved  # reopened: only the last round's feedback and 回访 count
    k = report.total  # v3: A07 A08 A09 A15 closed; A07 A09 化解
    assert (k.closed, k.resolved, k.unverified) == (4, 2, 1)


def test_roll_up_by_unit(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        county = compute(s, "/c/", OCT, NOW)
        town1 = compute(s, "/c/t1/", OCT, NOW)
    units = {u.org_path: u.kpis for u in county.units}
    assert set(units) == {"/c/t1/", "/c/t2/"}
    t1, t2 = units["/c/t1/"], units["/c/t2/"]
    assert (t2.registered, t2.due, t2.due_on_time, t2.overdue, t2.closed) == (5, 4, 3, 1, 4)
    assert t2.resolved_by_tier == {"grid": 0, "village": 1, "township": 1, "county": 0}
    assert (t1.registered, t1.due, t1.due_on_time, t1.overdue, t1.closed) == (7, 7, 5, 3, 6)
    # a parent's counts are the sum of its children's
    assert t1.closed + t2.closed == county.total.closed
    assert town1.total == t1
    assert {u.org_path: u.kpis.closed for u in town1.units} == {"/c/t1/v1/": 4, "/c/t1/v2/": 2}


def test_by_handling_unit_and_ranking(fixture_db: Database) -> None:
    """承办单位: U-A A01 A02 A03 A11 A14 A16; U-B A04 A06 A09 A12 A15; U-C A05 (from U-B on its
    escalation) A07 A08 A17.

    U-A: due A01 A02 A03 A14 A16, fed back on time 4 (A14 late); closed A01 A02 A03 A16, 化解
         A01 A02 A16 = 3/4; reworked A03 1/4; 督办 A14 ×1, still open A14 → score
         (50·0.8 + 30·0.75 + 10·0.75) + (10 − 0.5 − 1) = 70 + 8.5 = 78.5.
    U-B: due A04 A09 A12 A15, on time A09 A15 = 2/4; closed A06 A09 A15, 化解 A09 = 1/3; no
         rework; 督办 A04 ×2, open A04 → 25 + 10 + 10 + (10 − 1 − 1) = 53.
    U-C: due A05 A08, on time 2/2; closed A05 A07 A08, 化解 A05 A07 = 2/3; no rework, no 督办
         → 50 + 20 + 10 + 10 = 90. Red: A17 open at Oct 1, not cleared.
    """
    with fixture_db.session() as s:
        report = compute(s, "/c/", OCT, NOW)
        reference = compute_from_record(s, "/c/", OCT, NOW)
    assert report == reference
    by = {h.unit: h.kpis for h in report.handlers}
    assert set(by) == {"U-A", "U-B", "U-C"}
    a, b, c = by["U-A"], by["U-B"], by["U-C"]
    assert (a.due, a.due_on_time, a.closed, a.resolved, a.reworked) == (5, 4, 4, 3, 1)
    assert (b.due, b.due_on_time, b.closed, b.resolved, b.reworked) == (4, 2, 3, 1, 0)
    assert (c.due, c.due_on_time, c.closed, c.resolved, c.red_open, c.red_cleared) == (
        2,
        2,
        3,
        2,
        1,
        0,
    )
    assert a.closed + b.closed + c.closed == report.total.closed
    ranked = rank_units((h.unit, h.name, h.kpis) for h in report.handlers)
    assert [(r.unit, r.score, r.rank) for r in ranked] == [
        ("U-C", 90.0, 1),
        ("U-A", 78.5, 2),
        ("U-B", 53.0, 3),
    ]


def test_as_of_an_earlier_moment(fixture_db: Database) -> None:
    # On Oct 15 (Beijing noon) the month is half over: only what the record said by then counts.
    with fixture_db.session() as s:
        k = compute(s, "/c/", OCT, datetime(2026, 10, 15, 4, tzinfo=UTC)).total
    # closed by then: A01 (Oct 8), A02 (Oct 12), A06 (Oct 3), A15 (Oct 4), A16 (Oct 9)
    assert k.closed == 5
    # registered by then: A01 A02 A03 A04 A05 A07 A08 A09 A14 A15
    assert k.registered == 10
