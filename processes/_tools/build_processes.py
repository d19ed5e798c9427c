"""Produce processes/dispute.bpmn, processes/whistle.bpmn and processes/dispute_routing.dmn.

Run ``python processes/_tools/build_processes.py`` from the repository root. The written files are
the source designers edit afterwards; re-running this script overwrites hand edits, so change the
model here only while the layout is still being drawn by code. ``--check`` prints layout problems
(overlapping shapes, edges through shapes) without writing.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bpmnkit import COL_GAP, EventSubprocess, Flow, Lane, Layout, Model, Node, build_xml, zh

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"


def user(
    nid: str,
    name: str,
    lane: str,
    col: int,
    row: int,
    form: str,
    status: str | None,
    deadline: str | None,
    priority: int | None = None,
    **kw: object,
) -> Node:
    props = {
        "formJsonSchemaFilename": f"{form}.schema.json",
        "formUiSchemaFilename": f"{form}.uischema.json",
    }
    if status:
        props["caseStatus"] = status
    if deadline:
        props["deadline"] = deadline
    if priority is not None:
        props["priority"] = str(priority)
    return Node(nid, "userTask", name, lane, col, row, props=props, **kw)  # type: ignore[arg-type]


def script(nid: str, name: str, lane: str, col: int, row: int, code: str) -> Node:
    return Node(nid, "scriptTask", name, lane, col, row, script=code.strip("\n") + "\n")


def gw(nid: str, name: str, lane: str, col: int, row: int = 0, **kw: object) -> Node:
    return Node(nid, "exclusiveGateway", name, lane, col, row, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------- scripts

INIT = """
case_status = "REPORTED"
tier = ""
category = None
severity = None
difficulty = None
handling_unit = ""
case_leader = ""
resolution_plan = ""
stabilization_measures = []
co_units = []
escalation_count = 0
escalation_history = []
reopen_count = 0
rework_count = 0
return_count = 0
returned_units = []
forced_sign = False
send_down_count = 0
whistle_count = 0
whistle_history = []
whistle_reports = []
revisit_attempts = 0
satisfaction = None
eval_excluded = False
jc_result = ""
resolved_tier = None
closed_at = None
"""

SET_INVALID = """
case_status = "INVALID"
resolved_tier = None
closed_at = iso(now())
"""

SET_DIVERTED = """
case_status = "DIVERTED"
resolved_tier = None
closed_at = iso(now())
"""

SET_MERGED = """
case_status = "MERGED"
resolved_tier = None
closed_at = iso(now())
"""

SEND_DOWN = """
previous_tier = tier
if tier == "county" and target_tier in ("township", "village", "grid"):
    tier = target_tier
elif tier == "township" and target_tier in ("village", "grid"):
    tier = target_tier
elif tier == "village" and target_tier == "grid":
    tier = target_tier
send_down_count = send_down_count + 1
escalation_history = escalation_history + [
    {"from": previous_tier, "to": tier, "kind": "send_down", "reason": send_down_reason}
]
"""

RECORD_RETURN = """
return_count = return_count + 1
if return_approved:
    returned_units = returned_units + [handling_unit]
else:
    forced_sign = True
"""

RECORD_REWORK = """
rework_count = rework_count + 1
"""

ESCALATE = """
previous_tier = tier
if tier == "grid":
    tier = "village"
elif tier == "village":
    tier = "township"
elif tier == "township":
    tier = "county"
if tier != previous_tier:
    escalation_count = escalation_count + 1
escalation_history = escalation_history + [
    {"from": previous_tier, "to": tier, "kind": "escalate", "reason": escalation_reason}
]
"""

REOPEN = """
reopen_count = reopen_count + 1
satisfaction = None
revisit_attempts = 0
previous_tier = tier
if reopen_count >= 2:
    if tier == "grid":
        tier = "village"
    elif tier == "village":
        tier = "township"
    elif tier == "township":
        tier = "county"
if tier != previous_tier:
    escalation_count = escalation_count + 1
    escalation_history = escalation_history + [
        {"from": previous_tier, "to": tier, "kind": "reopen", "reason": dissatisfaction_note}
    ]
