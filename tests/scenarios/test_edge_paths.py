"""The dispute loop's edge paths as practice runs them (issue 15), through the engine on both
databases; the driver reloads every step from the database (save → reload at each wait)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.clock import ManualClock
from engine.errors import FormInvalid, NotFound
from engine.runtime import Engine
from tests.engine.support import case, instance
from tests.scenarios.support import GRID_WORKER, details

pytestmark = pytest.mark.clock


def start(driver: Driver, case_no: str, grid: str = "qs-dc-hp-01", **report: object) -> None:
    driver.start(case_no, sc.report(case_no, grid, **report), GRID_WORKER)


def open_ids(driver: Driver, case_no: str) -> list[str]:
    return sorted(t.element_id for t in driver.open_tasks(case_no))


def mediated_with_jc(driver: Driver, case_no: str, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, case_no)
    steps = [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3], sc.handle("mediate")]
    steps.append(sc.mediate(now.date().isoformat(), jc_requested=True))
    driver.run_all(case_no, steps)


def test_parties_who_applied_on_day_25_are_recorded_and_the_case_waits_for_the_ruling(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    mediated_with_jc(driver, "MD-JC25-1", clock)
    clock.advance(timedelta(days=25))
    assert not driver.fire_timers("MD-JC25-1")
    driver.run_all("MD-JC25-1", [sc.judicial_confirmation(clock.now())])
    assert open_ids(driver, "MD-JC25-1") == ["jc_ruling"]
    clock.advance(timedelta(days=10))  # day 35: the application window is over, the ruling not
    assert not driver.fire_timers("MD-JC25-1")
    assert open_ids(driver, "MD-JC25-1") == ["jc_ruling"]
    assert instance(dispute.db, "MD-JC25-1").data["jc_result"] == ""
    driver.run_all("MD-JC25-1", [sc.jc_ruling(clock.now()), sc.feedback()])
    data = instance(dispute.db, "MD-JC25-1").data
    assert (data["jc_result"], data["jc_ruling_no"]) == ("confirmed", "(2026)青西民特1号")
    assert open_ids(driver, "MD-JC25-1") == ["review_result"]


def test_without_an_application_the_window_expires_on_day_31_not_before(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    mediated_with_jc(driver, "MD-JC31-1", clock)
    clock.advance(timedelta(days=30))  # still day 30 in Beijing (the clock starts at 09:00)
    assert not driver.fire_timers("MD-JC31-1")
    assert open_ids(driver, "MD-JC31-1") == ["judicial_confirmation"]
    clock.advance(timedelta(days=1))  # day 31
    assert driver.fire_timers("MD-JC31-1")
    assert open_ids(driver, "MD-JC31-1") == ["feedback_result"]
    assert instance(dispute.db, "MD-JC31-1").data["jc_result"] == "expired"
    assert case(dispute.db, "MD-JC31-1").status == "FEEDBACK"


# ---------------------------------------------------------------- 延期: the dispatching tier


def in_progress(driver: Driver, case_no: str, clock: ManualClock) -> None:
    """A grid's 小事 (blue, neighbourhood), dispatched by the village, now being handled."""
    start(driver, case_no)
    driver.run_all(case_no, [sc.screen(), *sc.handling("qs-dc-hp-01", clock.now())[:3]])


def approve(driver: Driver, case_no: str, element: str, days: int) -> str:
    [holder] = driver.run_all(case_no, [(element, sc.approve_extension(True, days)[1])])
    return holder


