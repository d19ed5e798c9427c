"""Every path of the shipped dispute loop, through the engine as the users who hold each task.

Each step is a claim and a completion by a user who holds the task's candidate organisation and
role (or its assignee); the driver drops the in-process workflow cache before every command, so
every step loads the stored state — and each path runs again with the cache kept (``cached``).
Each scenario asserts the final ``cases`` row, who held each task, the tier that resolved the
case and the audit events written.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.errors import InstanceNotActive
from engine.runtime import Engine
from tests.engine.support import case, event_types, events, instance
from tests.scenarios.support import (
    GRID_WORKER,
    counts,
    details,
    end_reopen_window,
    transitions,
)


@pytest.fixture(params=["reload", "cached"])
def driver(request: pytest.FixtureRequest, dispute: Engine) -> Driver:
    """Both ways a workflow reaches a command: loaded from the database every time, and kept in
    the engine's cache between commands, as a running server keeps it (there a state dump
    reuses the unchanged tasks' serialized form; the suite checks it against a full dump)."""
    return Driver(dispute, reload=request.param == "reload")


HANDLED = ["DISPATCHED", "SIGNED", "IN_PROGRESS", "FEEDBACK", "VERIFYING"]
CLOSE = ["REVISIT", "CLOSED"]


def start(driver: Driver, case_no: str, grid: str = "qs-dc-hp-01", **report: object) -> None:
    driver.start(case_no, sc.report(case_no, grid, **report), GRID_WORKER)


def assert_closed_cleanly(dispute: Engine, driver: Driver, case_no: str) -> None:
    """One ``task_completed`` per step the driver took, one ``instance_completed``, nothing open."""
    end_reopen_window(dispute, case_no)
    found = counts(dispute.db, case_no, "task_completed", "instance_completed", "task_withdrawn")
    assert found == {
        "task_completed": len(driver.trail(case_no)),
        "instance_completed": 1,
        "task_withdrawn": 0,
    }
    assert driver.open_tasks(case_no) == []
    assert instance(dispute.db, case_no).status == "completed"
    assert event_types(dispute.db, case_no)[-2:] in (
        ["instance_completed", "case_updated"],  # ended at once (不予受理, 合并, 分流)
        ["timer_fired", "instance_completed"],  # 办结, then the reopening window ran out
    )