"""

COUNT_ATTEMPT = """
revisit_attempts = revisit_attempts + 1
"""

MARK_EXCLUDED = """
eval_excluded = True
"""

JC_EXPIRED = """
jc_result = "expired"
"""

TIER_TIMEOUT = """
escalation_reason = "超时自动上报（本级办理时限届满）"
"""

CLOSE = """
case_status = "CLOSED"
resolved_tier = tier
closed_at = iso(now())
"""

WHISTLE_REPORT = (
    'whistle_report = {"department": whistle_department, "arrived": report_arrived, '
    '"report_in_at": report_in_at, "opinion": report_opinion, "measures": report_measures}'
)

WHISTLE_SUMMARY = """
whistle_count = whistle_count + 1
whistle_history = whistle_history + [
    {"round": whistle_count, "matter": whistle_matter, "reports": whistle_reports}
]
co_units = co_units + whistle_departments
whistle_reports = []
"""

# ------------------------------------------------------------------------- dispute

GRID, VILLAGE, TOWN, COUNTY, LEADER, CENTRE, UNIT, REVISIT = (
    "lane_grid",
    "lane_village",
    "lane_township",
    "lane_county",
    "lane_leader",
    "lane_tier_centre",
    "lane_unit",
    "lane_revisit",
)


def dispute_model() -> Model:
    lanes = [
        Lane(GRID, "网格员"),
        Lane(VILLAGE, "村(社区)", rows=2),
        Lane(TOWN, "乡镇(街道)综治中心", rows=2),
        Lane(COUNTY, "县级综治中心", row_heights={0: 180}),
        Lane(LEADER, "包案领导"),
        Lane(CENTRE, "当前层级综治中心", rows=2, channels=3),
        Lane(UNIT, "承办单位/职能部门", rows=5, row_heights={3: 80, 4: 80}, channels=1),
        Lane(REVISIT, "回访员", rows=2, channels=1),
    ]
    n = [
        # ---- 发现/上报
        Node(
            "start_report",
            "startEvent",
            "上报矛盾纠纷",
            GRID,
            0,
            props={
                "formJsonSchemaFilename": "report.schema.json",
                "formUiSchemaFilename": "report.uischema.json",
                "caseStatus": "REPORTED",
            },
        ),
        script("init_case", "登记上报信息", GRID, 1, 0, INIT),
        # ---- 甄别
        user("screen_case", "甄别研判", TOWN, 2, 0, "screen", "SCREENING", "dispute.screen"),
        gw("gw_screen", "甄别结论", TOWN, 3, 0, label_side="topleft"),
        script("set_merged", "并入主案件", TOWN, 3, 1, SET_MERGED),
        Node("end_merged", "endEvent", "已合并", TOWN, 4, 1),
        user(
            "inform_party",
            "告知当事人",
            VILLAGE,
            4,
            0,
            "inform_party",
            "SCREENING",
            "dispute.screen",
        ),
        gw("gw_inform", "告知类型", VILLAGE, 5, 0, label_side="top"),
        script("set_invalid", "不予受理", VILLAGE, 6, 0, SET_INVALID),
        Node("end_invalid", "endEvent", "不予受理", VILLAGE, 7, 0),
        script("set_diverted", "引导法定途径", VILLAGE, 6, 1, SET_DIVERTED),
        Node("end_diverted", "endEvent", "已分流", VILLAGE, 7, 1),
        # ---- 四事分办
        Node(
            "route_tier",
            "businessRuleTask",
            "四事分办(确定办理层级)",
            TOWN,
            4,
            0,
            decision="dispute_routing",
        ),
        gw("gw_leader", "红色案件？", TOWN, 5, 0, label_side="top"),
        user(
            "leader_stabilize",
            "落实稳控措施",
            LEADER,
            5,
            0,
            "leader_stabilize",
            "REGISTERED",
            "dispute.stabilize",
            priority=90,
        ),
        user(
            "leader_plan",
            "制定化解方案",
            LEADER,
            6,
            0,
            "leader_plan",
            "REGISTERED",
            "dispute.plan",
            priority=80,
        ),
        gw("gw_m_leader", "", LEADER, 7, 0),
        # ---- 交办
        gw("gw_m_dispatch", "", CENTRE, 8, 1),
        user("dispatch_case", "交办", CENTRE, 9, 1, "dispatch", "REGISTERED", "dispute.dispatch"),
        gw("gw_dispatch", "交办方式", CENTRE, 10, 1, label_dx=-40),
        script("send_down", "下沉至下级", CENTRE, 10, 0, SEND_DOWN),
        user("sign_case", "签收", UNIT, 11, 1, "sign", "DISPATCHED", "dispute.sign"),
        gw("gw_sign", "签收或退单", UNIT, 12, 1),
        user(
            "return_review",
            "退单审核",
            CENTRE,
            12,
            1,
            "return_review",
            "RETURN_REQUESTED",
            "dispute.return_review",
            priority=70,
        ),
        script("record_return", "记录退单", CENTRE, 13, 1, RECORD_RETURN),
        gw("gw_return", "同意退单？", CENTRE, 14, 1, label_side="top"),
        # ---- 处置
        gw("gw_m_contact", "", UNIT, 15, 1),
        user(
            "first_contact",
            "联系当事人",
            UNIT,
            16,
            1,
            "first_contact",
            "SIGNED",
            "dispute.first_contact",
        ),
        gw("gw_m_handle_a", "", UNIT, 17, 1),
        script("record_rework", "记录返工", CENTRE, 17, 1, RECORD_REWORK),
        gw("gw_m_handle_b", "", UNIT, 18, 1),
        user("handle_case", "处置", UNIT, 19, 1, "handle", "IN_PROGRESS", "dispute.resolve"),
        gw("gw_handle", "处置方式", UNIT, 20, 1, label_side="bottomleft"),
        Node("call_whistle", "callActivity", "吹哨报到", UNIT, 20, 0, called="whistle"),
        user(
            "mediate_case",
            "人民调解",
            UNIT,
            20,
            2,
            "mediation",
            "IN_PROGRESS",
            "dispute.mediation",
        ),
        gw("gw_mediation", "调解结果", UNIT, 21, 2, label_side="bottomleft"),
        user(
            "judicial_confirmation",
            "申请司法确认",
            UNIT,
            22,
            2,
            "judicial_confirmation",
            "IN_PROGRESS",
            "dispute.jc_window",
        ),
        Node(
            "timer_jc_window",
            "boundaryEvent",
            "申请期满",
            UNIT,
            22,
            2,
            attached_to="judicial_confirmation",
            timer="add_natural_days(agreement_date, 30)",
            label_side="right",
        ),
        script("jc_expired", "司法确认期满", UNIT, 23, 3, JC_EXPIRED),
        gw("gw_m_med", "", UNIT, 23, 2),
        # ---- 反馈 / 审核
        gw("gw_m_feedback", "", UNIT, 24, 1),
        user(
            "feedback_result",
            "反馈办理结果",
            UNIT,
            25,
            1,
            "feedback",
            "FEEDBACK",
            "dispute.resolve",
        ),
        user(
            "review_result",
            "审核核查",
            CENTRE,
            26,
            1,
            "review_result",
            "VERIFYING",
            "dispute.feedback_review",
        ),
        gw("gw_review", "审核结论", CENTRE, 27, 1, label_side="bottomleft"),
        script("escalate_tier", "上报上一级", CENTRE, 28, 1, ESCALATE),
        # ---- 本级时限届满: the supervision ladder delivers message tier_timeout (超时自动上报)
        *(
            Node(
                f"tier_timeout_{short}",
                "boundaryEvent",
                "本级超时",
                UNIT,
                col,
                1,
                attached_to=host,
                message="tier_timeout",
                message_var="tier_timeout",
                label_side="right",
            )
            for short, host, col in (
                ("sign", "sign_case", 11),
                ("contact", "first_contact", 16),
                ("handle", "handle_case", 19),
            )
        ),
        script("record_tier_timeout", "超时自动上报", UNIT, 26, 4, TIER_TIMEOUT),
        # ---- 回访
        gw("gw_m_revisit", "", REVISIT, 27, 0),
        user("revisit_party", "回访", REVISIT, 28, 0, "revisit", "REVISIT", "dispute.revisit"),
        gw("gw_revisit", "回访结果", REVISIT, 29, 0, label_side="top", label_dx=-34),
        script("count_attempt", "记录未联系上", REVISIT, 29, 1, COUNT_ATTEMPT),
        gw("gw_attempts", "已满三次？", REVISIT, 30, 1, label_side="top"),
        user(
            "review_dissatisfaction",
            "不满意件研判",
            CENTRE,
            29,
            1,
            "dissatisfaction_review",
            "REVISIT",
            "dispute.feedback_review",
        ),
        gw("gw_dissat", "研判结论", CENTRE, 30, 1, label_dx=-20),
        script("reopen_case", "重新办理", CENTRE, 31, 1, REOPEN),
        script("mark_excluded", "不计入满意率", CENTRE, 30, 0, MARK_EXCLUDED),
        gw("gw_m_close", "", REVISIT, 32, 0),
        script("close_case", "办结", REVISIT, 33, 0, CLOSE),
        Node("end_closed", "endEvent", "已办结", REVISIT, 34, 0),
    ]

    f = [
        Flow("f_start", "start_report", "init_case"),
        Flow("f_init_screen", "init_case", "screen_case", exit="right", enter="top"),
        Flow("f_screen_gw", "screen_case", "gw_screen"),
        Flow(
            "f_screen_register",
            "gw_screen",
            "route_tier",
            name="立案登记",
            default=True,
            label_dy=-2,
        ),
        Flow(
            "f_screen_inform",
            "gw_screen",
            "inform_party",
            name="不予受理/分流",
            condition='screen_outcome in ("invalid", "divert")',
            exit="top",
            enter="left",
            label_at="mid",
        ),
        Flow(
            "f_screen_merge",
            "gw_screen",
            "set_merged",
            name="合并",
            condition='screen_outcome == "merge"',
            exit="bottom",
            enter="top",
        ),
        Flow("f_merged_end", "set_merged", "end_merged"),
        Flow("f_inform_gw", "inform_party", "gw_inform"),
        Flow(
            "f_inform_invalid",
            "gw_inform",
            "set_invalid",
            name="不予受理",
            default=True,
        ),
        Flow(
            "f_inform_divert",
            "gw_inform",
            "set_diverted",
            name="依法分流",
            condition='screen_outcome == "divert"',
            exit="bottom",
            enter="left",
        ),
        Flow("f_invalid_end", "set_invalid", "end_invalid"),
        Flow("f_diverted_end", "set_diverted", "end_diverted"),
        Flow("f_route_leader", "route_tier", "gw_leader"),
        Flow(
            "f_leader_yes",
            "gw_leader",
            "leader_stabilize",
            name="红色:包案",
            condition='severity == "red" and resolution_plan == ""',
            exit="bottom",
            enter="top",
            label_dy=60,
        ),
        Flow(
            "f_leader_no",
            "gw_leader",
            "gw_m_leader",
            name="否",
            default=True,
            exit="right",
            enter="top",
        ),
        Flow("f_stabilize_plan", "leader_stabilize", "leader_plan"),
        Flow("f_plan_merge", "leader_plan", "gw_m_leader"),
        Flow("f_leader_dispatch", "gw_m_leader", "gw_m_dispatch", exit="bottom", enter="left"),
        Flow("f_dispatch_in", "gw_m_dispatch", "dispatch_case"),
        Flow("f_dispatch_gw", "dispatch_case", "gw_dispatch"),
        Flow(
            "f_dispatch_down",
            "gw_dispatch",
            "send_down",
            name="下沉",
            condition='dispatch_action == "send_down"',
            exit="top",
            enter="bottom",
        ),
        Flow("f_down_back", "send_down", "gw_m_dispatch", exit="left", enter="top"),
        Flow(
            "f_dispatch_sign",
            "gw_dispatch",
            "sign_case",
            name="交办",
            default=True,
            exit="right",
            enter="top",
        ),
        Flow("f_sign_gw", "sign_case", "gw_sign"),
        Flow(
            "f_sign_return",
            "gw_sign",
            "return_review",
            name="退单",
            condition='sign_decision == "return"',
            exit="top",
            enter="bottom",
            label_dy=-30,
        ),
        Flow(
            "f_sign_ok",
            "gw_sign",
            "gw_m_contact",
            name="签收",
            default=True,
        ),
        Flow("f_return_record", "return_review", "record_return"),
        Flow("f_record_gw", "record_return", "gw_return"),
        Flow(
            "f_return_yes",
            "gw_return",
            "gw_m_dispatch",
            name="同意:重新交办",
            condition="return_approved",
            exit="bottom",
            enter="bottom",
            channel=(CENTRE, 0),
        ),
        Flow(
            "f_return_no",
            "gw_return",
            "gw_m_contact",
            name="不同意:强制签收",
            default=True,
            exit="right",
            enter="top",
            label_at="end",
            label_dy=-4,
        ),
        Flow("f_contact_in", "gw_m_contact", "first_contact"),
        Flow("f_contact_handle", "first_contact", "gw_m_handle_a"),
        Flow("f_rework_in", "record_rework", "gw_m_handle_a", exit="bottom", enter="top"),
        Flow("f_handle_a_b", "gw_m_handle_a", "gw_m_handle_b"),
        Flow("f_handle_in", "gw_m_handle_b", "handle_case"),
        Flow("f_handle_gw", "handle_case", "gw_handle"),
        Flow(
            "f_handle_whistle",
            "gw_handle",
            "call_whistle",
            name="吹哨",
            condition='handle_action == "whistle"',
            exit="top",
            enter="bottom",
        ),
        Flow("f_whistle_back", "call_whistle", "gw_m_handle_b", exit="left", enter="top"),
        Flow(
            "f_handle_mediate",
            "gw_handle",
            "mediate_case",
            name="调解",
            condition='handle_action == "mediate"',
            exit="bottom",
            enter="top",
        ),
        Flow(
            "f_handle_feedback",
            "gw_handle",
            "gw_m_feedback",
            name="处置完毕",
            default=True,
            label_dx=60,
        ),
        Flow("f_mediation_gw", "mediate_case", "gw_mediation"),
        Flow(
            "f_mediation_jc",
            "gw_mediation",
            "judicial_confirmation",
            name="申请确认",
            condition='mediation_outcome == "agreement" and jc_requested',
            label_dx=-6,
        ),
        Flow(
            "f_mediation_agreed",
            "gw_mediation",
            "gw_m_med",
            name="达成协议",
            condition='mediation_outcome == "agreement" and not jc_requested',
            exit="top",
            enter="top",
            via=[],
            label_at="mid",
        ),
        Flow(
            "f_mediation_failed",
            "gw_mediation",
            "gw_m_handle_b",
            name="未达成协议",
            default=True,
            exit="bottom",
            enter="bottom",
            channel=(UNIT, 0),
        ),
        Flow("f_jc_done", "judicial_confirmation", "gw_m_med"),
        Flow(
            "f_jc_timeout",
            "timer_jc_window",
            "jc_expired",
            exit="bottom",
            enter="left",
        ),
        Flow("f_jc_expired", "jc_expired", "gw_m_med", exit="top", enter="bottom"),
        Flow("f_med_feedback", "gw_m_med", "gw_m_feedback", exit="right", enter="bottom"),
        Flow("f_feedback_in", "gw_m_feedback", "feedback_result"),
        Flow("f_feedback_review", "feedback_result", "review_result", exit="right", enter="bottom"),
        Flow("f_review_gw", "review_result", "gw_review"),
        Flow(
            "f_review_pass",
            "gw_review",
            "gw_m_revisit",
            name="通过",
            condition='review_decision == "pass"',
            exit="bottom",
            enter="top",
            label_dy=120,
        ),
        Flow(
            "f_review_escalate",
            "gw_review",
            "escalate_tier",
            name="上报",
            condition='review_decision == "escalate" and tier != "county"',
        ),
        Flow(
            "f_review_rework",
            "gw_review",
            "record_rework",
            name="返工",
            default=True,
            exit="top",
            enter="top",
            via=[],
            label_at="mid",
        ),
        *(
            Flow(
                f"f_tier_timeout_{short}",
                f"tier_timeout_{short}",
                "record_tier_timeout",
                exit="bottom",
                enter="left",
            )
            for short in ("sign", "contact", "handle")
        ),
        Flow(
            "f_tier_timeout_escalate",
            "record_tier_timeout",
            "escalate_tier",
            name="超时上报",
            exit="right",
            enter="right",
            label_at="mid",
        ),
        Flow(
            "f_escalate_back",
            "escalate_tier",
            "gw_m_dispatch",
            exit="bottom",
            enter="bottom",
            channel=(CENTRE, 1),
        ),
        Flow("f_revisit_in", "gw_m_revisit", "revisit_party"),
        Flow("f_revisit_gw", "revisit_party", "gw_revisit"),
        Flow(
            "f_revisit_ok",
            "gw_revisit",
            "gw_m_close",
            name="满意/基本满意",
            condition='contact_result == "reached" and satisfaction >= 3',
            label_dx=4,
        ),
        Flow(
            "f_revisit_dissatisfied",
            "gw_revisit",
            "review_dissatisfaction",
            name="不满意",
            condition='contact_result == "reached" and satisfaction <= 2',
            exit="top",
            enter="bottom",
            label_dy=-60,
        ),
        Flow(
            "f_revisit_unreached",
            "gw_revisit",
            "count_attempt",
            name="未联系上",
            default=True,
            exit="bottom",
            enter="top",
        ),
        Flow("f_attempt_gw", "count_attempt", "gw_attempts"),
        Flow(
            "f_attempt_retry",
            "gw_attempts",
            "gw_m_revisit",
            name="再次回访",
            condition="revisit_attempts < 3",
            exit="bottom",
            enter="bottom",
            channel=(REVISIT, 0),
            label_at="mid",
        ),
        Flow(
            "f_attempt_close",
            "gw_attempts",
            "gw_m_close",
            name="是:办结",
            default=True,
            exit="right",
            enter="bottom",
        ),
        Flow("f_dissat_gw", "review_dissatisfaction", "gw_dissat"),
        Flow(
            "f_dissat_reopen",
            "gw_dissat",
            "reopen_case",
            name="重办",
            condition='dissatisfaction_decision == "reopen"',
        ),
        Flow(
            "f_dissat_exclude",
            "gw_dissat",
            "mark_excluded",
            name="依法办结",
            default=True,
            exit="top",
            enter="bottom",
        ),
        Flow(
            "f_reopen_back",
            "reopen_case",
            "gw_m_dispatch",
            exit="bottom",
            enter="bottom",
            channel=(CENTRE, 2),
        ),
        Flow("f_excluded_close", "mark_excluded", "gw_m_close", exit="right", enter="top"),
        Flow("f_close_in", "gw_m_close", "close_case"),
        Flow("f_close_end", "close_case", "end_closed"),
    ]

    esps = [
        EventSubprocess(
            "esp_extension",
            "延期申请",
            COUNTY,
            9,
            0,
            start=Node(
                "start_extension",
                "startEvent",
                "收到延期申请",
                COUNTY,
                9,
                0,
                message="extension_request",
                message_var="extension_request",
                interrupting=False,
            ),
            task=user(
                "approve_extension",
                "延期审批",
                COUNTY,
                9,
                0,
                "extension_approval",
                None,
                None,
                priority=70,
            ),
            end=Node("end_extension", "endEvent", "审批完成", COUNTY, 9, 0),
        ),
        EventSubprocess(
            "esp_hang",
            "挂账申请",
            COUNTY,
            12,
            0,
            start=Node(
                "start_hang",
                "startEvent",
                "收到挂账申请",
                COUNTY,
                12,
                0,
                message="hang_request",
                message_var="hang_request",
                interrupting=False,
            ),
            task=user(
                "approve_hang",
                "挂账审批",
                COUNTY,
                12,
                0,
                "hang_approval",
                None,
                None,
                priority=70,
            ),
            end=Node("end_hang", "endEvent", "审批完成", COUNTY, 12, 0),
        ),
    ]
    return Model(
        process_id="dispute",
        process_name="矛盾纠纷闭环处置",
        lanes=lanes,
        nodes=n,
        flows=f,
        event_subprocesses=esps,
        min_col_width={21: 110},
        messages={
            "msg_extension_request": "extension_request",
            "msg_hang_request": "hang_request",
            "msg_tier_timeout": "tier_timeout",
        },
        documentation=(
            "发现→甄别→上报→交办→处置→反馈→办结 的矛盾纠纷闭环, 四事分办按层级(tier)流转; "
            "see docs/processes.md"
        ),
    )


def fix_special_routes(model: Model, layout: Layout) -> None:
    """Edges whose bends depend on coordinates computed by the layout."""
    by_id = {f.id: f for f in model.flows}
    # 达成协议 (no judicial confirmation): over the confirmation task to the merge gateway
    f = by_id["f_mediation_agreed"]
    gw_box, merge_box = layout.box["gw_mediation"], layout.box["gw_m_med"]
    row_top = layout.row_cy[(UNIT, 2)] - 52
    f.via = [(gw_box.cx, row_top), (merge_box.cx, row_top)]
    # 返工: over the review row back to the rework recorder
    f = by_id["f_review_rework"]
    src, dst = layout.box["gw_review"], layout.box["record_rework"]
    y = layout.row_cy[(CENTRE, 0)] + 30
    f.via = [(src.cx, y), (dst.cx, y)]
    # 超时上报: from below the handling row, up the gap right of 上报上一级, into its right side
    f = by_id["f_tier_timeout_escalate"]
    src, dst = layout.box["record_tier_timeout"], layout.box["escalate_tier"]
    x = dst.right + COL_GAP / 2
    f.via = [(x, src.cy), (x, dst.cy)]


# ------------------------------------------------------------------------- whistle

W_CENTRE, W_DEPT = "wl_centre", "wl_dept"


def whistle_model() -> Model:
    lanes = [Lane(W_CENTRE, "当前层级综治中心"), Lane(W_DEPT, "职能部门(吹哨报到)")]
    nodes = [
        Node("start_whistle", "startEvent", "申请吹哨", W_CENTRE, 0),
        user(
            "summon_departments",
            "吹哨(召集职能部门)",
            W_CENTRE,
            1,
            0,
            "whistle_summon",
            "IN_PROGRESS",
            "dispute.dispatch",
        ),
        user(
            "report_in",
            "部门报到",
            W_DEPT,
            2,
            0,
            "whistle_report_in",
            "IN_PROGRESS",
            "dispute.whistle_report_in",
            multi={
                "loop_input": "whistle_departments",
                "input_item": "whistle_department",
                "loop_output": "whistle_reports",
                "output_item": "whistle_report",
            },
            post_script=WHISTLE_REPORT,
        ),
        script("summarize_whistle", "汇总报到结果", W_CENTRE, 3, 0, WHISTLE_SUMMARY),
        Node("end_whistle", "endEvent", "吹哨结束", W_CENTRE, 4, 0),
    ]
    flows = [
        Flow("wf_start", "start_whistle", "summon_departments"),
        Flow("wf_summon", "summon_departments", "report_in", exit="right", enter="top"),
        Flow("wf_reports", "report_in", "summarize_whistle", exit="right", enter="bottom"),
        Flow("wf_end", "summarize_whistle", "end_whistle"),
    ]
    return Model(
        process_id="whistle",
        process_name="吹哨报到",
        lanes=lanes,
        nodes=nodes,
        flows=flows,
        documentation="综治中心吹哨, 职能部门报到 (multi-instance over whistle_departments)",
        data_objects={"whistle_departments": "召集部门", "whistle_reports": "报到结果"},
    )


# ------------------------------------------------------------------------- DMN

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"

COUNTY_CATEGORIES = ("land_acquisition", "environment")
TOWNSHIP_CATEGORIES = ("labour", "property_mgmt", "land_contract", "medical", "traffic")
GRID_CATEGORIES = ("neighbourhood", "family")


def _tuple(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{v}"' for v in values) + ")"


ROUTING_RULES = [
    # severity, category, difficulty, tier, rule label, description
    (
        '"red"',
        "-",
        "-",
        "county",
        "难事县级协调:红色风险",
        "红色(高风险)案件一律由县级综治中心协调",
    ),
    (
        '!= "red"',
        f"? in {_tuple(COUNTY_CATEGORIES)}",
        "-",
        "county",
        "难事县级协调:县级职能",
        "征地拆迁、环境污染等涉及县级部门职能的纠纷",
    ),
    (
        '!= "red"',
        f"? not in {_tuple(COUNTY_CATEGORIES)}",
        '"difficult"',
        "county",
        "难事县级协调:疑难",
        "疑难纠纷",
    ),
    (
        '"yellow"',
        f"? not in {_tuple(COUNTY_CATEGORIES)}",
        '!= "difficult"',
        "township",
        "大事乡镇办:黄色",
        "黄色(中风险)案件由乡镇(街道)办理",
    ),
    (
        '"blue"',
        f"? in {_tuple(TOWNSHIP_CATEGORIES)}",
        '!= "difficult"',
        "township",
        "大事乡镇办:部门职能",
        "劳动、物业、土地承包、医疗、交通等需乡镇站所职能的纠纷",
    ),
    (
        '"blue"',
        f"? not in {_tuple(COUNTY_CATEGORIES + TOWNSHIP_CATEGORIES)}",
        '"complex"',
        "township",
        "大事乡镇办:复杂",
        "复杂纠纷",
    ),
    (
        '"blue"',
        f"? in {_tuple(GRID_CATEGORIES)}",
        '"simple"',
        "grid",
        "小事网格办",
        "邻里、家庭等简单纠纷由网格员就地化解",
    ),
    (
        '"blue"',
        f"? not in {_tuple(COUNTY_CATEGORIES + TOWNSHIP_CATEGORIES + GRID_CATEGORIES)}",
        '"simple"',
        "village",
        "急事村(社区)办",
        "其他简单纠纷由村(社区)办理",
    ),
]


def dmn_xml() -> bytes:
    from lxml import etree

    dmndi = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
    dc = "http://www.omg.org/spec/DMN/20180521/DC/"
    nsmap = {None: DMN_NS, "dmndi": dmndi, "dc": dc}
    root = etree.Element(f"{{{DMN_NS}}}definitions", nsmap=nsmap)
    root.set("id", "defs_dispute_routing")
    root.set("name", "四事分办")
    root.set("namespace", "https://bihuan.example/decisions")

    def sub(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
        el = etree.SubElement(parent, f"{{{DMN_NS}}}{tag}")
        for k, v in attrs.items():
            el.set(k, v)
        return el

    decision = sub(root, "decision", id="dispute_routing", name=zh("四事分办:确定办理层级"))
    sub(decision, "description").text = zh(
        "小事网格办、急事村(社区)办、大事乡镇(街道)办、难事县级协调。"
        "输入: severity(风险等级 red/yellow/blue), category(纠纷类别), "
        "difficulty(难易程度 simple/complex/difficult); 输出: tier, routing_rule。"
        "规则互斥且完备(UNIQUE)。"
    )
    table = sub(decision, "decisionTable", id="dispute_routing_table", hitPolicy="UNIQUE")
    for iid, label, expr in (
        ("in_severity", "风险等级", "severity"),
        ("in_category", "纠纷类别", "category"),
        ("in_difficulty", "难易程度", "difficulty"),
    ):
        inp = sub(table, "input", id=iid, label=label)
        ie = sub(inp, "inputExpression", id=f"{iid}_expr", typeRef="string")
        sub(ie, "text").text = expr
    sub(table, "output", id="out_tier", label="办理层级", name="tier", typeRef="string")
    sub(table, "output", id="out_rule", label="分办依据", name="routing_rule", typeRef="string")
    for i, (sev, cat, diff, tier, label, desc) in enumerate(ROUTING_RULES, start=1):
        rule = sub(table, "rule", id=f"rule_{i}")
        sub(rule, "description").text = zh(desc)
        for j, text in enumerate((sev, cat, diff), start=1):
            entry = sub(rule, "inputEntry", id=f"rule_{i}_in{j}")
            sub(entry, "text").text = text
        out = sub(rule, "outputEntry", id=f"rule_{i}_tier")
        sub(out, "text").text = f'"{tier}"'
        out = sub(rule, "outputEntry", id=f"rule_{i}_label")
        sub(out, "text").text = f'"{zh(label)}"'
    di = etree.SubElement(root, f"{{{dmndi}}}DMNDI")
    diagram = etree.SubElement(di, f"{{{dmndi}}}DMNDiagram", id="dmn_diagram")
    shape = etree.SubElement(
        diagram, f"{{{dmndi}}}DMNShape", id="dispute_routing_di", dmnElementRef="dispute_routing"
    )
    etree.SubElement(shape, f"{{{dc}}}Bounds", x="160", y="100", width="180", height="80")
    etree.indent(root, space="  ")
    body: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return body


# ------------------------------------------------------------------------- main


def build(check_only: bool = False) -> list[str]:
    problems: list[str] = []
    for model, filename in ((dispute_model(), "dispute.bpmn"), (whistle_model(), "whistle.bpmn")):
        layout = Layout(model)
        if model.process_id == "dispute":
            fix_special_routes(model, layout)
        problems += [f"{filename}: {p}" for p in layout.problems()]
        if not check_only:
            (PROCESSES / filename).write_bytes(build_xml(model, layout))
    if not check_only:
        (PROCESSES / "dispute_routing.dmn").write_bytes(dmn_xml())
    return problems


if __name__ == "__main__":
    found = build(check_only="--check" in sys.argv)
    for p in found:
        print(p)
    sys.exit(1 if found and "--check" in sys.argv else 0)
