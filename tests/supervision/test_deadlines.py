"""What happens to a case's deadline: 延期, 挂账, 返工, 重办, re-grading, a calendar year loaded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.clock import ManualClock
from engine.storage.database import Database
from engine.storage.models import OrgUnit, Report
from engine.supervision import Supervision
from engine.supervision.reports import daily_screening, monthly_analysis
from engine.workdays import WorkCalendar
from tests.engine.support import ALICE, only_task
from tests.supervision.support import policy, rig


def ask_extension(r: object, case_no: str, days: int, approved: bool = True) -> None:
    from tests.supervision.support import Rig

    assert isinstance(r, Rig)
    r.do(case_no, "request_box", {"request": "extension"})
    r.do(case_no, "approve_extension", {"approved": approved, "days": days, "reason": "需现场勘测"})


def test_extension_before_due_is_granted_once_and_the_party_told(
    db: Database, clock: ManualClock
) -> None:
    r = rig(db, clock)
    r.start("E-1", severity="blue", tier="village", with_requests=True)
    r.do("E-1", "sign_case", {})
    before = r.case("E-1").due_at
    assert before is not None
    clock.advance(timedelta(days=2))
    ask_extension(r, "E-1", 3)
    case = r.case("E-1")
    assert case.due_at == before + timedelta(days=3)
    assert only_task(db, "E-1", "handle_case").due_at == case.due_at  # the inbox shows it too
    [event] = r.events("E-1", "deadline_extended")
    assert event.reason == "需现场勘测" and event.details["extensions"] == 1
    [notice] = r.notes("E-1", "extension_notice")
    assert notice.recipient_role == "party" and "需现场勘测" in notice.body
    assert {i.payload["gen"] for i in r.pending("E-1") if i.task_id is None} == {2}
    ask_extension(r, "E-1", 1)  # a second one: the policy allows one
    [refused] = r.events("E-1", "extension_refused")
    assert refused.details["code"] == "max_count"
    assert r.case("E-1").due_at == case.due_at


def test_extension_requested_after_due_is_refused(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("E-2", severity="blue", tier="village", with_requests=True)
    r.do("E-2", "sign_case", {})
    due = r.case("E-2").due_at
    assert due is not None
    clock.set(due + timedelta(minutes=1))
    ask_extension(r, "E-2", 3)
    [refused] = r.events("E-2", "extension_refused")
    assert refused.details["code"] == "after_due"
    assert r.case("E-2").due_at == due
    assert r.notes("E-2", "extension_refused")[0].title.startswith("【延期未获准】")


def test_denied_extension_changes_nothing(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("E-3", severity="blue", tier="village", with_requests=True)
    due = r.case("E-3").due_at
    ask_extension(r, "E-3", 3, approved=False)
    assert r.events("E-3", "extension_denied") and r.case("E-3").due_at == due


def test_suspension_stops_the_clock_and_resume_restores_the_remaining_time(
    db: Database, clock: ManualClock
) -> None:
    r = rig(db, clock)
    instance_id = r.start("S-1", severity="blue", tier="village")
    r.do("S-1", "sign_case", {})
    due = r.case("S-1").due_at
    assert due is not None
    clock.advance(timedelta(days=2))
    r.engine.suspend(instance_id, "工程类，需待汛期后处理", ALICE)
    assert r.pending("S-1") == []  # no rung fires while the clock stands
    assert r.events("S-1", "deadline_suspended")
    clock.advance(timedelta(days=10))
    r.scheduler.sweep_once()
    assert r.case("S-1").ladder_level == -1  # the old warning time passed silently
    r.engine.resume(instance_id, None, ALICE)
    resumed = r.case("S-1").due_at
    assert resumed is not None and resumed == due + timedelta(days=10)
    assert r.events("S-1", "deadline_resumed")
    assert min(i.due_at for i in r.pending("S-1")) > clock.now()


def test_hang_approval_stops_the_clock_until_resume_clock(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("S-2", severity="blue", tier="village", with_requests=True)
    r.do("S-2", "sign_case", {})
    due = r.case("S-2").due_at
    assert due is not None
    r.do("S-2", "request_box", {"request": "hang"})
    r.do("S-2", "approve_hang", {"approved": True, "reason": "待拆迁"})
    assert r.events("S-2", "deadline_suspended") and r.pending("S-2") == []
    clock.advance(timedelta(days=3))
    assert r.supervision.resume_clock("S-2", ALICE, reason="条件具备")
    assert r.case("S-2").due_at == due + timedelta(days=3)
    assert not r.supervision.resume_clock("S-2", ALICE)  # nothing suspended any more


def test_rework_keeps_the_original_deadline(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("W-1", severity="blue", tier="village")
    r.do("W-1", "sign_case", {})
    due = r.case("W-1").due_at
    r.do("W-1", "handle_case", {})
    r.do("W-1", "review_result", {"review_decision": "rework"})
    assert r.case("W-1").due_at == due
    assert [e.event_type for e in r.events("W-1", "deadline_kept")] == ["deadline_kept_on_rework"]
    assert only_task(db, "W-1", "handle_case").due_at == due


def test_reopening_twice_restarts_the_limit_escalates_and_calls_an_interview(
    db: Database, clock: ManualClock
) -> None:
    r = rig(db, clock)
    r.start("O-1", severity="blue", tier="village")
    r.do("O-1", "sign_case", {})
    r.do("O-1", "handle_case", {})
    clock.advance(timedelta(days=3))
    r.do("O-1", "review_result", {"review_decision": "reopen"})
    first = r.case("O-1")
    assert first.reopen_count == 1 and first.tier == "village"
    assert first.due_at is not None and first.due_at > clock.now() + timedelta(days=6)
    r.do("O-1", "handle_case", {})
    r.do("O-1", "review_result", {"review_decision": "reopen"})
    second = r.case("O-1")
    assert second.reopen_count == 2
    assert (second.tier, second.escalation_count) == ("township", 1)
    assert second.ladder_level == 3  # 约谈: the same case reopened twice
    interview = r.events("O-1", "ladder_interview")
    assert [e.details["trigger"] for e in interview] == ["reopen_count"]
    assert len(r.events("O-1", "deadline_reopened")) == 2


def test_regrading_severity_recomputes_deadlines(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("V-1", severity="yellow", tier="township")
    yellow_due = r.case("V-1").due_at
    assert yellow_due is not None
    clock.advance(timedelta(hours=1))
    r.do("V-1", "sign_case", {"severity": "blue"})  # 20 days → min(20 days, start + 7 days)
    case = r.case("V-1")
    assert case.due_at is not None and case.due_at < yellow_due
    assert case.due_rule and case.due_rule.startswith("dispute.resolve/blue")
    [event] = r.events("V-1", "deadline_regraded")
    assert (event.details["severity_before"], event.details["severity_after"]) == (
        "yellow",
        "blue",
    )
    r.do("V-1", "handle_case", {"severity": "red"})  # red: 30 days, later: the due stays
    assert r.case("V-1").due_at == case.due_at
    assert next(i.payload["rung"] for i in r.pending("V-1") if i.task_id is None) == "warning"


def test_low_confidence_deadlines_are_recomputed_when_the_year_is_loaded(
    db: Database, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 9, 28, 1, 0, tzinfo=UTC))  # a week before 国庆
    blind = WorkCalendar.load(missing_year_policy="weekends_only", bundled_path=None,
                              use_package=False)  # fmt: skip
    r = rig(db, clock, blind)
    r.start("Y-1", severity="blue", tier="village")
    case = r.case("Y-1")
    assert case.fields["supervision"]["case"]["confidence"] == "low"
    guessed = case.due_at
    loaded = Supervision(policy(), WorkCalendar.load(), db=db, clock=clock)
    assert loaded.recompute_deadlines() == 2  # the case and the open sign task
    case = r.case("Y-1")
    assert case.fields["supervision"]["case"]["confidence"] == "high"
    assert guessed is not None and case.due_at is not None and case.due_at > guessed
    assert r.events("Y-1", "deadline_recomputed")
    assert loaded.recompute_deadlines() == 0


def test_periodic_reports_are_stored_once(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    with db.session() as s:
        s.add_all([
            OrgUnit(id="cty", name="和平县", kind="county", tier="county", path="/cty/"),
            OrgUnit(id="g1", name="一网格", kind="grid", tier="grid", parent_id="cty",
                    path="/cty/g1/"),
            OrgUnit(id="g2", name="二网格", kind="grid", tier="grid", parent_id="cty",
                    path="/cty/g2/"),
        ])  # fmt: skip
    r.start("P-1", severity="red", tier="county", grid_code="g1")
    with db.session() as s:
        for _ in range(2):
            daily_screening(s, clock.now(), clock.now())
        may = datetime(2026, 5, 1, 1, tzinfo=UTC)
        monthly_analysis(s, may, may)
    with db.session() as s:
        reports = {(x.kind, x.org_id): x for x in s.scalars(select(Report))}
    assert reports[("daily_screening", "g1")].content["reported"] == ["P-1"]
    # no grid worker attested: no 零报告 (the system never writes one)
    assert reports[("daily_screening", "g2")].content["zero_report"] is False
    month = reports[("monthly_analysis", "cty")]
    assert month.period == "2026-04"
    assert [c["case_no"] for c in month.content["red"]] == ["P-1"]
    assert [c["case_no"] for c in month.content["overdue"]] == ["P-1"]
    assert len(reports) == 3


def test_the_daily_calendar_check_recomputes_what_a_load_missed(
    db: Database, clock: ManualClock
) -> None:
    from pathlib import Path

    from engine.calendar_admin import calendar_check_job, store_table
    from engine.workdays import load_table

    table = Path(__file__).parents[1] / "fixtures" / "calendar" / "holidays-2027-test.yaml"
    clock.set(datetime(2026, 12, 20, 2, 0, tzinfo=UTC))
    r = rig(db, clock)  # the default calendar: 2027 is provisional
    r.start("Z-1", severity="yellow", tier="township")  # 20 days → last day 2027-01-09
    case = r.case("Z-1")
    assert case.due_provisional and case.fields["supervision"]["case"]["provisional"]
    # another node loaded 2027 and ran its recompute before this node saw the table
    with db.session() as s:
        store_table(s, load_table(table, "official"), now=clock.now(), actor="ops",
                    source_file=str(table))  # fmt: skip
    assert r.case("Z-1").due_provisional
    job = calendar_check_job(r.supervision.refresher, r.supervision.recompute_deadlines)
    clock.advance(timedelta(hours=20))
    with db.session() as s:
        job(s, clock.now(), clock.now())  # the recompute runs after this commit
    case = r.case("Z-1")
    assert not case.due_provisional and case.fields["supervision"]["case"]["confidence"] == "high"
    [event] = r.events("Z-1", "deadline_recomputed")
    assert (event.details["provisional_before"], event.details["provisional_after"]) == (
        True,
        False,
    )
    with db.session() as s:
        job(s, clock.now(), clock.now())  # again: nothing left to change
    assert len(r.events("Z-1", "deadline_recomputed")) == 1