def test_a_grid_cases_extension_is_approved_by_the_village_and_a_second_one_level_up(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    in_progress(driver, "MD-EXT-T1", clock)
    due = case(dispute.db, "MD-EXT-T1").due_at
    assert due is not None
    driver.message(
        "MD-EXT-T1", "extension_request", {"requested_days": 3, "reason": "当事人外出。"}
    )
    task = driver.open_task("MD-EXT-T1", "approve_extension")
    assert (task.candidate_org, task.candidate_role) == ("qs-dc-hp", "village_cmte")
    assert approve(driver, "MD-EXT-T1", "approve_extension", 3) == "village01"
    first = case(dispute.db, "MD-EXT-T1").due_at
    assert first is not None and first > due
    # a second request is not refused: it goes to the township centre, which may grant it
    driver.message("MD-EXT-T1", "extension_request", {"requested_days": 2, "reason": "仍未返回。"})
    task = driver.open_task("MD-EXT-T1", "approve_extension")
    assert task.candidate_role == "township_center"
    assert approve(driver, "MD-EXT-T1", "approve_extension", 2) == "town01"
    second = case(dispute.db, "MD-EXT-T1").due_at
    assert second is not None and second > first
    assert [e["extensions"] for e in details(dispute.db, "MD-EXT-T1", "deadline_extended")] == [
        1, 2,
    ]  # fmt: skip
    assert details(dispute.db, "MD-EXT-T1", "extension_refused") == []


def test_an_extension_longer_than_the_tiers_limit_goes_one_level_up(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    in_progress(driver, "MD-EXT-T2", clock)
    due = case(dispute.db, "MD-EXT-T2").due_at
    assert due is not None
    # blue: 7 days to resolve; 10 more days is beyond what the village may grant
    driver.message("MD-EXT-T2", "extension_request", {"requested_days": 10, "reason": "需鉴定。"})
    task = driver.open_task("MD-EXT-T2", "approve_extension")
    assert task.candidate_role == "township_center"
    assert approve(driver, "MD-EXT-T2", "approve_extension", 10) == "town01"
    [event] = details(dispute.db, "MD-EXT-T2", "deadline_extended")
    assert event["amount"] == 10
    assert case(dispute.db, "MD-EXT-T2").due_at == datetime.fromisoformat(event["due_after"])


def test_a_red_cases_extension_needs_the_case_leader(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-EXT-R1", "qs-xh-sq-01", risk_flags=["group"], party_count=35)
    steps = [sc.screen_red(), *sc.leader_steps(now), *sc.handling("qs-rsj", now)[:3]]
    driver.run_all("MD-EXT-R1", steps)
    driver.message("MD-EXT-R1", "extension_request", {"requested_days": 5, "reason": "群体协商。"})
    assert "approve_extension" not in open_ids(driver, "MD-EXT-R1")
    task = driver.open_task("MD-EXT-R1", "leader_approve_extension")
    assert task.assignee == "leader01"
    assert approve(driver, "MD-EXT-R1", "leader_approve_extension", 5) == "leader01"
    assert len(details(dispute.db, "MD-EXT-R1", "deadline_extended")) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"requested_days": 0, "reason": "外出。"}, "requested_days"),
        ({"requested_days": 3}, "reason"),
    ],
)
def test_a_bad_extension_request_is_refused_naming_the_field(
    dispute: Engine, driver: Driver, clock: ManualClock, payload: dict[str, object], field: str
) -> None:
    in_progress(driver, "MD-EXT-B1", clock)
    with pytest.raises(FormInvalid) as refused:
        driver.message("MD-EXT-B1", "extension_request", payload)
    assert field in str(refused.value.details) + refused.value.message
    assert "approve_extension" not in open_ids(driver, "MD-EXT-B1")
    assert details(dispute.db, "MD-EXT-B1", "message_delivered") == []


# ---------------------------------------------------------------- 合并: an open master case