def test_resolved_at_the_grid(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    start(driver, "MD-GRID-1")
    holders = driver.run_all("MD-GRID-1", sc.main_path(clock.now()))
    assert holders == [
        "town01", "village01", "grid01", "grid01", "grid01", "grid01", "village01", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-GRID-1")
    assert (c.status, c.tier, c.resolved_tier, c.satisfaction, c.eval_excluded) == (
        "CLOSED", "grid", "grid", 4, False,
    )  # fmt: skip
    assert (c.reopen_count, c.escalation_count, c.handling_unit) == (0, 0, "qs-dc-hp-01")
    assert transitions(dispute.db, "MD-GRID-1", "status") == [
        "SCREENING", "REGISTERED", *HANDLED, *CLOSE,
    ]  # fmt: skip
    assert transitions(dispute.db, "MD-GRID-1", "tier") == ["grid"]
    assert counts(dispute.db, "MD-GRID-1", "deadline_set") == {"deadline_set": 1}
    assert_closed_cleanly(dispute, driver, "MD-GRID-1")


def test_escalated_grid_village_township_county(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-ESC-1")
    steps = [sc.screen()]
    leaders = {"qs-dc-sfs": "leader02", "qs-rsj": "leader01"}  # 包案 at the township, county
    for unit in ("qs-dc-hp-01", "qs-dc-hp", "qs-dc-sfs", "qs-rsj"):
        if unit in leaders:
            steps += sc.escalated_leader(now, leaders[unit])
        steps += [*sc.handling(unit, now)[:-1], sc.feedback(False), sc.review("escalate")]
    # the county cannot go higher: 上报 at the top is 返工 for the county's unit
    steps += [sc.handle(), sc.feedback(), *sc.closing(now, 5)]
    driver.run_all("MD-ESC-1", steps)
    trail = driver.trail("MD-ESC-1")
    assert [user for element, user in trail if element == "dispatch_case"] == [
        "village01", "village01", "town01", "county01",
    ]  # fmt: skip
    assert [user for element, user in trail if element == "sign_case"] == [
        "grid01", "village01", "justice01", "hrss01",
    ]  # fmt: skip
    assert [user for element, user in trail if element == "review_result"] == [
        "village01", "village01", "town01", "county01", "county01",
    ]  # fmt: skip
    assert trail[-1] == ("revisit_party", "revisit01")
    c = case(dispute.db, "MD-ESC-1")
    assert (c.status, c.tier, c.resolved_tier, c.escalation_count, c.satisfaction) == (
        "CLOSED", "county", "county", 3, 5,
    )  # fmt: skip
    assert c.handling_unit == "qs-rsj"
    assert transitions(dispute.db, "MD-ESC-1", "tier") == ["grid", "village", "township", "county"]
    assert transitions(dispute.db, "MD-ESC-1", "escalation_count")[1:] == [1, 2, 3]
    assert transitions(dispute.db, "MD-ESC-1", "status") == [
        "SCREENING", "REGISTERED", *HANDLED,
        "REGISTERED", *HANDLED,
        "REGISTERED", *HANDLED,
        "REGISTERED", *HANDLED,
        "IN_PROGRESS", "FEEDBACK", "VERIFYING", *CLOSE,
    ]  # fmt: skip
    assert counts(dispute.db, "MD-ESC-1", "deadline_reworked", "deadline_kept_on_rework") == {
        "deadline_reworked": 0,
        "deadline_kept_on_rework": 1,
    }
    assert_closed_cleanly(dispute, driver, "MD-ESC-1")


def test_red_case_with_a_case_leader_at_the_county(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-RED-1", "qs-xh-sq-01", risk_flags=["group"], party_count=35)
    driver.run_all("MD-RED-1", [sc.screen_red()])
    # 稳控 runs beside the plan and dispatch (it does not hold them up)
    assert sorted(t.element_id for t in driver.open_tasks("MD-RED-1")) == [
        "leader_plan", "leader_stabilize",
    ]  # fmt: skip
    stabilize = driver.open_task("MD-RED-1", "leader_stabilize")
    assert (stabilize.element_id, stabilize.assignee, stabilize.state, stabilize.priority) == (
        "leader_stabilize", "leader01", "claimed", 90,
    )  # fmt: skip
    assert stabilize.due_at is not None and stabilize.due_at - now == timedelta(hours=24)
    steps = [*sc.leader_steps(now), *sc.handling("qs-rsj", now), *sc.closing(now)]
    driver.run_all("MD-RED-1", steps)
    assert driver.trail("MD-RED-1") == [
        ("screen_case", "town02"),
        ("leader_stabilize", "leader01"),
        ("leader_plan", "leader01"),
        ("dispatch_case", "county01"),
        ("sign_case", "hrss01"),
        ("first_contact", "hrss01"),
        ("handle_case", "hrss01"),
        ("feedback_result", "hrss01"),
        ("review_result", "county01"),
        ("revisit_party", "revisit01"),
    ]
    c = case(dispute.db, "MD-RED-1")
    assert (c.status, c.severity, c.tier, c.resolved_tier, c.case_leader) == (
        "CLOSED", "red", "county", "county", "leader01",
    )  # fmt: skip
    assert transitions(dispute.db, "MD-RED-1", "status") == [
        "SCREENING", "REGISTERED", *HANDLED, *CLOSE,
    ]  # fmt: skip
    assert transitions(dispute.db, "MD-RED-1", "case_leader") == ["leader01"]
    # the assigned leader tasks were never claimed: they were the leader's from the start
    claimed = [
        e.element_id
        for e in events(dispute.db, "MD-RED-1")
        if e.event_type == "task_claimed" and (e.element_id or "").startswith("leader_")
    ]
    assert claimed == []
    assert_closed_cleanly(dispute, driver, "MD-RED-1")


def test_return_approved_then_denied(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, "MD-RET-1", "qs-xh-sq-01")
    steps = [
        sc.screen(category="labour"),  # blue labour → township
        sc.dispatch("qs-xh-pcs"),
        sc.request_return(suggested="qs-rsj"),
        sc.review_return(True),
        sc.dispatch("qs-xh-sfs"),
        sc.request_return("other"),
        sc.review_return(False),  # forced sign
        sc.contact(now),
        sc.handle(),
        sc.feedback(),
        *sc.closing(now, 3),
    ]
    assert driver.run_all("MD-RET-1", steps) == [
        "town02", "town02", "police02", "town02", "town02", "justice02", "town02",
        "justice02", "justice02", "justice02", "town02", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-RET-1")
    assert (c.status, c.tier, c.resolved_tier, c.handling_unit, c.satisfaction) == (
        "CLOSED", "township", "township", "qs-xh-sfs", 3,
    )  # fmt: skip
    assert transitions(dispute.db, "MD-RET-1", "handling_unit") == ["qs-xh-pcs", "qs-xh-sfs"]
    assert transitions(dispute.db, "MD-RET-1", "status") == [
        "SCREENING", "REGISTERED", "DISPATCHED", "RETURN_REQUESTED",
        "REGISTERED", "DISPATCHED", "RETURN_REQUESTED",
        "SIGNED", "IN_PROGRESS", "FEEDBACK", "VERIFYING", *CLOSE,
    ]  # fmt: skip
    data = instance(dispute.db, "MD-RET-1").data
    assert (data["return_count"], data["returned_units"], data["forced_sign"]) == (
        2, ["qs-xh-pcs"], True,
    )  # fmt: skip
    assert_closed_cleanly(dispute, driver, "MD-RET-1")


def test_whistle_to_two_departments(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, "MD-WHI-1", "qs-xh-lt-02")
    driver.run_all(
        "MD-WHI-1",
        [
            sc.screen(category="property_mgmt", difficulty="complex"),
            sc.dispatch("qs-xh-sfs"),
            sc.sign(),
            sc.contact(now),
            sc.handle("whistle", whistle_request="需要派出所和县住建局共同处置。"),
            sc.summon(["qs-xh-pcs", "qs-zjj"]),
        ],
    )
    report_ins = driver.open_tasks("MD-WHI-1")
    assert [(t.element_id, t.candidate_org, t.candidate_role) for t in report_ins] == [
        ("report_in", "qs-xh-pcs", "handling_unit"),
        ("report_in", "qs-zjj", "handling_unit"),
    ]
    for dept in ("qs-zjj", "qs-xh-pcs"):  # in the opposite order of the summons
        element, form = sc.report_in(now, dept)
        driver.do("MD-WHI-1", element, form, org=dept)
    driver.run_all("MD-WHI-1", [sc.handle(), sc.feedback(), *sc.closing(now)])
    assert driver.trail("MD-WHI-1")[4:9] == [
        ("handle_case", "justice02"),
        ("summon_departments", "town02"),
        ("report_in", "housing01"),
        ("report_in", "police02"),
        ("handle_case", "justice02"),
    ]
    c = case(dispute.db, "MD-WHI-1")
    assert (c.status, c.resolved_tier, c.handling_unit) == ("CLOSED", "township", "qs-xh-sfs")
    data = instance(dispute.db, "MD-WHI-1").data
    assert data["whistle_count"] == 1 and data["co_units"] == ["qs-xh-pcs", "qs-zjj"]
    reports = data["whistle_history"][0]["reports"]
    assert sorted(r["department"] for r in reports) == ["qs-xh-pcs", "qs-zjj"]
    assert transitions(dispute.db, "MD-WHI-1", "status") == [
        "SCREENING", "REGISTERED", *HANDLED, *CLOSE,
    ]  # fmt: skip
    assert_closed_cleanly(dispute, driver, "MD-WHI-1")


def test_mediation_with_agreement_and_judicial_confirmation(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-MED-1")
    steps = [
        sc.screen(),
        sc.dispatch("qs-dc-hp-01"),
        sc.sign(),
        sc.contact(now),
        sc.handle("mediate"),
        sc.mediate(),  # no agreement: the statutory channels are told, then handle again
        sc.inform_channels(now),
        sc.handle("mediate"),
        sc.mediate(now.date().isoformat(), jc_requested=True),
    ]
    driver.run_all("MD-MED-1", steps)
    [jc] = driver.open_tasks("MD-MED-1")
    assert jc.element_id == "judicial_confirmation"
    steps = [sc.judicial_confirmation(now), sc.jc_ruling(now), sc.feedback(), *sc.closing(now, 5)]
    driver.run_all("MD-MED-1", steps)
    assert driver.holders("MD-MED-1") == [
        "town01", "village01", "grid01", "grid01", "grid01", "grid01", "grid01", "grid01",
        "grid01", "grid01", "grid01", "grid01", "village01", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-MED-1")
    assert (c.status, c.resolved_tier, c.satisfaction) == ("CLOSED", "grid", 5)
    data = instance(dispute.db, "MD-MED-1").data
    assert (data["jc_result"], data["mediation_outcome"]) == ("confirmed", "agreement")
    assert counts(dispute.db, "MD-MED-1", "timer_fired") == {"timer_fired": 0}
    assert_closed_cleanly(dispute, driver, "MD-MED-1")


def test_judicial_confirmation_window_expires(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-JCX-1")
    steps = [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:4]]
    steps[-1] = sc.handle("mediate")
    steps.append(sc.mediate(now.date().isoformat(), jc_requested=True))
    driver.run_all("MD-JCX-1", steps)
    assert not driver.fire_timers("MD-JCX-1")  # not yet due
    clock.advance(timedelta(days=29))
    assert not driver.fire_timers("MD-JCX-1")
    assert [t.element_id for t in driver.open_tasks("MD-JCX-1")] == ["judicial_confirmation"]
    clock.advance(timedelta(days=3))
    assert driver.fire_timers("MD-JCX-1")
    assert [t.element_id for t in driver.open_tasks("MD-JCX-1")] == ["feedback_result"]
    [fired] = [e for e in events(dispute.db, "MD-JCX-1") if e.event_type == "timer_fired"]
    assert (fired.element_id, fired.details["interrupting"], fired.details["attached_to"]) == (
        "timer_jc_window", True, "judicial_confirmation",
    )  # fmt: skip
    assert instance(dispute.db, "MD-JCX-1").data["jc_result"] == "expired"
    driver.run_all("MD-JCX-1", [sc.feedback(), *sc.closing(clock.now())])
    c = case(dispute.db, "MD-JCX-1")
    assert (c.status, c.resolved_tier) == ("CLOSED", "grid")
    end_reopen_window(dispute, "MD-JCX-1")
    found = counts(dispute.db, "MD-JCX-1", "task_withdrawn", "task_completed", "instance_completed")
    assert found == {
        "task_withdrawn": 1,  # the confirmation task the timer interrupted
        "task_completed": len(driver.trail("MD-JCX-1")),
        "instance_completed": 1,
    }


def test_rework_after_a_failed_check(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, "MD-REW-1")
    steps = [
        sc.screen(),
        *sc.handling("qs-dc-hp-01", now),
        sc.review("rework"),
        sc.handle(),
        sc.feedback(),
        *sc.closing(now),
    ]
    assert driver.run_all("MD-REW-1", steps) == [
        "town01", "village01", "grid01", "grid01", "grid01", "grid01", "village01",
        "grid01", "grid01", "village01", "revisit01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-REW-1")
    assert (c.status, c.resolved_tier, c.escalation_count) == ("CLOSED", "grid", 0)
    assert instance(dispute.db, "MD-REW-1").data["rework_count"] == 1
    assert transitions(dispute.db, "MD-REW-1", "status") == [
        "SCREENING", "REGISTERED", *HANDLED, "IN_PROGRESS", "FEEDBACK", "VERIFYING", *CLOSE,
    ]  # fmt: skip
    # 返工 keeps the original due time (policy rework.due: keep_original)
    assert counts(dispute.db, "MD-REW-1", "deadline_kept_on_rework") == {
        "deadline_kept_on_rework": 1
    }
    assert_closed_cleanly(dispute, driver, "MD-REW-1")


def test_reopen_after_dissatisfaction_and_the_second_moves_a_tier_up(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-REO-1")
    steps = [
        sc.screen(),
        *sc.handling("qs-dc-hp-01", now),
        sc.review(),
        sc.revisit(now, 2),
        sc.dissatisfaction("reopen"),
        *sc.handling("qs-dc-hp-01", now),
        sc.review(),
        sc.revisit(now, 1),
        sc.dissatisfaction("reopen"),  # the second reopen: grid → village
        *sc.handling("qs-dc-hp", now),
        *sc.closing(now, 4),
    ]
    driver.run_all("MD-REO-1", steps)
    assert [u for e, u in driver.trail("MD-REO-1") if e == "review_dissatisfaction"] == [
        "village01",
        "village01",
    ]
    assert [u for e, u in driver.trail("MD-REO-1") if e == "sign_case"] == [
        "grid01", "grid01", "village01",
    ]  # fmt: skip
    c = case(dispute.db, "MD-REO-1")
    assert (c.status, c.tier, c.resolved_tier, c.reopen_count, c.escalation_count) == (
        "CLOSED", "village", "village", 2, 1,
    )  # fmt: skip
    assert c.satisfaction == 4
    assert transitions(dispute.db, "MD-REO-1", "reopen_count")[1:] == [1, 2]
    assert transitions(dispute.db, "MD-REO-1", "tier") == ["grid", "village"]
    assert transitions(dispute.db, "MD-REO-1", "satisfaction") == [2, 1, 4]
    # the supervision ladder: fresh limits on each reopen, 约谈 on the second
    found = counts(dispute.db, "MD-REO-1", "deadline_reopened", "ladder_interview")
    assert found == {"deadline_reopened": 2, "ladder_interview": 1}
    [escalated] = details(dispute.db, "MD-REO-1", "tier_escalated")
    assert (escalated["tier_before"], escalated["tier_after"], escalated["reason"]) == (
        "grid", "village", "reopen",
    )  # fmt: skip
    assert_closed_cleanly(dispute, driver, "MD-REO-1")


def test_close_with_the_rating_excluded(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-EXC-1")
    steps = [
        sc.screen(),
        *sc.handling("qs-dc-hp-01", now),
        sc.review(),
        sc.revisit(now, 1),
        sc.dissatisfaction("close_excluded"),
    ]
    assert driver.run_all("MD-EXC-1", steps)[-3:] == ["village01", "revisit01", "village01"]
    c = case(dispute.db, "MD-EXC-1")
    assert (c.status, c.resolved_tier, c.satisfaction, c.eval_excluded, c.reopen_count) == (
        "CLOSED", "grid", 1, True, 0,
    )  # fmt: skip
    assert transitions(dispute.db, "MD-EXC-1", "eval_excluded") == [False, True]
    assert_closed_cleanly(dispute, driver, "MD-EXC-1")


def test_unreachable_three_times_closes_without_a_rating(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-UNR-1")
    steps = [sc.screen(), *sc.handling("qs-dc-hp-01", now), sc.review()]
    steps += [sc.revisit(now, None)] * 3
    assert driver.run_all("MD-UNR-1", steps)[-3:] == ["revisit01"] * 3
    c = case(dispute.db, "MD-UNR-1")
    assert (c.status, c.resolved_tier, c.satisfaction) == ("CLOSED", "grid", None)
    assert instance(dispute.db, "MD-UNR-1").data["revisit_attempts"] == 3
    assert_closed_cleanly(dispute, driver, "MD-UNR-1")


def test_the_county_sends_a_case_down(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    now = clock.now()
    start(driver, "MD-DWN-1")
    steps = [sc.screen(category="land_acquisition"), sc.send_down("township")]
    steps += [*sc.handling("qs-dc-sfs", now), *sc.closing(now)]
    assert driver.run_all("MD-DWN-1", steps)[:4] == ["town01", "county01", "town01", "justice01"]
    c = case(dispute.db, "MD-DWN-1")
    assert (c.status, c.tier, c.resolved_tier, c.escalation_count) == (
        "CLOSED", "township", "township", 0,
    )  # fmt: skip
    assert transitions(dispute.db, "MD-DWN-1", "tier") == ["county", "township"]
    assert_closed_cleanly(dispute, driver, "MD-DWN-1")


def test_merge_of_a_duplicate(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    start(driver, "MD-MST-1")
    driver.run_all("MD-MST-1", [sc.screen()])
    start(driver, "MD-DUP-1")
    holders = driver.run_all("MD-DUP-1", [sc.screen_out("merge", master_case_no="MD-MST-1")])
    assert holders == ["town01"]
    c = case(dispute.db, "MD-DUP-1")
    assert (c.status, c.resolved_tier, c.tier) == ("MERGED", None, None)
    assert c.fields["master_case_no"] == "MD-MST-1"
    assert c.closed_at is not None
    assert transitions(dispute.db, "MD-DUP-1", "status") == ["SCREENING", "MERGED"]
    assert case(dispute.db, "MD-MST-1").status == "REGISTERED"  # the master runs on
    assert_closed_cleanly(dispute, driver, "MD-DUP-1")


def test_invalid_and_diverted_reports(dispute: Engine, driver: Driver, clock: ManualClock) -> None:
    outcomes = {
        "MD-INV-1": ("invalid", {"invalid_reason": "not_dispute"}, "INVALID"),
        "MD-DIV-1": ("divert", {"diverted_channel": "arbitration"}, "DIVERTED"),
    }
    for case_no, (outcome, extra, status) in outcomes.items():
        start(driver, case_no)
        steps = [sc.screen_out(outcome, **extra), sc.inform_party(clock.now())]
        assert driver.run_all(case_no, steps) == ["town01", "village01"]
        c = case(dispute.db, case_no)
        assert (c.status, c.resolved_tier, c.satisfaction) == (status, None, None)
        assert c.closed_at is not None
        assert transitions(dispute.db, case_no, "status") == ["SCREENING", status]
        assert_closed_cleanly(dispute, driver, case_no)
    assert case(dispute.db, "MD-INV-1").fields["invalid_reason"] == "not_dispute"
    assert case(dispute.db, "MD-DIV-1").fields["diverted_channel"] == "arbitration"


def test_extension_request_moves_the_due_time(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-EXT-1")
    driver.run_all("MD-EXT-1", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    due = case(dispute.db, "MD-EXT-1").due_at
    assert due is not None
    driver.message("MD-EXT-1", "extension_request", {"requested_days": 5, "reason": "外出务工。"})
    approval = driver.open_task("MD-EXT-1", "approve_extension")
    assert (approval.candidate_org, approval.candidate_role) == ("qs-dc-hp", "village_cmte")
    driver.run_all("MD-EXT-1", [sc.approve_extension(True, 5)])
    extended = case(dispute.db, "MD-EXT-1").due_at
    assert extended is not None and extended - due == timedelta(days=7)  # 5 days, 民法典 203
    [event] = details(dispute.db, "MD-EXT-1", "deadline_extended")
    assert (event["amount"], event["step"], event["extensions"]) == (5, "dispute.resolve", 1)
    assert event["due_after"] == extended.isoformat()
    # a second request goes one level up (township); its approver refuses it: the due time stays
    driver.message("MD-EXT-1", "extension_request", {"requested_days": 10, "reason": "再次申请。"})
    driver.run_all("MD-EXT-1", [sc.approve_extension(False)])
    assert case(dispute.db, "MD-EXT-1").due_at == extended
    assert counts(dispute.db, "MD-EXT-1", "extension_denied", "message_delivered") == {
        "extension_denied": 1,
        "message_delivered": 2,
    }
    driver.run_all("MD-EXT-1", [sc.handle(), sc.feedback(), *sc.closing(now)])
    assert [u for e, u in driver.trail("MD-EXT-1") if e == "approve_extension"] == [
        "village01",
        "town01",
    ]
    c = case(dispute.db, "MD-EXT-1")
    assert (c.status, c.resolved_tier, c.due_at) == ("CLOSED", "grid", extended)
    assert transitions(dispute.db, "MD-EXT-1", "due_at") == [due.isoformat(), extended.isoformat()]
    assert_closed_cleanly(dispute, driver, "MD-EXT-1")


def test_suspension_by_hang_request_stops_the_clock(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    start(driver, "MD-HNG-1")
    driver.run_all("MD-HNG-1", [sc.screen(), *sc.handling("qs-dc-hp-01", now)[:3]])
    due = case(dispute.db, "MD-HNG-1").due_at
    assert due is not None
    driver.message("MD-HNG-1", "hang_request", {"requested_days": 90, "reason": "待法院判决。"})
    assert driver.run_all("MD-HNG-1", [sc.approve_hang(True, 90)]) == ["county01"]
    [suspended] = details(dispute.db, "MD-HNG-1", "deadline_suspended")
    assert suspended["step"] == "dispute.resolve"
    # the approved 挂账 suspends the case: nobody works on it meanwhile
    assert case(dispute.db, "MD-HNG-1").status == "SUSPENDED"
    inst = instance(dispute.db, "MD-HNG-1")
    assert inst.status == "suspended"
    with pytest.raises(InstanceNotActive):
        driver.run_all("MD-HNG-1", [sc.handle()])
    # ten days later the centre resumes it: the remaining time runs from now
    clock.advance(timedelta(days=10))
    dispute.resume(inst.id, "判决已下达", Actor("county01", "county_center", "qs-zzzx"))
    assert case(dispute.db, "MD-HNG-1").status == "IN_PROGRESS"
    resumed = case(dispute.db, "MD-HNG-1").due_at
    assert resumed is not None and resumed - due == timedelta(days=10)
    [event] = details(dispute.db, "MD-HNG-1", "deadline_resumed")
    assert event["due_before"] == due.isoformat() and event["due_after"] == resumed.isoformat()
    driver.run_all("MD-HNG-1", [sc.handle(), sc.feedback(), *sc.closing(clock.now())])
    c = case(dispute.db, "MD-HNG-1")
    assert (c.status, c.resolved_tier) == ("CLOSED", "grid")
    assert_closed_cleanly(dispute, driver, "MD-HNG-1")
