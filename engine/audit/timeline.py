"""A case's timeline in Chinese, and the diagram state of each element, from its audit events.

Each step says who (actor, role, organisation), when, the task's due time and whether it was
done on time, what data changed (before → after, with Chinese field labels), comments, ladder
rungs (督办) and tier escalations (上报). ``elements`` gives, per BPMN element id, the state an
overlay paints: ``active`` (a task is open), ``completed``, ``withdrawn`` or ``fired`` (timer),
with the number of visits and whether any visit was late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import CHINA, as_utc
from engine.kpi.labels import FIELD, LADDER, RUNG, TIER, value_label
from engine.storage.models import AuditEvent
from engine.vocabulary import SUMMARY_EVENT, TIER_RANK

ElementStatus = Literal["active", "completed", "withdrawn", "fired"]

TITLES = {
    "instance_started": "案件登记，流程启动",
    "task_created": "生成待办：{name}",
    "task_claimed": "领取任务：{name}",
    "task_unclaimed": "退回任务池：{name}",
    "task_assigned": "转派任务：{name}",
    "task_completed": "办理完成：{name}",
    "task_withdrawn": "任务撤销：{name}",
    "comment_added": "填写意见：{name}",
    "message_delivered": "收到消息：{message}",
    "timer_fired": "时限到达：{name}",
    "submission_refused": "超时提交未被采纳：{name}",
    "instance_suspended": "案件挂起",
    "instance_resumed": "恢复办理",
    "instance_cancelled": "案件撤销",
    "instance_completed": "流程结束",
    "case_updated": "案件信息变更",
    "deadline_set": "设定办理时限",
    "deadline_recomputed": "办理时限重新计算",
    "deadline_reworked": "返工后重新计时",
    "deadline_kept_on_rework": "返工沿用原时限",
    "deadline_suspended": "时限暂停计时",
    "deadline_resumed": "时限恢复计时",
    "extension_granted": "延期获批",
    "extension_denied": "延期未获批准",
    "extension_refused": "延期申请被拒收",
    "tier_escalated": "办理层级上报",
    "escalation_not_possible": "无法继续上报",
    "reopen_outside_window": "超出重办期限",
    SUMMARY_EVENT: "历史明细已按保留期清理（保留签名摘要）",
    "audit_purged": "保留期清理",
}


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    before: Any
    after: Any

    def text(self) -> str:
        return (
            f"{self.label}：{value_label(self.field, self.before)} → "
            f"{value_label(self.field, self.after)}"
        )


@dataclass(frozen=True)
class TimelineStep:
    seq: int
    at: datetime
    event_type: str
    title: str
    actor: str | None
    actor_role: str | None
    org: str | None
    element_id: str | None
    element_name: str | None
    task_id: str | None
    due_at: datetime | None
    on_time: bool | None  # None: no due time applies
    changes: tuple[FieldChange, ...]
    comment: str | None
    reason: str | None
    ladder: str | None  # the 督办 rung reached, e.g. "警示"
    escalation: str | None  # e.g. "村(社区) → 乡镇(街道)"


@dataclass(frozen=True)
class ElementState:
    element_id: str
    name: str | None
    status: ElementStatus
    visits: int
    last_at: datetime
    late: bool


@dataclass(frozen=True)
class Timeline:
    case_no: str
    purged: bool  # part of the history was replaced by a retention summary
    steps: tuple[TimelineStep, ...]
    elements: dict[str, ElementState]


_ORDER = {name: i for i, name in enumerate(FIELD)}


def _instant(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(str(value)))
    except ValueError:
        return None


def _changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[FieldChange]:
    before, after = before or {}, after or {}
    return [
        FieldChange(k, FIELD.get(k, k), before.get(k), after.get(k))
        for k in sorted(set(before) | set(after), key=lambda k: (_ORDER.get(k, len(_ORDER)), k))
    ]


def _step(e: AuditEvent) -> TimelineStep:
    details: dict[str, Any] = e.details or {}
    name = e.element_name or e.element_id or ""
    title = TITLES.get(e.event_type, e.event_type).format(
        name=name, message=details.get("message", "")
    )
    due = _instant(details.get("due_at"))
    on_time: bool | None = None
    if e.event_type == "task_completed" and "late" in details:
        on_time = not bool(details["late"])
    ladder = escalation = None
    changes = _changes(e.data_before, e.data_after)
    if e.event_type == "case_updated":
        after, before = e.data_after or {}, e.data_before or {}
        level = after.get("ladder_level")
        old_level = before.get("ladder_level")
        if isinstance(level, int) and level > (old_level if isinstance(old_level, int) else -1):
            ladder = LADDER.get(level)
        old, new = before.get("tier"), after.get("tier")
        if old in TIER_RANK and new in TIER_RANK and old != new:
            verb = "上报" if TIER_RANK[new] > TIER_RANK[old] else "下沉"
            escalation = f"{verb}：{TIER[old]} → {TIER[new]}"
        if "due_at" in after:
            due = _instant(after["due_at"])
        parts = [c.text() for c in changes if c.field in FIELD]
        if parts:
            title = "；".join(parts)
    elif e.event_type.startswith(("ladder", "supervision")):
        rung = str(details.get("rung") or "")
        ladder = str(details.get("label") or "") or RUNG.get(rung.split("_", 1)[0], rung) or None
        title = f"督办：{ladder}" if ladder else e.event_type
    elif e.event_type == "tier_escalated":
        old, new = details.get("tier_before"), details.get("tier_after")
        if old in TIER_RANK and new in TIER_RANK:
            escalation = f"上报：{TIER[old]} → {TIER[new]}"
    elif e.event_type.startswith("deadline_") and details.get("due_after"):
        due = _instant(details["due_after"])
    elif e.event_type == "task_assigned":
        title += f" → {details.get('assignee')}"
    return TimelineStep(
        seq=e.seq,
        at=as_utc(e.at),
        event_type=e.event_type,
        title=title,
        actor=e.actor_user,
        actor_role=e.actor_role,
        org=e.actor_org,
        element_id=e.element_id,
        element_name=e.element_name,
        task_id=e.task_id,
        due_at=due,
        on_time=on_time,
        changes=tuple(changes),
        comment=str(details["text"]) if e.event_type == "comment_added" else None,
        reason=e.reason,
        ladder=ladder,
        escalation=escalation,
    )


def diagram_state(events: Sequence[AuditEvent]) -> dict[str, ElementState]:
    """The state of each element as the events left it (for overlays on the process diagram)."""
    out: dict[str, ElementState] = {}
    for e in events:
        if not e.element_id:
            continue
        old = out.get(e.element_id)
        visits = old.visits if old else 0
        late = old.late if old else False
        status: ElementStatus | None = None
        if e.event_type == "task_created":
            status, visits = "active", visits + 1
        elif e.event_type == "task_completed":
            status = "completed"
            late = late or bool((e.details or {}).get("late"))
        elif e.event_type == "task_withdrawn":
            status = "withdrawn"
        elif e.event_type == "timer_fired":
            status, visits = "fired", visits + 1
        if status is not None:
            out[e.element_id] = ElementState(
                e.element_id, e.element_name, status, visits, as_utc(e.at), late
            )
    return out


def case_timeline(session: Session, case_no: str) -> Timeline:
    """The case's timeline, oldest step first (an empty one if the case has no events)."""
    events = list(
        session.scalars(
            select(AuditEvent).where(AuditEvent.case_no == case_no).order_by(AuditEvent.seq)
        )
    )
    return Timeline(
        case_no=case_no,
        steps=tuple(_step(e) for e in events),
        elements=diagram_state(events),
        purged=any(e.event_type == SUMMARY_EVENT for e in events),
    )


def _local(moment: datetime) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def render_text(timeline: Timeline, *, include_noise: bool = False) -> str:
    """The timeline as Chinese text lines (北京时间), for the CLI and plain reports."""
    noise = {"task_created", "task_claimed"} if not include_noise else set()
    lines = [f"案件 {timeline.case_no} 办理过程（北京时间）"]
    for step in timeline.steps:
        if step.event_type in noise:
            continue
        who = "，".join(x for x in (step.actor, step.actor_role, step.org) if x)
        line = f"{_local(step.at)}  {step.title}"
        if who:
            line += f"  〔{who}〕"
        if step.due_at is not None and step.event_type == "task_completed":
            mark = "按时" if step.on_time else "超时"
            line += f"  时限 {_local(step.due_at)}，{mark}"
        lines.append(line)
        extra = []
        if step.event_type != "case_updated":
            extra += [c.text() for c in step.changes]
        if step.comment:
            extra.append(f"意见：{step.comment}")
        if step.reason:
            extra.append(f"理由：{step.reason}")
        if step.ladder:
            extra.append(f"督办等级：{step.ladder}")
        if step.escalation:
            extra.append(step.escalation)
        lines += [f"    {x}" for x in extra]
    return "\n".join(lines)
