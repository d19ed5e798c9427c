"""分流转办 with 首问负责, red cases' 稳控 in parallel with dispatch, and court-referred mediation's
own limit (issue 15), through the engine on both databases; the driver reloads every step from
the database (save → reload at each wait)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from demo import scenarios as sc
from demo.scenarios import Driver
from engine.audit.log import Actor
from engine.clock import ManualClock
from engine.errors import FormInvalid
from engine.runtime import Engine
from tests.engine.support import case, instance
from tests.scenarios.support import GRID_WORKER, transitions

pytestmark = pytest.mark.clock

TOWN = Actor("town01", "township_center", "qs-dc-zzzx")


def open_ids(driver: Driver, case_no: str) -> list[str]:
    return sorted(t.element_id for t in driver.open_tasks(case_no))


def signed_at_grid(driver: Driver, case_no: str, clock: ManualClock, steps: int = 3) -> None:
    """A grid's 小事 dispatched by the village to the grid, then ``steps`` of sign/contact/handle."""
    driver.start(case_no, sc.report(case_no), GRID_WORKER)
    driver.run_all(case_no, [sc.screen(), *sc.handling("qs-dc-hp-01", clock.now())[: steps - 1]])


def transfer(driver: Driver, case_no: str, to: str, kind: str = "department", **extra: str) -> None:
    payload = {
        "transfer_to": to,
        "transfer_kind": kind,
        "transfer_reason": "涉及治安，属派出所职责。",
    }
    driver.message(case_no, "transfer_request", {**payload, **extra}, TOWN)


# ---------------------------------------------------------------- 分流转办, 首问负责


