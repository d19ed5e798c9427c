"""The dispute process driven through its main paths: registration and routing, escalation up
the tiers, returns, the whistle (吹哨报到), rework, reopening, revisits, merges, red cases, and
the approvals beside the main path. See :mod:`tests.processes.drive` for how a drive runs."""

from __future__ import annotations

from typing import Any

import pytest

from engine import Candidate
from tests.processes.drive import Drive
from tests.processes.support import errors, resolver

pytestmark = pytest.mark.clock


def test_main_path_grid_case_closes_after_a_satisfied_revisit() -> None:
    d = Drive()
    assert d.ready_ids() == ["screen_case"]
    assert d.data["case_status"] == "REPORTED"
    assert d.candidate("screen_case") == Candidate("qs-dc-zzzx", "township_center")
    d.register()
    assert d.data["tier"] == "grid" and d.data["routing_rule"] == "小事网格办"
    # 小事: the village dispatches to the grid, the grid worker handles it
    assert d.candidate("dispatch_case") == Candidate("qs-dc-hp", "village_cmte")
    d.dispatch("qs-dc-hp-01")
    assert d.candidate("sign_case") == Candidate("qs-dc-hp-01", "grid_worker")
    d.sign()
    d.contact()
    d.handle()
    d.feedback()
    assert d.candidate("review_result") == Candidate("qs-dc-hp", "village_cmte")
    d.review("pass")
    assert d.candidate("revisit_party") == Candidate("qs-zzzx", "revisit_agent")
    d.revisit(4)
    out = d.done()
    assert out["case_status"] == "CLOSED"
    assert out["resolved_tier"] == "grid"
    assert out["satisfaction"] == 4
    assert out["eval_excluded"] is False
    assert (out["reopen_count"], out["escalation_count"], out["rework_count"]) == (0, 0, 0)
    assert out["closed_at"] == d.now()  # iso(now()): the engine clock in Beijing time
    assert [e for e, _ in d.trail] == [
        "screen_case", "dispatch_case", "sign_case", "first_contact", "handle_case",
        "feedback_result", "review_result", "revisit_party",
    ]  # fmt: skip


def test_escalation_climbs_grid_village_township_county_and_stops_there() -> None:
    d = Drive()
    d.register()
    expected = [
        ("grid", Candidate("qs-dc-hp", "village_cmte")),
        ("village", Candidate("qs-dc-hp", "village_cmte")),
        ("township", Candidate("qs-dc-zzzx", "township_center")),
        ("county", Candidate("qs-zzzx", "county_center")),
    ]
    units = {
        "grid": "qs-dc-hp-01",
        "village": "qs-dc-hp",
        "township": "qs-dc-sfs",
        "county": "qs-rsj",
    }
    leaders = {"township": "leader02", "county": "leader01"}
    for i, (tier, centre) in enumerate(expected):
        assert d.data["tier"] == tier
        assert d.data["escalation_count"] == i
        if tier in leaders:  # a 包案领导 at the new tier writes the plan before 交办
            assert d.candidate("assign_case_leader") == centre
            d.do("assign_case_leader", case_leader=leaders[tier])
            assert d.candidate("leader_plan").assignee == leaders[tier]
            d.do(
                "leader_plan", resolution_plan="逐户走访，分类化解。", plan_target_date=d.today(10)
            )
        assert d.candidate("dispatch_case") == centre
        d.dispatch(units[tier])
        assert d.candidate("sign_case").org_id == units[tier]
        d.sign()
        d.contact()
        d.handle()
        d.feedback(resolved=False)
        assert d.candidate("review_result") == centre
        d.review("escalate", escalation_reason="本层级无法化解。")
    # the county cannot escalate: the case goes back to the unit (返工)
    assert d.ready_ids() == ["handle_case"]
    assert d.data["tier"] == "county"
    assert d.data["escalation_count"] == 3
    assert d.data["rework_count"] == 1
    assert [h["to"] for h in d.data["escalation_history"]] == ["village", "township", "county"]
    d.handle()
    d.feedback()
    d.review("pass")
    d.revisit(5)
    assert d.done()["resolved_tier"] == "county"


def test_return_approved_redispatches_and_denied_forces_sign() -> None:
    d = Drive(grid_code="qs-xh-sq-01")
    d.register(category="labour")  # blue labour → township
    assert d.data["tier"] == "township"
    assert d.candidate("dispatch_case") == Candidate("qs-xh-zzzx", "township_center")
    d.dispatch("qs-xh-pcs")
    d.do(
        "sign_case",
        sign_decision="return",
        return_reason="function_mismatch",
        return_basis="欠薪纠纷属劳动保障监察职责,不属派出所职能。",
        suggested_unit="qs-rsj",
    )
    assert d.candidate("return_review") == Candidate("qs-xh-zzzx", "township_center")
    d.do("return_review", return_approved=True, return_review_opinion="同意,改派。")
    assert d.ready_ids() == ["dispatch_case"]
    assert d.data["returned_units"] == ["qs-xh-pcs"]
    d.dispatch("qs-xh-sfs")
    d.do(
        "sign_case",
        sign_decision="return",
        return_reason="other",
        return_basis="工作量大,建议改派。",
    )
    d.do("return_review", return_approved=False, return_review_opinion="理由不成立,须办理。")
    assert d.ready_ids() == ["first_contact"]
    assert d.data["forced_sign"] is True and d.data["return_count"] == 2
    assert d.candidate("first_contact") == Candidate("qs-xh-sfs", "handling_unit")
    d.contact()
    d.handle()
    d.feedback()
    d.review()
    d.revisit(3)
    assert d.done()["case_status"] == "CLOSED"


