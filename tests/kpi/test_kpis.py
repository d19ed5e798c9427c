"""KPIs on the fifteen-case fixture (tests/kpi/fixture.py); expected values computed by hand.

Hand computation for /c/ (the county), period 2026-10, as of the period end:

registered in Oct: A01 A02 A03 A04 A05 A07 A08 A09 A11 A12 A14 A15 = 12  (A06 Sep, A10 never,
    A13 registered Nov 2); escalated above township: A05 → 矛盾上行率 1/12.
due in Oct: A01 A02 A03 A04 A05 A08 A09(fresh due Oct 30) A12 A14 A15 = 10  (A06 due before the
    period, A07 and A11 due in Nov).
    closed by Oct 31: A01 A02 A03 A05 A08 A09 A15 = 7 → 办结率 7/10 (A14 closes Nov 3).
    on time: A01 A03 A05 A08 A09 A15 (A15 exactly at due) = 6 → 按期办结率 6/10 (A02 late).
    overdue: A02 (closed late) A04 A12 A14 (open past due) = 4 → 超期率 4/10.
closed in Oct: A01 A02 A03 A05 A06 A07 A08 A09 A15 = 9 (A10 is INVALID, not 办结).
    all resolved → 化解率 9/9; tiers: village A01 A02 A03 A06 A09 = 5, township A07 A08 = 2,
    county A05 = 1, grid A15 = 1 → village 5/9 = 55.6 % misses the ≥70 % target, township
    2/9 = 22.2 % meets ≤30 %.
    reopened: A09 → 重办率 1/9; reworked: A03 → 返工率 1/9 (A11's rework: not closed).
    revisited (satisfaction recorded): A01 A02 A03 A05 A06 A07 A09 = 7 → 回访率 7/9.
    evaluated (less eval_excluded A03) = 6; satisfied (≥3): A01 A02 A05 A07 A09 = 5 → 满意率 5/6.
dispatched in Oct: the 12 registered in Oct (all dispatched at registration); returned: A02
    (explicit) A09 (inferred) → 退单率 2/12. 错派 (approved returns + explicit events in Oct):
    A02, A15 = 2; 不当退单: A09 = 1; 返工次数 in Oct: A03, A11 = 2.
agreements in Oct: A07 A08 = 2; judicial confirmation applied: A07 → 司法确认率 1/2.
督办数 (rises to 警示 or above in Oct): A04 ×2, A14 ×1 = 3 (A12's 提示 is not 督办);
    督办未处理数: A04, A14 (open at Oct 31) = 2.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.kpi import Period, compute
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
    assert (k.due, k.due_closed, k.due_on_time, k.overdue) == (10, 7, 6, 4)
    assert (k.closed, k.resolved) == (9, 9)
    assert k.resolved_by_tier == {"grid": 1, "village": 5, "township": 2, "county": 1}
    assert (k.reopened, k.reworked, k.revisited, k.evaluated, k.satisfied) == (1, 1, 7, 6, 5)
    assert (k.dispatched, k.returned, k.corrections, k.improper_returns) == (12, 2, 2, 1)
    assert k.rework_events == 2
    assert (k.agreements, k.jc_applied) == (2, 1)
    assert (k.supervisions, k.supervised_open) == (3, 2)
    # the rates
    assert k.on_time_rate.percent() == "60.0%"
    assert k.closure_rate.percent() == "70.0%"
    assert k.overdue_rate.percent() == "40.0%"
    assert k.resolution_rate.percent() == "100.0%"
    assert k.upward_rate.percent() == "8.3%"
    assert k.reopen_rate.percent() == k.rework_rate.percent() == "11.1%"
    assert k.return_rate.percent() == "16.7%"
    assert k.revisit_rate.percent() == "77.8%"
    assert k.satisfaction_rate.percent() == "83.3%"
    assert k.jc_rate.percent() == "50.0%"
    village, township = report.targets
    assert village.met(k.tier_share("village").value) is False  # 55.6 % < 70 %
    assert township.met(k.tier_share("township").value) is True  # 22.2 % ≤ 30 %
    assert [f.case_no for f in report.overdue_open] == ["A14", "A04", "A12"]


def test_roll_up_by_unit(fixture_db: Database) -> None:
    with fixture_db.session() as s:
        county = compute(s, "/c/", OCT, NOW)
        town1 = compute(s, "/c/t1/", OCT, NOW)
    units = {u.org_path: u.kpis for u in county.units}
    assert set(units) == {"/c/t1/", "/c/t2/"}
    t1, t2 = units["/c/t1/"], units["/c/t2/"]
    assert (t2.registered, t2.due, t2.due_on_time, t2.overdue, t2.closed) == (5, 4, 3, 1, 4)
    assert t2.resolved_by_tier == {"grid": 1, "village": 1, "township": 2, "county": 0}
    assert (t1.registered, t1.due, t1.due_on_time, t1.overdue, t1.closed) == (7, 6, 3, 3, 5)
    # a parent's counts are the sum of its children's
    assert t1.closed + t2.closed == county.total.closed
    assert town1.total == t1
    assert {u.org_path: u.kpis.closed for u in town1.units} == {"/c/t1/v1/": 3, "/c/t1/v2/": 2}


def test_as_of_an_earlier_moment(fixture_db: Database) -> None:
    # On Oct 15 (Beijing noon) the month is half over: only what the record said by then counts.
    with fixture_db.session() as s:
        k = compute(s, "/c/", OCT, datetime(2026, 10, 15, 4, tzinfo=UTC)).total
    # closed by then: A01 (Oct 8), A02 (Oct 12), A06 (Oct 3), A15 (Oct 4)
    assert k.closed == 4
    # registered by then: A01 A02 A03 A04 A05 A07 A08 A09 A14 A15
    assert k.registered == 10