def test_a_centres_transfer_changes_the_owner_only_when_the_receiver_accepts(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    signed_at_grid(driver, "MD-TR-1", clock)  # signed: first_contact open at the grid
    assert case(dispute.db, "MD-TR-1").owner_org == "qs-dc-hp-01"
    transfer(driver, "MD-TR-1", "qs-dc-pcs")
    task = driver.open_task("MD-TR-1", "accept_transfer")
    assert (task.candidate_org, task.candidate_role) == ("qs-dc-pcs", "handling_unit")
    assert open_ids(driver, "MD-TR-1") == ["accept_transfer"]
    # 首问负责: until the receiver accepts, the first unit owns the matter
    row = case(dispute.db, "MD-TR-1")
    assert (row.owner_org, row.handling_unit) == ("qs-dc-hp-01", "qs-dc-hp-01")
    [holder] = driver.run_all("MD-TR-1", [("accept_transfer", {"transfer_accepted": True})])
    assert holder == "police01"
    row = case(dispute.db, "MD-TR-1")
    assert (row.owner_org, row.handling_unit, row.status) == ("qs-dc-pcs", "qs-dc-pcs", "SIGNED")
    assert driver.open_task("MD-TR-1", "first_contact").candidate_org == "qs-dc-pcs"
    assert transitions(dispute.db, "MD-TR-1", "owner_org")[-2:] == ["qs-dc-hp-01", "qs-dc-pcs"]
    [entry] = instance(dispute.db, "MD-TR-1").data["transfer_history"]
    assert (entry["from"], entry["to"], entry["accepted"]) == ("qs-dc-hp-01", "qs-dc-pcs", True)


def test_a_refused_transfer_returns_to_the_first_unit_with_the_reason(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    signed_at_grid(driver, "MD-TR-2", clock, steps=4)  # handle_case open at the grid
    transfer(driver, "MD-TR-2", "qs-xh-zzzx", "township")
    task = driver.open_task("MD-TR-2", "accept_transfer")
    assert (task.candidate_org, task.candidate_role) == ("qs-xh-zzzx", "township_center")
    with pytest.raises(FormInvalid):  # a refusal names its reason
        driver.run_all("MD-TR-2", [("accept_transfer", {"transfer_accepted": False})])
    refusal = {"transfer_accepted": False, "transfer_refusal_reason": "不属本镇辖区。"}
    driver.run_all("MD-TR-2", [("accept_transfer", refusal)])
    assert open_ids(driver, "MD-TR-2") == ["handle_case"]
    assert driver.open_task("MD-TR-2", "handle_case").candidate_org == "qs-dc-hp-01"
    assert case(dispute.db, "MD-TR-2").owner_org == "qs-dc-hp-01"
    assert "qs-xh-zzzx" not in transitions(dispute.db, "MD-TR-2", "owner_org")
    [entry] = instance(dispute.db, "MD-TR-2").data["transfer_history"]
    assert (entry["accepted"], entry["refusal_reason"]) == (False, "不属本镇辖区。")


def test_a_transfer_to_the_petition_channel_ends_the_case_as_diverted_once_accepted(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    signed_at_grid(driver, "MD-TR-3", clock, steps=2)  # sign_case open
    transfer(driver, "MD-TR-3", "qs-xfb", "channel", transfer_channel="petition")
    assert case(dispute.db, "MD-TR-3").owner_org == "qs-dc-hp-01"
    driver.run_all("MD-TR-3", [("accept_transfer", {"transfer_accepted": True})])
    row = case(dispute.db, "MD-TR-3")
    assert (row.status, row.owner_org, row.fields["diverted_channel"]) == (
        "DIVERTED", "qs-xfb", "petition"
    )  # fmt: skip
    assert open_ids(driver, "MD-TR-3") == []


def test_a_transfer_request_is_checked_against_its_form_before_delivery(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    signed_at_grid(driver, "MD-TR-4", clock, steps=2)
    payload = {
        "transfer_to": "qs-dc-pcs",
        "transfer_kind": "department",
        "transfer_reason": "x理由",
    }
    with pytest.raises(FormInvalid):  # a channel transfer names the channel
        driver.message("MD-TR-4", "transfer_request", {**payload, "transfer_kind": "channel"}, TOWN)
    with pytest.raises(FormInvalid) as refused:  # a receiver that is no unit of the tree
        driver.message("MD-TR-4", "transfer_request", {**payload, "transfer_to": "qs-nosuch"}, TOWN)
    assert "/transfer_to" in str(refused.value.errors)
    assert open_ids(driver, "MD-TR-4") == ["sign_case"]


# ---------------------------------------------------------------- red: 稳控 in parallel


def test_a_red_cases_stabilization_runs_beside_dispatch_and_overwrites_nothing(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    driver.start(
        "MD-RED-P", sc.report("MD-RED-P", "qs-xh-sq-01", risk_flags=["group"]), GRID_WORKER
    )
    driver.run_all("MD-RED-P", [sc.screen_red()])
    assert open_ids(driver, "MD-RED-P") == ["leader_plan", "leader_stabilize"]
    stabilize, plan = sc.leader_steps(now)
    # dispatch does not wait for 稳控: plan, dispatch, sign, contact while 稳控 is still open
    driver.run_all("MD-RED-P", [plan, *sc.handling("qs-rsj", now)[:3]])
    assert open_ids(driver, "MD-RED-P") == ["handle_case", "leader_stabilize"]
    before = instance(dispute.db, "MD-RED-P").data
    driver.run_all("MD-RED-P", [stabilize])
    data = instance(dispute.db, "MD-RED-P").data
    for key in ("handling_unit", "tier", "resolution_plan", "first_contact_at", "severity"):
        assert data.get(key) == before.get(key), key
    assert data["handling_unit"] == "qs-rsj"
    # the branch's own keys reach the main path (and the case); the split's stale copy does not
    assert data["stabilization_measures"][0]["responsible"] == "西河派出所"
    assert "stabilization_measures" not in before
    row = case(dispute.db, "MD-RED-P")
    assert (row.handling_unit, row.status, row.owner_org) == ("qs-rsj", "IN_PROGRESS", "qs-rsj")
    assert open_ids(driver, "MD-RED-P") == ["handle_case"]
    driver.run_all("MD-RED-P", [sc.handle(), sc.feedback(), *sc.closing(now)])
    assert case(dispute.db, "MD-RED-P").status == "CLOSED"
    closed = instance(dispute.db, "MD-RED-P").data
    assert (closed["stabilized"], closed["handling_unit"]) == (True, "qs-rsj")


# ---------------------------------------------------------------- court-referred mediation


def court_referred(
    driver: Driver, case_no: str, clock: ManualClock, referred_days_ago: int
) -> None:
    signed_at_grid(driver, case_no, clock, steps=4)
    referral = (clock.now() - timedelta(days=referred_days_ago)).date().isoformat()
    form = {"handle_action": "court_mediate", "progress_note": "法院委派诉前调解。",
            "court_mediation_mode": "assign", "referring_court": "青山县人民法院",
            "referral_date": referral}  # fmt: skip
    driver.run_all(case_no, [("handle_case", form)])


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


COURT = {"mediator": "和平社区人民调解委员会", "mediation_record": "组织双方调解。"}


def test_court_referred_mediation_expires_30_days_from_the_referral_and_informs_channels(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    court_referred(driver, "MD-CM-1", clock, referred_days_ago=12)  # day 30: a Friday
    assert open_ids(driver, "MD-CM-1") == ["court_mediation"]
    # the task is due when the process's timer fires: the end of day 30 from the referral
    due = utc(driver.open_task("MD-CM-1", "court_mediation").due_at)
    assert due == datetime(2026, 3, 20, 16, 0, tzinfo=UTC)
    clock.advance(timedelta(days=17))  # day 29 from the referral
    assert not driver.fire_timers("MD-CM-1")
    clock.advance(timedelta(days=2))  # day 31: not 30 days from the task, 30 from the referral
    assert driver.fire_timers("MD-CM-1")
    assert open_ids(driver, "MD-CM-1") == ["inform_channels"]
    assert instance(dispute.db, "MD-CM-1").data["mediation_outcome"] == "expired"
    driver.run_all("MD-CM-1", [sc.inform_channels(clock.now())])
    assert open_ids(driver, "MD-CM-1") == ["handle_case"]


def test_court_referred_mediation_is_extended_by_the_parties_consent(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    court_referred(driver, "MD-CM-2", clock, referred_days_ago=25)
    extend = {**COURT, "mediation_outcome": "extend", "extension_days": 15}
    with pytest.raises(FormInvalid):  # no extension without the parties' consent
        driver.run_all("MD-CM-2", [("court_mediation", extend)])
    extend |= {"extension_consent": True, "consent_note": "双方当事人书面同意延长。"}
    driver.run_all("MD-CM-2", [("court_mediation", extend)])
    data = instance(dispute.db, "MD-CM-2").data
    [entry] = data["court_mediation_extensions"]
    assert (entry["days"], entry["consent"]) == (15, True)
    due = utc(driver.open_task("MD-CM-2", "court_mediation").due_at)  # 30 + 15 from 2026-02-05
    assert due == datetime(2026, 3, 23, 16, 0, tzinfo=UTC)  # day 45 a Sunday: the Monday
    clock.advance(timedelta(days=10))  # day 35 from the referral: within the 45 days
    assert not driver.fire_timers("MD-CM-2")
    assert open_ids(driver, "MD-CM-2") == ["court_mediation"]
    agreed = {
        **COURT,
        "mediation_outcome": "agreement",
        "jc_requested": False,
        "agreement_date": clock.now().date().isoformat(),
        "agreement_summary": "分期支付。",
    }
    driver.run_all("MD-CM-2", [("court_mediation", agreed)])
    assert open_ids(driver, "MD-CM-2") == ["feedback_result"]
    assert instance(dispute.db, "MD-CM-2").data["mediation_mode"] == "assign"


def test_a_red_cases_stabilization_outlives_the_main_paths_loops(
    dispute: Engine, driver: Driver, clock: ManualClock
) -> None:
    now = clock.now()
    driver.start(
        "MD-RED-L", sc.report("MD-RED-L", "qs-xh-sq-01", risk_flags=["group"]), GRID_WORKER
    )
    stabilize, plan = sc.leader_steps(now)
    steps = [sc.screen_red(), plan, sc.dispatch("qs-zjj"), sc.request_return("function_mismatch")]
    driver.run_all("MD-RED-L", [*steps, sc.review_return(True)])  # back to 交办: a loop
    assert open_ids(driver, "MD-RED-L") == ["dispatch_case", "leader_stabilize"]
    driver.run_all("MD-RED-L", [sc.dispatch("qs-rsj"), stabilize, sc.sign()])
    data = instance(dispute.db, "MD-RED-L").data
    assert (data["handling_unit"], data["return_count"]) == ("qs-rsj", 1)
    assert data["stabilization_measures"][0]["measure"] == "派出所驻点稳控"
    assert open_ids(driver, "MD-RED-L") == ["first_contact"]
