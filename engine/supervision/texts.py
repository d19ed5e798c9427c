"""Notification texts (Chinese first, as they go to caseworkers and parties)."""

from __future__ import annotations

from datetime import datetime

from engine.clock import in_china
from engine.workdays.ladder import CHINESE

RUNG_TITLES = {
    "prompt": "【提示】案件 {case_no} 办理时限已过 {pct}",
    "warning": "【警示·催办通知书】案件 {case_no} 已超期",
    "circular": "【通报】案件 {case_no} 超期未办结",
    "interview": "【约谈】案件 {case_no} 承办单位负责人约谈通知",
    "inspection": "【督查】案件 {case_no} 挂牌督查",
}
RUNG_BODIES = {
    "prompt": "「{title}」{what}应于 {due} 前完成（{rule}），请抓紧办理。",
    "warning": "「{title}」{what}已于 {due} 到期（{rule}），现发出催办通知书，请立即办理并书面说明"
    "超期原因。抄送分管领导。",
    "circular": "「{title}」{what}于 {due} 到期，催办后仍未办结，予以书面通报批评。",
    "interview": "「{title}」{what}于 {due} 到期仍未办结，请承办单位负责人按通知接受约谈。",
    "inspection": "「{title}」{what}约谈后仍未改进，列入挂牌督查，将开展实地督查并移送问责。",
}


def when(value: datetime) -> str:
    return in_china(value).strftime("%Y-%m-%d %H:%M")


def rung_kind(name: str) -> str:
    return name.split("_", 1)[0]


def rung_label(name: str) -> str:
    return CHINESE[rung_kind(name)]


def rung_title(name: str, case_no: str) -> str:
    kind = rung_kind(name)
    pct = name.split("_", 1)[1] + "%" if kind == "prompt" and "_" in name else ""
    return RUNG_TITLES[kind].format(case_no=case_no, pct=pct)


def rung_body(name: str, *, title: str, what: str, due: datetime, rule: str) -> str:
    return RUNG_BODIES[rung_kind(name)].format(
        title=title or "-", what=what, due=when(due), rule=rule
    )


def extension_notice(case_no: str, due: datetime, reason: str) -> tuple[str, str]:
    return (
        f"【延期告知】您的诉求（{case_no}）办理期限已延长",
        f"经审批，您的诉求（{case_no}）办理期限延长至 {when(due)}。"
        f"延期理由：{reason or '未填写'}。",
    )


def extension_refused(case_no: str, message: str) -> tuple[str, str]:
    return f"【延期未获准】案件 {case_no} 延期申请不予批准", message


def escalation_notice(case_no: str, old: str, new: str, reason: str) -> tuple[str, str]:
    return (
        f"【升级】案件 {case_no} 已由 {TIERS.get(old, old)} 升级至 {TIERS.get(new, new)}",
        f"案件 {case_no} 升级办理：{reason}。",
    )


TIERS = {"grid": "网格", "village": "村(社区)", "township": "乡镇(街道)", "county": "县级"}
