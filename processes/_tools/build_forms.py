"""Produce the dispute forms: forms/<name>.schema.json and forms/<name>.uischema.json.

Run ``python processes/_tools/build_forms.py`` from the repository root. As with the BPMN, the
written JSON files are the source designers edit afterwards; this script only keeps the shared
code lists (categories, severity, tiers, …) consistent while the forms are first drawn.

Conventions: JSON Schema draft 2020-12; ``additionalProperties: false``; coded fields as
``oneOf`` of ``{"const": code, "title": 中文}``; conditional requirements as ``allOf`` of
``if``/``then``. UI schemas are react-jsonschema-form style; the custom widgets ``org-picker``
and ``user-picker`` take ``ui:options`` (see docs/processes.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
FORMS = ROOT / "forms"
SCHEMA = "https://json-schema.org/draft/2020-12/schema"

Json = dict[str, Any]

# ------------------------------------------------------------------ code lists

SOURCE_CHANNELS = [
    ("grid_patrol", "网格员巡查"),
    ("walk_in", "群众来访"),
    ("hotline_12345", "12345热线转办"),
    ("petition", "信访转送"),
    ("police_110", "110警调联动"),
    ("court_referral", "法院委派(诉调对接)"),
    ("sensor", "视频/物联感知"),
    ("higher_assignment", "上级交办"),
    ("public_report", "公众举报"),
]
CATEGORIES = [
    ("family", "婚姻家庭(含赡养、扶养、抚养、继承)"),
    ("neighbourhood", "邻里关系"),
    ("debt", "债权债务"),
    ("housing", "房屋宅基地"),
    ("damages", "损害赔偿"),
    ("business", "生产经营"),
    ("labour", "劳动争议/欠薪"),
    ("property_mgmt", "物业纠纷"),
    ("land_acquisition", "征地拆迁"),
    ("land_contract", "土地承包"),
    ("medical", "医疗纠纷"),
    ("traffic", "交通事故"),
    ("consumer", "消费纠纷"),
    ("environment", "环境污染"),
    ("other", "其他"),
]
SEVERITY = [("red", "红色(高风险)"), ("yellow", "黄色(中风险)"), ("blue", "蓝色(低风险)")]
DIFFICULTY = [("simple", "简单"), ("complex", "复杂"), ("difficult", "疑难")]
LOWER_TIERS = [("grid", "网格"), ("village", "村(社区)"), ("township", "乡镇(街道)")]
RISK_FLAGS = [
    ("criminal_risk", "民转刑风险"),
    ("group", "群体性"),
    ("stability", "涉稳/舆情"),
    ("repeat_petition", "重复访"),
    ("extreme", "极端行为倾向"),
]
RED_CRITERIA = [
    ("criminal_risk", "民转刑或极端风险"),
    ("group", "群体性(10人以上)"),
    ("stability", "涉稳涉舆情"),
    ("repeat_failure", "乡镇(街道)多次化解未果"),
    ("cross_region", "跨县(区)"),
]
PARTY_ROLES = [("applicant", "申请人/诉求人"), ("respondent", "被申请人"), ("other", "其他关系人")]
INVALID_REASONS = [
    ("not_dispute", "不属于矛盾纠纷"),
    ("unverifiable", "反映情况不实或无法核实"),
    ("outside_area", "不属本辖区"),
    ("self_resolved", "当事人已自行化解"),
    ("other", "其他"),
]
DIVERT_CHANNELS = [
    ("litigation", "诉讼"),
    ("arbitration", "仲裁"),
    ("admin_review", "行政复议"),
    ("petition", "信访"),
]
INFORM_METHODS = [
    ("in_person", "当面告知"),
    ("written", "书面告知(送达告知书)"),
    ("phone", "电话告知"),
    ("sms", "短信告知"),
]
RETURN_REASONS = [
    ("function_mismatch", "职能不符"),
    ("territory_mismatch", "属地不符"),
    ("ownership_unclear", "权属不清"),
    ("other", "其他"),
]
CONTACT_METHODS = [
    ("visit", "上门走访"),
    ("office", "约见来访"),
    ("phone", "电话联系"),
    ("online", "线上联系"),
]
MEDIATION_TYPES = [
    ("people", "人民调解"),
    ("administrative", "行政调解"),
    ("judicial", "司法调解(诉前调解)"),
    ("industry", "行业性专业性调解"),
]
MEDIATION_MODES = [
    ("assist", "协助调解"),
    ("entrust", "委托调解"),
    ("invite", "邀请调解"),
    ("delegate", "委派调解"),
]
JC_RESULTS = [
    ("confirmed", "裁定确认调解协议有效"),
    ("rejected", "裁定驳回申请"),
    ("withdrawn", "当事人撤回申请"),
]
RESOLUTION_METHODS = [
    ("mediation", "调解达成协议"),
    ("settlement", "协商和解"),
    ("explanation", "解释疏导、政策答复"),
    ("administrative", "依法行政处理"),
    ("judicial", "引导诉讼等司法途径"),
    ("other", "其他"),
]
SATISFACTION = [
    (5, "非常满意"),
    (4, "满意"),
    (3, "基本满意"),
    (2, "不满意"),
    (1, "非常不满意"),
]
REVISIT_METHODS = [("phone", "电话回访"), ("visit", "上门回访"), ("sms", "短信回访")]
EXCLUSION_BASIS = [
    ("unreasonable_demand", "诉求不合理或超出政策规定"),
    ("lawful_handling", "已依法依规办理(行政调解、执法办案类)"),
    ("statutory_channel", "属法定途径办理事项"),
    ("other", "其他"),
]

# ------------------------------------------------------------------ builders


def coded(title: str, codes: list[tuple[Any, str]], description: str | None = None) -> Json:
    kind = "integer" if isinstance(codes[0][0], int) else "string"
    out: Json = {
        "type": kind,
        "title": title,
        "oneOf": [{"const": c, "title": t} for c, t in codes],
    }
    if description:
        out["description"] = description
    return out


def coded_set(title: str, codes: list[tuple[str, str]], min_items: int = 0) -> Json:
    out: Json = {
        "type": "array",
        "title": title,
        "uniqueItems": True,
        "items": {"type": "string", "oneOf": [{"const": c, "title": t} for c, t in codes]},
    }
    if min_items:
        out["minItems"] = min_items
    return out


def text(title: str, max_length: int = 200, min_length: int = 1, **kw: Any) -> Json:
    return {
        "type": "string",
        "title": title,
        "minLength": min_length,
        "maxLength": max_length,
        **kw,
    }


def boolean(title: str, **kw: Any) -> Json:
    return {"type": "boolean", "title": title, **kw}


def when(field: str, value: Any, required: list[str]) -> Json:
    return {
        "if": {"properties": {field: {"const": value}}, "required": [field]},
        "then": {"required": required},
    }


ORG_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]*$", "maxLength": 64}
USER_ID = {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]*$", "maxLength": 64}
DATE = {"type": "string", "format": "date"}
DATETIME = {"type": "string", "format": "date-time"}


def org(title: str, **kw: Any) -> Json:
    return {**ORG_ID, "title": title, **kw}


def schema(
    name: str,
    title: str,
    description: str,
    properties: Json,
    required: list[str],
    conditions: list[Json] | None = None,
) -> Json:
    out: Json = {
        "$schema": SCHEMA,
        "$id": f"https://bihuan.example/forms/{name}.schema.json",
        "title": title,
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if conditions:
        out["allOf"] = conditions
    return out


def textarea(rows: int = 4, help_text: str | None = None, placeholder: str | None = None) -> Json:
    out: Json = {"ui:widget": "textarea", "ui:options": {"rows": rows}}
    if help_text:
        out["ui:help"] = help_text
    if placeholder:
        out["ui:placeholder"] = placeholder
    return out


def org_picker(kinds: list[str], scope: str, help_text: str | None = None) -> Json:
    out: Json = {"ui:widget": "org-picker", "ui:options": {"kinds": kinds, "scope": scope}}
    if help_text:
        out["ui:help"] = help_text
    return out


def help_(text_: str, **kw: Any) -> Json:
    return {"ui:help": text_, **kw}


# ------------------------------------------------------------------ forms


def report() -> tuple[Json, Json]:
    party = {
        "type": "object",
        "title": "当事人",
        "additionalProperties": False,
        "required": ["name", "role"],
        "properties": {
            "name": text("姓名或名称", 100),
            "role": coded("身份", PARTY_ROLES),
            "phone": {
                "type": "string",
                "title": "联系电话",
                "pattern": "^[0-9+\\- ]{5,20}$",
            },
            "address": text("住址", 200),
        },
    }
    s = schema(
        "report",
        "矛盾纠纷上报",
        "网格员巡查发现或群众来访、12345、信访、法院委派等渠道登记的矛盾纠纷线索。",
        {
            "case_no": {
                "type": "string",
                "title": "事项码",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{3,63}$",
                "description": "一事一码;留空由系统生成。",
            },
            "title": text("标题", 100),
            "description": text("纠纷情况", 4000, 10),
            "source_channel": coded("来源渠道", SOURCE_CHANNELS),
            "grid_code": org("所属网格"),
            "location": text("发生地点", 200),
            "occurred_at": {**DATETIME, "title": "发生时间"},
            "parties": {
                "type": "array",
                "title": "当事人",
                "minItems": 1,
                "maxItems": 50,
                "items": party,
            },
            "party_count": {"type": "integer", "title": "涉及人数", "minimum": 1},
            "amount_involved": {"type": "number", "title": "涉及金额(元)", "minimum": 0},
            "category_hint": coded("纠纷类别(初判)", CATEGORIES),
            "risk_flags": coded_set("风险标识", RISK_FLAGS),
            "reporter_note": text("上报人备注", 1000),
        },
        ["title", "description", "source_channel", "grid_code", "parties"],
    )
    ui = {
        "ui:order": [
            "case_no",
            "title",
            "source_channel",
            "grid_code",
            "location",
            "occurred_at",
            "description",
            "parties",
            "party_count",
            "amount_involved",
            "category_hint",
            "risk_flags",
            "reporter_note",
        ],
        "case_no": help_("留空由系统按规则生成事项码。", **{"ui:placeholder": "自动生成"}),
        "title": {"ui:placeholder": "例如:某小区楼上楼下噪音纠纷", "ui:autofocus": True},
        "grid_code": org_picker(["grid"], "mine", "纠纷发生地所在的单元网格。"),
        "description": textarea(6, "写清时间、地点、人物、起因、诉求和目前状态。"),
        "parties": {"items": {"role": {"ui:widget": "radio"}}},
        "party_count": help_("10人以上的纠纷按群体性纠纷处理。"),
        "risk_flags": {"ui:widget": "checkboxes", "ui:help": "有任一风险的,甄别时将重点研判。"},
        "reporter_note": textarea(2),
    }
    return s, ui


def screen() -> tuple[Json, Json]:
    s = schema(
        "screen",
        "甄别研判",
        "核实上报事项,判定是否受理;受理的确定类别、风险等级和难易程度,由四事分办规则确定办理层级。",
        {
            "screen_outcome": coded(
                "甄别结论",
                [
                    ("register", "立案登记"),
                    ("invalid", "不予受理"),
                    ("merge", "合并至在办案件(同人同事)"),
                    ("divert", "引导至法定途径"),
                ],
            ),
            "screen_opinion": text("甄别意见", 2000, 2),
            "category": coded("纠纷类别", CATEGORIES),
            "severity": coded("风险等级", SEVERITY),
            "difficulty": coded("难易程度", DIFFICULTY),
            "red_criteria": coded_set("红色研判依据", RED_CRITERIA, min_items=1),
            "case_leader": {**USER_ID, "title": "包案领导"},
            "invalid_reason": coded("不予受理理由", INVALID_REASONS),
            "master_case_no": {
                "type": "string",
                "title": "主案件事项码",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9-]{3,63}$",
            },
            "diverted_channel": coded("法定途径", DIVERT_CHANNELS),
        },
        ["screen_outcome", "screen_opinion"],
        [
            when("screen_outcome", "register", ["category", "severity", "difficulty"]),
            when("screen_outcome", "invalid", ["invalid_reason"]),
            when("screen_outcome", "merge", ["master_case_no"]),
            when("screen_outcome", "divert", ["diverted_channel"]),
            {
                "if": {
                    "properties": {
                        "screen_outcome": {"const": "register"},
                        "severity": {"const": "red"},
                    },
                    "required": ["screen_outcome", "severity"],
                },
                "then": {"required": ["case_leader", "red_criteria"]},
            },
        ],
    )
    ui = {
        "ui:order": [
            "screen_outcome",
            "category",
            "severity",
            "difficulty",
            "red_criteria",
            "case_leader",
            "invalid_reason",
            "master_case_no",
            "diverted_channel",
            "screen_opinion",
        ],
        "screen_outcome": {"ui:widget": "radio"},
        "severity": {
            "ui:widget": "radio",
            "ui:help": "红色:民转刑、群体性、涉稳等高风险,由县级包案;黄色:多方、多部门或反复;"
            "蓝色:简单、双方、金额小。",
        },
        "difficulty": {
            "ui:widget": "radio",
            "ui:help": "简单/复杂/疑难,与风险等级共同决定办理层级。",
        },
        "red_criteria": {"ui:widget": "checkboxes"},
        "case_leader": {
            "ui:widget": "user-picker",
            "ui:options": {"role": "case_leader"},
            "ui:help": "红色案件必须明确县级包案领导。",
        },
        "master_case_no": help_("同一当事人就同一事项反映且主案件尚在办理中的,并入主案件。"),
        "diverted_channel": help_("应通过诉讼、仲裁、行政复议、信访等法定途径解决的,告知当事人。"),
        "screen_opinion": textarea(4),
    }
    return s, ui


def inform_party() -> tuple[Json, Json]:
    s = schema(
        "inform_party",
        "告知当事人",
        "不予受理或引导至法定途径的,应告知当事人理由和可选择的途径。",
        {
            "inform_method": coded("告知方式", INFORM_METHODS),
            "informed_at": {**DATETIME, "title": "告知时间"},
            "inform_content": text("告知内容", 2000, 5),
            "party_acknowledged": boolean("当事人已知悉"),
            "notice_no": text("告知书编号", 64),
        },
        ["inform_method", "informed_at", "inform_content", "party_acknowledged"],
        [when("inform_method", "written", ["notice_no"])],
    )
    ui = {
        "ui:order": [
            "inform_method",
            "informed_at",
            "notice_no",
            "inform_content",
            "party_acknowledged",
        ],
        "inform_method": {"ui:widget": "radio"},
        "inform_content": textarea(4, "说明不予受理的理由,或应当通过的法定途径及受理机关。"),
    }
    return s, ui


def leader_stabilize() -> tuple[Json, Json]:
    measure = {
        "type": "object",
        "title": "稳控措施",
        "additionalProperties": False,
        "required": ["measure", "responsible"],
        "properties": {
            "measure": text("措施", 500),
            "responsible": text("责任人", 100),
            "until": {**DATE, "title": "落实期限"},
        },
    }
    s = schema(
        "leader_stabilize",
        "落实稳控措施",
        "红色案件由包案领导在24小时内落实稳控措施,防止矛盾激化。",
        {
            "stabilization_measures": {
                "type": "array",
                "title": "稳控措施",
                "minItems": 1,
                "maxItems": 20,
                "items": measure,
            },
            "stabilized": boolean("已稳控"),
            "stabilize_note": text("情况说明", 2000),
        },
        ["stabilization_measures", "stabilized"],
        [
            {
                "if": {"properties": {"stabilized": {"const": False}}, "required": ["stabilized"]},
                "then": {"required": ["stabilize_note"]},
            }
        ],
    )
    ui = {
        "ui:order": ["stabilization_measures", "stabilized", "stabilize_note"],
        "stabilization_measures": help_("逐项写明措施、责任人和期限(谁、做什么、到何时)。"),
        "stabilize_note": textarea(3, "未能稳控的,说明原因和下一步安排。"),
    }
    return s, ui


def leader_plan() -> tuple[Json, Json]:
    s = schema(
        "leader_plan",
        "制定化解方案",
        "包案领导在3个工作日内制定化解方案(一事一策)。",
        {
            "resolution_plan": text("化解方案", 8000, 10),
            "plan_units": {
                "type": "array",
                "title": "参与单位",
                "uniqueItems": True,
                "items": ORG_ID,
            },
            "plan_target_date": {**DATE, "title": "计划化解日期"},
        },
        ["resolution_plan", "plan_target_date"],
    )
    ui = {
        "ui:order": ["resolution_plan", "plan_units", "plan_target_date"],
        "resolution_plan": textarea(8, "写明症结、化解思路、责任分工、时间节点和预案。"),
        "plan_units": {
            "ui:options": {"orderable": False},
            "items": org_picker(["department", "centre", "village"], "county"),
        },
    }
    return s, ui


def dispatch() -> tuple[Json, Json]:
    s = schema(
        "dispatch",
        "交办",
        "当前层级综治中心指定承办单位(可指定协办单位);县级、乡镇(街道)也可将案件下沉至下级办理。",
        {
            "dispatch_action": coded(
                "交办方式", [("dispatch", "交办承办单位"), ("send_down", "下沉至下级办理")]
            ),
            "handling_unit": org("承办单位"),
            "co_units": {
                "type": "array",
                "title": "协办单位",
                "uniqueItems": True,
                "maxItems": 10,
                "items": ORG_ID,
            },
            "dispatch_instructions": text("交办意见", 2000),
            "target_tier": coded("下沉至", LOWER_TIERS),
            "send_down_reason": text("下沉理由", 1000, 2),
        },
        ["dispatch_action"],
        [
            when("dispatch_action", "dispatch", ["handling_unit"]),
            when("dispatch_action", "send_down", ["target_tier", "send_down_reason"]),
        ],
    )
    ui = {
        "ui:order": [
            "dispatch_action",
            "handling_unit",
            "co_units",
            "dispatch_instructions",
            "target_tier",
            "send_down_reason",
        ],
        "dispatch_action": {"ui:widget": "radio"},
        "handling_unit": org_picker(
            ["department", "village", "grid", "centre"],
            "tier",
            "权责明确的直接交办职能部门;权责不清的交属地兜底。",
        ),
        "co_units": {"items": org_picker(["department", "village", "grid", "centre"], "county")},
        "dispatch_instructions": textarea(3),
        "target_tier": help_("只能下沉到比当前层级低的层级。", **{"ui:widget": "radio"}),
        "send_down_reason": textarea(2),
    }
    return s, ui


def sign() -> tuple[Json, Json]:
    s = schema(
        "sign",
        "签收",
        "承办单位签收交办的案件;认为交办有误的,可申请退单并说明理由和依据。",
        {
            "sign_decision": coded("签收结论", [("sign", "签收"), ("return", "申请退单")]),
            "return_reason": coded("退单理由", RETURN_REASONS),
            "return_basis": text("退单依据", 2000, 5),
            "suggested_unit": org("建议承办单位"),
            "sign_note": text("备注", 1000),
        },
        ["sign_decision"],
        [when("sign_decision", "return", ["return_reason", "return_basis"])],
    )
    ui = {
        "ui:order": [
            "sign_decision",
            "return_reason",
            "return_basis",
            "suggested_unit",
            "sign_note",
        ],
        "sign_decision": {"ui:widget": "radio"},
        "return_reason": {"ui:widget": "radio"},
        "return_basis": textarea(
            3, "写明三定方案、权责清单或法律法规条款等依据;不当退单将被通报。"
        ),
        "suggested_unit": org_picker(["department", "village", "grid", "centre"], "county"),
        "sign_note": textarea(2),
    }
    return s, ui


def return_review() -> tuple[Json, Json]:
    s = schema(
        "return_review",
        "退单审核",
        "综治中心审核承办单位的退单申请:同意的重新交办,不同意的由原承办单位强制签收办理。",
        {
            "return_approved": boolean("同意退单"),
            "return_review_opinion": text("审核意见", 2000, 2),
        },
        ["return_approved", "return_review_opinion"],
    )
    ui = {
        "ui:order": ["return_approved", "return_review_opinion"],
        "return_approved": {"ui:widget": "radio"},
        "return_review_opinion": textarea(3),
    }
    return s, ui


def first_contact() -> tuple[Json, Json]:
    s = schema(
        "first_contact",
        "联系当事人",
        "签收后及时联系当事人,了解诉求、固定事实(首次响应)。",
        {
            "contacted_at": {**DATETIME, "title": "联系时间"},
            "contact_method": coded("联系方式", CONTACT_METHODS),
            "parties_reached": boolean("已联系上当事人"),
            "first_contact_note": text("初步情况", 4000, 5),
        },
        ["contacted_at", "contact_method", "parties_reached", "first_contact_note"],
    )
    ui = {
        "ui:order": ["contacted_at", "contact_method", "parties_reached", "first_contact_note"],
        "contact_method": {"ui:widget": "radio"},
        "first_contact_note": textarea(4, "当事人诉求、争议焦点、情绪状态。"),
    }
    return s, ui


def handle() -> tuple[Json, Json]:
    s = schema(
        "handle",
        "处置",
        "承办单位开展化解工作:可组织调解、申请综治中心吹哨召集职能部门,处置完毕后填报反馈。",
        {
            "handle_action": coded(
                "下一步",
                [
                    ("feedback", "处置完毕,填报反馈"),
                    ("mediate", "组织调解"),
                    ("whistle", "申请吹哨(召集职能部门)"),
                ],
            ),
            "progress_note": text("工作情况", 4000, 2),
            "whistle_request": text("吹哨事由", 2000, 5),
        },
        ["handle_action", "progress_note"],
        [when("handle_action", "whistle", ["whistle_request"])],
    )
    ui = {
        "ui:order": ["handle_action", "whistle_request", "progress_note"],
        "handle_action": {"ui:widget": "radio"},
        "whistle_request": textarea(3, "需要哪些部门、解决什么问题。"),
        "progress_note": textarea(4),
    }
    return s, ui


def whistle_summon() -> tuple[Json, Json]:
    s = schema(
        "whistle_summon",
        "吹哨",
        "综治中心吹哨,召集一个或多个职能部门到场报到、共同处置。",
        {
            "whistle_departments": {
                "type": "array",
                "title": "召集部门",
                "minItems": 1,
                "maxItems": 10,
                "uniqueItems": True,
                "items": ORG_ID,
            },
            "whistle_matter": text("吹哨事项", 2000, 5),
            "meet_at": {**DATETIME, "title": "到场时间"},
            "meet_place": text("到场地点", 200),
        },
        ["whistle_departments", "whistle_matter"],
    )
    ui = {
        "ui:order": ["whistle_departments", "whistle_matter", "meet_at", "meet_place"],
        "whistle_departments": {
            "ui:help": "每个部门各自收到一项报到任务。",
            "items": org_picker(["department"], "county"),
        },
        "whistle_matter": textarea(3),
    }
    return s, ui


def whistle_report_in() -> tuple[Json, Json]:
    s = schema(
        "whistle_report_in",
        "部门报到",
        "被召集的职能部门报到,提出意见并承担相应处置工作。",
        {
            "report_arrived": boolean("已到场"),
            "report_in_at": {**DATETIME, "title": "报到时间"},
            "report_opinion": text("部门意见", 4000, 2),
            "report_measures": text("采取的措施", 4000, 2),
        },
        ["report_arrived", "report_in_at", "report_opinion", "report_measures"],
    )
    ui = {
        "ui:order": ["report_arrived", "report_in_at", "report_opinion", "report_measures"],
        "report_opinion": textarea(3, "本部门职责范围内的意见和依据。"),
        "report_measures": textarea(3),
    }
    return s, ui


def mediation() -> tuple[Json, Json]:
    s = schema(
        "mediation",
        "人民调解",
        "记录调解过程和结果;达成协议的,可引导双方在协议生效之日起30日内共同申请司法确认。",
        {
            "mediation_type": coded("调解类型", MEDIATION_TYPES),
            "mediation_mode": coded("调解方式", MEDIATION_MODES),
            "mediator": text("调解员(调解组织)", 200),
            "mediation_record": text("调解记录", 8000, 5),
            "mediation_outcome": coded(
                "调解结果", [("agreement", "达成调解协议"), ("no_agreement", "未达成协议")]
            ),
            "agreement_date": {**DATE, "title": "协议生效日期"},
            "agreement_summary": text("协议内容", 4000, 5),
            "jc_requested": boolean("双方申请司法确认"),
            "failure_reason": text("未达成原因", 2000, 2),
        },
        ["mediation_type", "mediation_mode", "mediator", "mediation_record", "mediation_outcome"],
        [
            when(
                "mediation_outcome",
                "agreement",
                ["agreement_date", "agreement_summary", "jc_requested"],
            ),
            when("mediation_outcome", "no_agreement", ["failure_reason"]),
        ],
    )
    ui = {
        "ui:order": [
            "mediation_type",
            "mediation_mode",
            "mediator",
            "mediation_record",
            "mediation_outcome",
            "agreement_date",
            "agreement_summary",
            "jc_requested",
            "failure_reason",
        ],
        "mediation_mode": help_(
            "邀请调解须经当事人同意;委派调解为法院立案前委派。", **{"ui:widget": "radio"}
        ),
        "mediation_record": textarea(6),
        "mediation_outcome": {"ui:widget": "radio"},
        "agreement_summary": textarea(4),
        "jc_requested": help_("司法确认申请期为协议生效之日起30日,期满未申请的不再等待。"),
        "failure_reason": textarea(3),
    }
    return s, ui


def judicial_confirmation() -> tuple[Json, Json]:
    s = schema(
        "judicial_confirmation",
        "申请司法确认",
        "协助双方当事人向人民法院申请确认调解协议效力,并登记法院裁定结果。",
        {
            "jc_court": text("受理法院", 200),
            "jc_applied_at": {**DATE, "title": "申请日期"},
            "jc_result": coded("裁定结果", JC_RESULTS),
            "jc_ruling_no": text("裁定书编号", 100),
            "jc_note": text("备注", 2000),
        },
        ["jc_court", "jc_applied_at", "jc_result"],
        [when("jc_result", "confirmed", ["jc_ruling_no"])],
    )
    ui = {
        "ui:order": ["jc_court", "jc_applied_at", "jc_result", "jc_ruling_no", "jc_note"],
        "jc_result": {
            "ui:widget": "radio",
            "ui:help": "驳回的,可重新调解或引导诉讼;在反馈中说明。",
        },
        "jc_note": textarea(2),
    }
    return s, ui


def feedback() -> tuple[Json, Json]:
    evidence = {
        "type": "object",
        "title": "佐证材料",
        "additionalProperties": False,
        "required": ["title"],
        "properties": {
            "title": text("名称", 200),
            "url": {"type": "string", "title": "链接", "format": "uri-reference", "maxLength": 500},
        },
    }
    s = schema(
        "feedback",
        "反馈办理结果",
        "承办单位反馈化解结果;本层级无法化解的,说明原因,可建议上报上一级。",
        {
            "resolved": boolean("已化解"),
            "result_summary": text("化解情况", 8000, 5),
            "resolution_method": coded("化解方式", RESOLUTION_METHODS),
            "unresolved_reason": text("未化解原因", 4000, 5),
            "suggest_escalation": boolean("建议上报上一级"),
            "evidence": {"type": "array", "title": "佐证材料", "maxItems": 20, "items": evidence},
        },
        ["resolved", "result_summary", "resolution_method"],
        [
            {
                "if": {"properties": {"resolved": {"const": False}}, "required": ["resolved"]},
                "then": {"required": ["unresolved_reason", "suggest_escalation"]},
            }
        ],
    )
    ui = {
        "ui:order": [
            "resolved",
            "resolution_method",
            "result_summary",
            "unresolved_reason",
            "suggest_escalation",
            "evidence",
        ],
        "resolved": {"ui:widget": "radio"},
        "result_summary": textarea(6),
        "unresolved_reason": textarea(3),
    }
    return s, ui


def review_result() -> tuple[Json, Json]:
    s = schema(
        "review_result",
        "审核核查",
        "综治中心审核反馈并核查化解情况:通过的转回访;不合格的返工;本层级无法化解的上报上一级。",
        {
            "review_decision": coded(
                "审核结论",
                [("pass", "通过"), ("rework", "返工"), ("escalate", "上报上一级")],
            ),
            "review_opinion": text("审核意见", 4000, 2),
            "rework_reason": text("返工理由", 2000, 2),
            "escalation_reason": text("上报理由", 2000, 2),
        },
        ["review_decision", "review_opinion"],
        [
            when("review_decision", "rework", ["rework_reason"]),
            when("review_decision", "escalate", ["escalation_reason"]),
        ],
    )
    ui = {
        "ui:order": ["review_decision", "review_opinion", "rework_reason", "escalation_reason"],
        "review_decision": {
            "ui:widget": "radio",
            "ui:help": "县级为最高层级:县级选择上报时按返工处理。",
        },
        "review_opinion": textarea(3),
        "rework_reason": textarea(2),
        "escalation_reason": textarea(2),
    }
    return s, ui


def revisit() -> tuple[Json, Json]:
    s = schema(
        "revisit",
        "回访",
        "回访当事人,了解问题是否解决并评价满意度(非常满意、满意、基本满意、不满意、非常不满意)。",
        {
            "contact_result": coded(
                "联系结果", [("reached", "已联系上"), ("unreachable", "未联系上")]
            ),
            "revisit_method": coded("回访方式", REVISIT_METHODS),
            "revisit_at": {**DATETIME, "title": "回访时间"},
            "satisfaction": coded("满意度", SATISFACTION),
            "problem_solved": boolean("问题已解决"),
            "dissatisfaction_reason": text("不满意原因", 2000, 2),
            "revisit_note": text("回访记录", 2000),
        },
        ["contact_result", "revisit_method", "revisit_at"],
        [
            when("contact_result", "reached", ["satisfaction", "problem_solved"]),
            {
                "if": {
                    "properties": {"satisfaction": {"maximum": 2}},
                    "required": ["satisfaction"],
                },
                "then": {"required": ["dissatisfaction_reason"]},
            },
        ],
    )
    ui = {
        "ui:order": [
            "contact_result",
            "revisit_method",
            "revisit_at",
            "satisfaction",
            "problem_solved",
            "dissatisfaction_reason",
            "revisit_note",
        ],
        "contact_result": {"ui:widget": "radio", "ui:help": "累计3次未联系上的,按办结处理。"},
        "revisit_method": {"ui:widget": "radio"},
        "satisfaction": {"ui:widget": "radio"},
        "dissatisfaction_reason": textarea(3, "如实记录当事人的原话和理由。"),
        "revisit_note": textarea(2),
    }
    return s, ui


def dissatisfaction_review() -> tuple[Json, Json]:
    s = schema(
        "dissatisfaction_review",
        "不满意件研判",
        "因承办单位办理不到位造成不满意的,重新办理;已依法依规办理但当事人仍不满意的,"
        "说明情况后办结,不计入满意率考核。",
        {
            "dissatisfaction_decision": coded(
                "研判结论",
                [
                    ("reopen", "承办单位办理不到位:重新办理"),
                    ("close_excluded", "已依法办理:说明后办结"),
                ],
            ),
            "dissatisfaction_note": text("研判意见", 4000, 5),
            "exclusion_basis": coded("不计入考核依据", EXCLUSION_BASIS),
        },
        ["dissatisfaction_decision", "dissatisfaction_note"],
        [when("dissatisfaction_decision", "close_excluded", ["exclusion_basis"])],
    )
    ui = {
        "ui:order": ["dissatisfaction_decision", "exclusion_basis", "dissatisfaction_note"],
        "dissatisfaction_decision": {
            "ui:widget": "radio",
            "ui:help": "第二次重新办理起自动上提一级办理。",
        },
        "exclusion_basis": {"ui:widget": "radio"},
        "dissatisfaction_note": textarea(4),
    }
    return s, ui


def approval(kind: str, label: str, max_days: int, help_text: str) -> tuple[Json, Json]:
    s = schema(
        f"{kind}_approval",
        f"{label}审批",
        help_text,
        {
            f"{kind}_approved": boolean(f"同意{label}"),
            f"{kind}_days": {
                "type": "integer",
                "title": f"{label}天数",
                "minimum": 1,
                "maximum": max_days,
            },
            f"{kind}_reason": text("审批意见", 2000, 2),
        },
        [f"{kind}_approved", f"{kind}_reason"],
        [when(f"{kind}_approved", True, [f"{kind}_days"])],
    )
    ui = {
        "ui:order": [f"{kind}_approved", f"{kind}_days", f"{kind}_reason"],
        f"{kind}_approved": {"ui:widget": "radio"},
        f"{kind}_days": help_("按自然日计;申请内容见案件的申请记录。"),
        f"{kind}_reason": textarea(3),
    }
    return s, ui


FORMS_BUILDERS = {
    "report": report,
    "screen": screen,
    "inform_party": inform_party,
    "leader_stabilize": leader_stabilize,
    "leader_plan": leader_plan,
    "dispatch": dispatch,
    "sign": sign,
    "return_review": return_review,
    "first_contact": first_contact,
    "handle": handle,
    "whistle_summon": whistle_summon,
    "whistle_report_in": whistle_report_in,
    "mediation": mediation,
    "judicial_confirmation": judicial_confirmation,
    "feedback": feedback,
    "review_result": review_result,
    "revisit": revisit,
    "dissatisfaction_review": dissatisfaction_review,
    "extension_approval": lambda: approval(
        "extension",
        "延期",
        60,
        "承办单位在办理时限届满前申请延期;同意的,新时限告知当事人。延期以一次为限,"
        "延长时间一般不超过原时限。",
    ),
    "hang_approval": lambda: approval(
        "hang",
        "挂账",
        365,
        "因客观条件暂不具备办理条件的,经审批挂账,计时暂停,定期复查;挂账事项进入问题库。",
    ),
}


CJK = "\u3000-\u9fff\uff00-\uffef"
ZH_PUNCT = {",": "，", ";": "；", ":": "："}


def zh(text_: str) -> str:
    """Full-width punctuation next to Chinese characters (what caseworkers read)."""
    return re.sub(
        f"(?<=[{CJK}])([,;:])|([,;:])(?=[{CJK}])",
        lambda m: ZH_PUNCT[m.group(1) or m.group(2)],
        text_,
    )


def localise(value: Any) -> Any:
    if isinstance(value, str):
        return zh(value)
    if isinstance(value, list):
        return [localise(v) for v in value]
    if isinstance(value, dict):
        return {k: localise(v) for k, v in value.items()}
    return value


def write(path: Path, doc: Json) -> None:
    text_ = json.dumps(localise(doc), ensure_ascii=False, indent=2)
    path.write_text(text_ + "\n", encoding="utf-8")


def build() -> list[str]:
    FORMS.mkdir(exist_ok=True)
    written = []
    for name, builder in FORMS_BUILDERS.items():
        s, ui = builder()
        write(FORMS / f"{name}.schema.json", s)
        write(FORMS / f"{name}.uischema.json", ui)
        written += [f"{name}.schema.json", f"{name}.uischema.json"]
    return written


if __name__ == "__main__":
    for name in build():
        print(name)
