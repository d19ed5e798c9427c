"""The supervision ladder for blue and red cases, and tier escalation when a tier's time is up."""

from __future__ import annotations

from datetime import timedelta

from engine.audit.log import SCHEDULER
from engine.clock import ManualClock
from engine.storage.database import Database
from tests.supervision.support import rig


def test_blue_case_climbs_prompt_warning_circular(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("B-1", severity="blue", tier="village")
    r.do("B-1", "sign_case", {})
    case = r.case("B-1")
    assert case.due_rule and case.due_rule.startswith("dispute.resolve/blue")
    rungs = {i.payload["rung"]: i.due_at for i in r.pending("B-1")}
    assert list(rungs) == ["prompt_50", "prompt_80", "warning", "circular"]
    assert rungs["warning"] == case.due_at
    seen: list[tuple[str, int]] = []
    for name, at in rungs.items():
        r.at(at - timedelta(seconds=1))
        assert r.case("B-1").ladder_level == (seen[-1][1] if seen else -1)  # not yet
        r.at(at)
        seen.append((name, r.case("B-1").ladder_level))
    assert seen == [("prompt_50", 0), ("prompt_80", 0), ("warning", 1), ("circular", 2)]
    kinds = [e.event_type for e in r.events("B-1", "ladder_")]
    assert kinds == ["ladder_prompt", "ladder_prompt", "ladder_warning", "ladder_circular"]
    # each rise is a change of the case's record too, as the KPIs (督办数) read it
    rises = [
        (e.actor_user, e.data_before["ladder_level"], e.data_after["ladder_level"])
        for e in r.events("B-1", "case_updated")
        if "ladder_level" in (e.data_after or {}) and e.data_before
    ]
    assert rises == [
        (SCHEDULER.user_id, -1, 0),
        (SCHEDULER.user_id, 0, 1),
        (SCHEDULER.user_id, 1, 2),
    ]
    warning = r.events("B-1", "ladder_warning")[0]
    assert warning.details["ladder_level_before"] == 0 and warning.details["label"] == "警示"
    notes = {n.kind: n for n in r.notes("B-1", "ladder_")}
    assert notes["ladder_warning"].title.startswith("【警示·催办通知书】")
    # no handling unit in this rig: the copy (抄送分管领导) goes to the 督办员, never to nobody
    assert notes["ladder_warning_cc"].recipient_role == "supervisor"
    assert notes["ladder_circular_supervisor"].recipient_role == "supervisor"
    assert r.pending("B-1") == []


def test_red_case_starts_higher_and_reaches_inspection(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("R-1", severity="red", tier="county")
    r.do("R-1", "sign_case", {})
    rungs = {i.payload["rung"]: i.due_at for i in r.pending("R-1")}
    assert list(rungs) == ["warning", "interview", "inspection"]
    levels = []
    for at in rungs.values():
        r.at(at)
        levels.append(r.case("R-1").ladder_level)
    assert levels == [1, 3, 4]
    assert [n.kind for n in r.notes("R-1", "ladder_inspection")] == [
        "ladder_inspection",
        "ladder_inspection_cc",
        "ladder_inspection_supervisor",
    ]


def test_the_ladder_level_never_goes_down_and_stops_at_closing(
    db: Database, clock: ManualClock
) -> None:
    r = rig(db, clock)
    r.start("B-2", severity="blue", tier="village")
    r.do("B-2", "sign_case", {})
    warning = next(i.due_at for i in r.pending("B-2") if i.payload["rung"] == "warning")
    r.at(warning)
    assert r.case("B-2").ladder_level == 1
    r.do("B-2", "handle_case", {})
    r.do("B-2", "review_result", {"review_decision": "pass"})
    case = r.case("B-2")
    assert case.status == "CLOSED" and case.ladder_level == 1
    assert r.pending("B-2") == [] and r.pending("B-2", "tier_due") == []
    # the deadline records are dropped from the closed case's row (the audit record keeps them)
    kept = case.fields["supervision"]
    assert kept["tasks"] == {} and set(kept) == {"tasks", "seen"}
    assert kept["seen"]["closed"] is True and kept["seen"]["status"] == "CLOSED"
    assert [e.event_type for e in r.events("B-2", "deadline_set")] == ["deadline_set"]


def test_a_task_deadline_has_its_own_rungs_cancelled_when_done(
    db: Database, clock: ManualClock
) -> None:
    r = rig(db, clock)
    r.start("T-1", severity="blue", tier="village")
    sign_rungs = [i for i in r.pending("T-1") if i.task_id is not None]
    assert [i.payload["rung"] for i in sign_rungs][:3] == ["prompt_50", "prompt_80", "warning"]
    r.at(sign_rungs[0].due_at)
    assert [n.recipient_user for n in r.notes("T-1", "ladder_prompt")] == [None]
    r.do("T-1", "sign_case", {})
    assert all(i.task_id is None for i in r.pending("T-1"))


def test_a_tier_whose_time_is_up_escalates(db: Database, clock: ManualClock) -> None:
    r = rig(db, clock)
    r.start("G-1", severity="blue", tier="grid")
    [tier_item] = r.pending("G-1", "tier_due")
    r.at(tier_item.due_at)
    case = r.case("G-1")
    assert (case.tier, case.escalation_count) == ("village", 1)
    [event] = r.events("G-1", "tier_escalated")
    assert (event.details["tier_before"], event.details["tier_after"]) == ("grid", "village")
    assert r.notes("G-1", "tier_escalated")[0].title.startswith("【升级】")
    r.do("G-1", "sign_case", {})  # the workflow data still says grid: the escalation holds
    assert r.case("G-1").tier == "village"
    assert r.pending("G-1", "tier_due") == []  # no tier_village step in the policy