def test_whistle_summons_two_departments_that_report_in_twice() -> None:
    d = Drive(grid_code="qs-xh-lt-02")
    d.register(category="property_mgmt", difficulty="complex")
    d.dispatch("qs-xh-sfs")
    d.sign()
    d.contact()
    for round_ in (1, 2):
        d.handle("whistle", whistle_request="需要派出所和县住建局共同处置。")
        assert d.candidate("summon_departments") == Candidate("qs-xh-zzzx", "township_center")
        d.do(
            "summon_departments",
            whistle_departments=["qs-xh-pcs", "qs-zjj"],
            whistle_matter="物业公司停水停电,业主聚集。",
        )
        assert d.ready_ids() == ["report_in", "report_in"]
        for t in list(d.ready()):
            dept = t.data["whistle_department"]
            assert resolver().resolve(
                lane=t.task_spec.lane,
                element_id="report_in",
                properties=t.task_spec.extensions["properties"],
                data=t.data,
            ) == Candidate(dept, "handling_unit")
        for dept in ("qs-zjj", "qs-xh-pcs"):  # in the opposite order of the summons
            task = next(t for t in d.ready() if t.data["whistle_department"] == dept)
            form = {
                "report_arrived": True,
                "report_in_at": d.now(),
                "report_opinion": f"{dept} 意见",
                "report_measures": "到场协调。",
            }
            assert not errors("whistle_report_in.schema.json", form)
            d.complete(task, **form)
        assert d.ready_ids() == ["handle_case"]
        data = d.data
        assert data["whistle_count"] == round_
        reports = data["whistle_history"][-1]["reports"]
        assert sorted(r["department"] for r in reports) == ["qs-xh-pcs", "qs-zjj"]
        assert all(r["opinion"].startswith(r["department"]) for r in reports)
        assert data["whistle_reports"] == []
        assert "whistle_department" not in data
    assert d.data["co_units"] == ["qs-xh-pcs", "qs-zjj", "qs-xh-pcs", "qs-zjj"]
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    assert d.done()["case_status"] == "CLOSED"


def test_rework_sends_the_case_back_to_the_unit() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review("rework", rework_reason="未附调解协议。")
    assert d.ready_ids() == ["handle_case"]
    assert d.data["rework_count"] == 1
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    out = d.done()
    assert out["rework_count"] == 1 and out["case_status"] == "CLOSED"


def test_reopen_after_dissatisfaction_and_auto_escalation_on_the_second() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(2)
    assert d.candidate("review_dissatisfaction") == Candidate("qs-dc-hp", "village_cmte")
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="reopen",
        dissatisfaction_note="网格员未实地核实。",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert (d.data["reopen_count"], d.data["tier"], d.data["satisfaction"]) == (1, "grid", None)
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(1)
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="reopen",
        dissatisfaction_note="再次办理仍未解决。",
    )
    assert (d.data["reopen_count"], d.data["tier"], d.data["escalation_count"]) == (2, "village", 1)
    d.through_handling("qs-dc-hp")
    d.review()
    d.revisit(4)
    out = d.done()
    assert (out["reopen_count"], out["resolved_tier"], out["satisfaction"]) == (2, "village", 4)


def test_dissatisfied_but_lawful_closes_excluded_from_the_rating() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(1)
    d.do(
        "review_dissatisfaction",
        dissatisfaction_decision="close_excluded",
        exclusion_basis="unreasonable_demand",
        dissatisfaction_note="诉求超出法律规定,已依法答复。",
    )
    out = d.done()
    assert (out["case_status"], out["eval_excluded"], out["satisfaction"]) == ("CLOSED", True, 1)


def test_unreachable_three_times_closes_without_a_rating() -> None:
    d = Drive()
    d.register()
    d.through_handling("qs-dc-hp-01")
    d.review()
    d.revisit(None)
    d.revisit(None)
    assert d.data["revisit_attempts"] == 2
    d.revisit(None)
    out = d.done()
    assert (out["case_status"], out["satisfaction"], out["revisit_attempts"]) == ("CLOSED", None, 3)


def test_merge_ends_the_case_as_merged() -> None:
    d = Drive()
    d.screen(screen_outcome="merge", master_case_no="MD-2026-0000")
    out = d.done()
    assert (out["case_status"], out["master_case_no"], out["resolved_tier"]) == (
        "MERGED", "MD-2026-0000", None
    )  # fmt: skip