def test_a_merge_must_name_an_open_master_case(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    start(driver, "MD-MST-OPEN")  # open: waiting for screening
    start(driver, "MD-MST-DONE")
    driver.run_all("MD-MST-DONE", sc.main_path(clock.now()))
    assert case(dispute.db, "MD-MST-DONE").status == "CLOSED"
    start(driver, "MD-DUP-1")
    for master, says in (
        ("MD-MST-DONE", "not open"),
        ("MD-NO-SUCH", "no case"),
        ("MD-DUP-1", "cannot name itself"),
    ):
        with pytest.raises(FormInvalid) as refused:
            driver.run_all("MD-DUP-1", [sc.screen_out("merge", master_case_no=master)])
        [error] = refused.value.errors
        assert error.path == "/master_case_no" and says in error.message
        assert open_ids(driver, "MD-DUP-1") == ["screen_case"]  # nothing lost
    driver.run_all("MD-DUP-1", [sc.screen_out("merge", master_case_no="MD-MST-OPEN")])
    merged = case(dispute.db, "MD-DUP-1")
    assert (merged.status, merged.fields["master_case_no"]) == ("MERGED", "MD-MST-OPEN")


# ---------------------------------------------------------------- 四事分办: 急事 by urgency


@pytest.mark.parametrize(
    ("category", "urgency", "tier", "dispatcher"),
    [
        ("debt", "urgent", "village", "village01"),  # 急事 → 村(社区)
        ("debt", "normal", "grid", "village01"),  # a simple matter that can wait is a 小事
        ("neighbourhood", "urgent", "village", "village01"),
    ],
)
def test_the_urgent_route_is_decided_by_urgency(
    dispute: Engine,
    driver: Driver,
    category: str,
    urgency: str,
    tier: str,
    dispatcher: str,
) -> None:
    start(driver, "MD-URG-1")
    driver.run_all("MD-URG-1", [sc.screen(category=category, urgency=urgency)])
    c = case(dispute.db, "MD-URG-1")
    assert c.tier == tier
    data = instance(dispute.db, "MD-URG-1").data
    assert (data["urgency"], data["routing_rule"]) == (
        urgency, "急事村(社区)办" if tier == "village" else "小事网格办",
    )  # fmt: skip
    [holder] = driver.run_all("MD-URG-1", [sc.dispatch("qs-dc-hp-01")])
    assert holder == dispatcher


# ---------------------------------------------------------------- 吹哨: the report-in limits


@pytest.mark.parametrize(
    ("severity", "limit"),
    [("yellow", timedelta(hours=2)), ("red", timedelta(minutes=30))],
)
def test_whistled_departments_report_in_within_the_configured_limit(
    dispute: Engine, driver: Driver, clock: ManualClock, severity: str, limit: timedelta
) -> None:
    now = clock.now()  # a Monday 09:00 in Beijing: two working hours end at 11:00
    start(driver, "MD-WHL-1", "qs-xh-lt-02")
    if severity == "red":
        steps = [sc.screen_red(category="property_mgmt"), *sc.leader_steps(now)]
    else:
        steps = [sc.screen("yellow", "property_mgmt", "complex")]
    steps += [sc.dispatch("qs-xh-sfs"), sc.sign(), sc.contact(now)]
    steps += [
        sc.handle("whistle", whistle_request="需要派出所共同处置。"),
        sc.summon(["qs-xh-pcs"]),
    ]
    driver.run_all("MD-WHL-1", steps)
    [report_in] = driver.open_tasks("MD-WHL-1")
    assert report_in.element_id == "report_in" and report_in.due_at is not None
    assert report_in.due_at - clock.now() == limit


def test_a_department_that_reported_in_without_arriving_must_arrive_within_the_limit(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-WHA-1", "qs-xh-lt-02")
    steps = [sc.screen("yellow", "property_mgmt", "complex"), sc.dispatch("qs-xh-sfs"), sc.sign()]
    steps += [sc.contact(now), sc.handle("whistle", whistle_request="需要派出所和住建局。")]
    driver.run_all("MD-WHA-1", [*steps, sc.summon(["qs-xh-pcs", "qs-zjj"])])
    element, form = sc.report_in(now, "qs-zjj")
    driver.do("MD-WHA-1", element, {**form, "report_arrived": False}, org="qs-zjj")
    driver.do("MD-WHA-1", *sc.report_in(now, "qs-xh-pcs"), org="qs-xh-pcs")
    [arrive] = driver.open_tasks("MD-WHA-1")
    assert (arrive.element_id, arrive.candidate_org) == ("confirm_arrival", "qs-zjj")
    assert arrive.due_at is not None  # dispute.whistle_arrive: one working day (yellow)
    assert arrive.due_at - now == timedelta(days=1, hours=8, minutes=30)  # Tue 17:30
    form = {"arrived_at": "2026-03-02T15:00:00+08:00", "on_site_measures": "现场检查供水设施。"}
    driver.do("MD-WHA-1", "confirm_arrival", form, org="qs-zjj")
    assert open_ids(driver, "MD-WHA-1") == ["handle_case"]
    [round_] = instance(dispute.db, "MD-WHA-1").data["whistle_history"]
    assert [a["department"] for a in round_["arrivals"]] == ["qs-zjj"]


# ---------------------------------------------------------------- reopening after 办结


def closed_case(driver: Driver, case_no: str, clock: ManualClock) -> None:
    start(driver, case_no)
    driver.run_all(case_no, sc.main_path(clock.now()))


def test_a_closed_case_is_reopened_within_the_window_keeping_its_number_and_history(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    closed_case(driver, "MD-REO-1", clock)
    c = case(dispute.db, "MD-REO-1")
    assert (c.status, c.resolved_tier) == ("CLOSED", "grid") and c.closed_at is not None
    clock.advance(timedelta(days=20))
    assert not driver.fire_timers("MD-REO-1")
    payload = {"reason_type": "party_complaint", "reason": "噪音问题再次出现。"}
    driver.message("MD-REO-1", "reopen_request", payload)
    c = case(dispute.db, "MD-REO-1")
    assert (c.status, c.closed_at, c.reopen_count, c.resolved_tier) == ("REGISTERED", None, 1, None)
    assert open_ids(driver, "MD-REO-1") == ["dispatch_case"]
    [entry] = instance(dispute.db, "MD-REO-1").data["reopen_history"]
    assert (entry["kind"], entry["tier"]) == ("party_complaint", "grid")
    # handled again at the same tier, with a fresh handling limit, and closed again
    driver.run_all("MD-REO-1", [*sc.handling("qs-dc-hp-01", clock.now()), *sc.closing(clock.now())])
    c = case(dispute.db, "MD-REO-1")
    assert (c.status, c.reopen_count, c.resolved_tier) == ("CLOSED", 1, "grid")
    assert c.closed_at is not None and c.closed_at >= clock.now() - timedelta(seconds=1)
    found = {e["element_id"] for e in details(dispute.db, "MD-REO-1", "task_completed")}
    assert {"screen_case", "revisit_party"} <= found  # one record: the first round is kept


def test_after_the_window_the_case_ends_and_cannot_be_reopened(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    closed_case(driver, "MD-REO-2", clock)
    clock.advance(timedelta(days=29))
    assert not driver.fire_timers("MD-REO-2")
    clock.advance(timedelta(days=2))
    assert driver.fire_timers("MD-REO-2")
    assert instance(dispute.db, "MD-REO-2").status == "completed"
    assert case(dispute.db, "MD-REO-2").status == "CLOSED"
    with pytest.raises(NotFound):
        driver.message(
            "MD-REO-2", "reopen_request", {"reason_type": "new_facts", "reason": "新情况"}
        )


def test_a_second_reopening_moves_the_case_one_tier_up(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    closed_case(driver, "MD-REO-3", clock)
    for round_ in (1, 2):
        payload = {"reason_type": "revisit_failed", "reason": f"第{round_}次回访发现未化解。"}
        driver.message("MD-REO-3", "reopen_request", payload)
        if round_ == 1:
            steps = [*sc.handling("qs-dc-hp-01", clock.now()), *sc.closing(clock.now())]
            driver.run_all("MD-REO-3", steps)
    c = case(dispute.db, "MD-REO-3")
    assert (c.reopen_count, c.tier, c.status) == (2, "village", "REGISTERED")


# ---------------------------------------------------------------- mediation modes


def test_mediation_modes_have_their_rules_and_a_failure_informs_the_statutory_channels(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-MOD-1")
    steps = [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3], sc.handle("mediate")]
    driver.run_all("MD-MOD-1", steps)
    element, form = sc.mediate()
    refusals = {
        "/parties_consent": {**form, "parties_consent": False},  # 邀请 needs the parties' consent
        "/referring_court": {**form, "mediation_mode": "delegate", "referral_date": "2026-03-01"},
    }
    for path, bad in refusals.items():
        with pytest.raises(FormInvalid) as refused:
            driver.run_all("MD-MOD-1", [(element, bad)])
        assert path in {e.path for e in refused.value.errors}
    delegated = {**form, "mediation_mode": "delegate", "referring_court": "青山区人民法院"}
    delegated = {**delegated, "referral_date": "2026-03-01"}
    delegated.pop("parties_consent")
    driver.run_all("MD-MOD-1", [(element, delegated)])
    assert open_ids(driver, "MD-MOD-1") == ["inform_channels"]  # 调解不成: a recorded step
    driver.run_all("MD-MOD-1", [sc.inform_channels(clock.now())])
    assert open_ids(driver, "MD-MOD-1") == ["handle_case"]
    data = instance(dispute.db, "MD-MOD-1").data
    assert (data["channels_informed"], data["mediation_mode"]) == (
        ["litigation", "arbitration"], "delegate",
    )  # fmt: skip
    found = details(dispute.db, "MD-MOD-1", "task_completed")
    assert "inform_channels" in {e["element_id"] for e in found}


# ---------------------------------------------------------------- 包案 from yellow up


def test_a_yellow_case_with_a_case_leader_gets_the_leaders_plan_before_dispatch(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    start(driver, "MD-YLW-1", "qs-xh-lt-02")
    driver.run_all("MD-YLW-1", [sc.screen("yellow", "property_mgmt", case_leader="leader03")])
    [plan] = driver.open_tasks("MD-YLW-1")
    assert (plan.element_id, plan.assignee) == ("leader_plan", "leader03")  # 乡镇班子成员包案
    driver.run_all("MD-YLW-1", [sc.leader_steps(clock.now())[1]])
    [dispatch] = driver.open_tasks("MD-YLW-1")
    assert (dispatch.element_id, dispatch.candidate_role) == ("dispatch_case", "township_center")
    assert case(dispute.db, "MD-YLW-1").case_leader == "leader03"
