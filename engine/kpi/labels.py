"""Chinese labels of the domain vocabulary (states, tiers, severities, fields, ladder rungs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.clock import CHINA

STATUS = {
    "DRAFT": "草稿",
    "REPORTED": "已上报",
    "SCREENING": "甄别中",
    "INVALID": "不予受理",
    "MERGED": "已合并",
    "DIVERTED": "已分流",
    "REGISTERED": "已立案",
    "DISPATCHED": "已交办",
    "SIGNED": "已签收",
    "RETURN_REQUESTED": "退单审核中",
    "IN_PROGRESS": "处置中",
    "SUSPENDED": "挂起",
    "FEEDBACK": "已反馈",
    "VERIFYING": "核查中",
    "REVISIT": "回访中",
    "CLOSED": "已办结",
    "CANCELLED": "已撤销",
}
TIER = {"grid": "网格", "village": "村(社区)", "township": "乡镇(街道)", "county": "县(区)"}
SEVERITY = {"red": "红", "orange": "橙", "yellow": "黄", "blue": "蓝", "green": "绿"}
LADDER = {-1: "无", 0: "提示", 1: "警示", 2: "通报", 3: "约谈", 4: "督查"}
RUNG = {
    "prompt": "提示",
    "warning": "警示",
    "circular": "通报",
    "interview": "约谈",
    "inspection": "督查",
}
FIELD = {
    "status": "状态",
    "tier": "办理层级",
    "severity": "风险等级",
    "category": "类别",
    "org_id": "发生地",
    "owner_org": "责任主体",
    "handling_unit": "承办单位",
    "case_leader": "包案领导",
    "due_at": "办理时限",
    "reopen_count": "重办次数",
    "escalation_count": "上报次数",
    "ladder_level": "督办等级",
    "resolved_tier": "化解层级",
    "satisfaction": "满意度",
    "eval_excluded": "不计入满意率",
    "closed_at": "办结时间",
}
SATISFACTION = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def value_label(field: str, value: Any) -> str:
    """A field's value as shown to people: ``tier="village"`` → ``村(社区)``."""
    if value is None or value == "":
        return "—"
    if field == "status":
        return STATUS.get(str(value), str(value))
    if field in ("tier", "resolved_tier"):
        return TIER.get(str(value), str(value))
    if field == "severity":
        return SEVERITY.get(str(value), str(value))
    if field == "ladder_level" and isinstance(value, int):
        return LADDER.get(value, str(value))
    if field == "satisfaction" and isinstance(value, int):
        return SATISFACTION.get(value, str(value))
    if field in ("due_at", "closed_at"):
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return str(value)
        return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return "是" if value else "否"
    return str(value)