@pytest.mark.parametrize(
    ("outcome", "extra", "status"),
    [
        ("invalid", {"invalid_reason": "not_dispute"}, "INVALID"),
        ("divert", {"diverted_channel": "arbitration"}, "DIVERTED"),
    ],
)
def test_invalid_and_diverted_inform_the_party_first(
    outcome: str, extra: dict[str, Any], status: str
) -> None:
    d = Drive()
    d.screen(screen_outcome=outcome, **extra)
    assert d.ready_ids() == ["inform_party"]
    assert d.candidate("inform_party") == Candidate("qs-dc-hp", "village_cmte")
    d.do(
        "inform_party",
        inform_method="written",
        informed_at=d.now(),
        notice_no="青东告〔2026〕1号",
        inform_content="本事项属劳动仲裁受理范围,请向县劳动人事争议仲裁委员会申请。",
        party_acknowledged=True,
    )
    out = d.done()
    assert out["case_status"] == status
    assert out["closed_at"] == d.now()  # iso(now()): the engine clock in Beijing time


def test_red_case_goes_to_the_county_with_a_case_leader_plan_and_measures() -> None:
    d = Drive(risk_flags=["group"], party_count=35)
    d.screen(
        category="labour",
        severity="red",
        difficulty="complex",
        case_leader="leader01",
        red_criteria=["group"],
    )
    assert d.data["tier"] == "county"
    assert d.candidate("leader_stabilize") == Candidate("qs", "case_leader", "leader01")
    d.do(
        "leader_stabilize",
        stabilization_measures=[
            {"measure": "派出所驻点稳控", "responsible": "西河派出所", "until": "2026-03-10"}
        ],
        stabilized=True,
    )
    d.do(
        "leader_plan",
        resolution_plan="由县人社局牵头,督促企业一周内分期支付。",
        plan_target_date="2026-03-30",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert d.candidate("dispatch_case") == Candidate("qs-zzzx", "county_center")
    d.through_handling("qs-rsj")
    d.review()
    d.revisit(4)
    out = d.done()
    assert (out["resolved_tier"], out["case_leader"], out["severity"]) == (
        "county",
        "leader01",
        "red",
    )
    assert out["stabilization_measures"][0]["responsible"] == "西河派出所"


def test_the_county_can_send_a_case_down() -> None:
    d = Drive()
    d.register(category="land_acquisition")
    assert d.data["tier"] == "county"
    d.do(
        "dispatch_case",
        dispatch_action="send_down",
        target_tier="township",
        send_down_reason="属地可化解,由街道办理。",
    )
    assert d.ready_ids() == ["dispatch_case"]
    assert d.data["tier"] == "township" and d.data["send_down_count"] == 1
    assert d.candidate("dispatch_case") == Candidate("qs-dc-zzzx", "township_center")
    # sending up is refused quietly: the tier stays
    d.do(
        "dispatch_case",
        dispatch_action="send_down",
        target_tier="township",
        send_down_reason="再议",
    )
    assert d.data["tier"] == "township"
    d.through_handling("qs-dc-sfs")
    d.review()
    d.revisit(4)
    assert d.done()["resolved_tier"] == "township"


def test_extension_and_hang_requests_are_approved_beside_the_main_path() -> None:
    d = Drive()
    d.register()
    d.dispatch("qs-dc-hp-01")
    d.sign()
    d.contact()
    d.message("extension_request", {"requested_days": 5, "reason": "当事人外出务工。"})
    assert d.ready_ids() == ["approve_extension", "handle_case"]
    approval = d.task("approve_extension")
    assert approval.data["extension_request"]["requested_days"] == 5
    # the dispatching tier approves: a grid's 小事 is dispatched by the village (community)
    assert d.candidate("approve_extension") == Candidate("qs-dc-hp", "village_cmte")
    assert approval.data["extension_approval_tier"] == "village"
    d.do("approve_extension", extension_approved=True, extension_days=5, extension_reason="同意。")
    d.message("extension_request", {"requested_days": 5, "reason": "再次申请。"})
    # a second extension goes one level up
    second = d.task("approve_extension")
    assert (second.data["extension_prior_count"], second.data["extension_approval_tier"]) == (
        1, "township",
    )  # fmt: skip
    assert d.candidate("approve_extension").role == "township_center"
    d.do("approve_extension", extension_approved=False, extension_reason="不同意二次延期。")
    d.message("hang_request", {"requested_days": 90, "reason": "待法院判决。"})
    d.do("approve_hang", hang_approved=True, hang_days=90, hang_reason="同意挂账。")
    assert d.ready_ids() == ["handle_case"]
    main = d.task("handle_case").data
    assert not {"extension_approved", "hang_approved", "extension_request"} & set(main)
    d.handle()
    d.feedback()
    d.review()
    d.revisit(4)
    assert d.done()["case_status"] == "CLOSED"
