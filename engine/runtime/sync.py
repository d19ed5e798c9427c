"""Extract the projections from a stepped workflow: human tasks, due timers, message waits.

The instance row remembers what the projections hold (``open_tasks``: spiff task id → human task
id; ``waits``: timer keys and message names), so a command writes only what changed and reads
nothing it does not need.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, update

from engine.audit import SYSTEM
from engine.clock import as_utc
from engine.runtime.candidates import CandidateResolver
from engine.runtime.context import CommandContext, TaskListener
from engine.spiff import Workflow
from engine.storage.models import DueItem, HumanTask, MessageWait
from engine.vocabulary import OPEN_TASK_STATES, InstanceStatus, TaskState


def task_payload(task: HumanTask) -> dict[str, Any]:
    return {
        "task_id": task.id,
        "case_no": task.case_no,
        "element_id": task.element_id,
        "name": task.name,
        "state": task.state,
        "assignee": task.assignee,
        "candidate_org": task.candidate_org,
        "candidate_role": task.candidate_role,
    }


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


def sync_tasks(
    ctx: CommandContext,
    wf: Workflow,
    resolver: CandidateResolver,
    listeners: list[TaskListener],
) -> None:
    s, inst = ctx.session, ctx.instance
    held: dict[str, str] = dict(inst.open_tasks or {})
    for row, _ in ctx.closed:
        held.pop(row.spiff_task_id, None)
    running = inst.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
    ready = {t.spiff_id: t for t in wf.ready_user_tasks()} if running else {}
    gone = [task_id for spiff_id, task_id in held.items() if spiff_id not in ready]
    for task_id in gone:
        withdrawn = s.get(HumanTask, task_id)
        if withdrawn is None or withdrawn.state not in OPEN_TASK_STATES:
            continue
        withdrawn.state, withdrawn.completed_at = TaskState.CANCELLED.value, ctx.now
        ctx.audit.add("task_withdrawn", SYSTEM, task_id=withdrawn.id,
                      element_id=withdrawn.element_id, element_name=withdrawn.name)  # fmt: skip
        ctx.closed.append((withdrawn, TaskState.CANCELLED.value))
    held = {k: v for k, v in held.items() if k in ready}
    for row, outcome in ctx.closed:
        ctx.change("task", task_payload(row), row)
        for listener in listeners:
            listener.task_closed(ctx, row, outcome)
    status_from_task: str | None = None
    for spiff_id, ready_task in ready.items():
        if spiff_id in held:
            continue
        props = ready_task.properties
        who = resolver.resolve(
            lane=ready_task.lane,
            element_id=ready_task.element_id,
            properties=props,
            data=ready_task.data,
        )
        row = HumanTask(
            id=str(uuid.uuid4()),
            instance_id=inst.id,
            case_no=ctx.case.case_no,
            spiff_task_id=spiff_id,
            element_id=ready_task.element_id,
            name=ready_task.name,
            lane=ready_task.lane,
            candidate_org=who.org_id,
            candidate_role=who.role,
            assignee=who.assignee,
            state=(TaskState.CLAIMED if who.assignee else TaskState.OPEN).value,
            created_at=ctx.now,
            claimed_at=ctx.now if who.assignee else None,
            priority=_int(props.get("priority"), 50),
            form_ref=props.get("formJsonSchemaFilename"),
            ui_form_ref=props.get("formUiSchemaFilename"),
            late=False,
        )
        s.add(row)
        if row.candidate_org and props.get("caseStatus"):
            # who holds the case now: main-path tasks (with a case status), not side approvals
            ctx.case.owner_org = row.candidate_org
        held[spiff_id] = row.id
        ctx.opened.append(row)
        if props.get("caseStatus"):
            status_from_task = props["caseStatus"]
        for listener in listeners:
            listener.task_opened(ctx, row, props)
        ctx.audit.add("task_created", SYSTEM, task_id=row.id, element_id=row.element_id,
                      element_name=row.name, candidate_org=row.candidate_org,
                      candidate_role=row.candidate_role, assignee=row.assignee,
                      due_at=row.due_at.isoformat() if row.due_at else None)  # fmt: skip
        ctx.change("task", task_payload(row), row)
    if held != (inst.open_tasks or {}):
        inst.open_tasks = held
    if inst.status == InstanceStatus.RUNNING:
        if status_from_task:
            ctx.case.status = status_from_task
        elif ctx.data.get("case_status") and not ready:
            ctx.case.status = str(ctx.data["case_status"])


def sync_waits(ctx: CommandContext, wf: Workflow) -> None:
    s, inst = ctx.session, ctx.instance
    live = inst.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED)
    timers, messages = wf.waiting() if live else ([], [])
    wanted = {f"timer:{inst.id}:{t.spiff_id}:{t.due_at}": t for t in timers}
    names = sorted({m.name for m in messages})
    waits = dict(inst.waits or {})
    had_timers: list[str] = list(waits.get("timers", []))
    had_names: list[str] = list(waits.get("messages", []))
    if sorted(wanted) != sorted(had_timers):
        ended = [k for k in had_timers if k not in wanted]
        if ended:
            ctx.timers_ended = True
            # Due by now: it fired (or was overtaken by its firing); else it was cancelled.
            pending = (DueItem.dedupe_key.in_(ended), DueItem.state == "pending")
            s.execute(
                update(DueItem)
                .where(*pending, DueItem.due_at <= ctx.now)
                .values(state="done", fired_at=ctx.now)
            )
            s.execute(
                update(DueItem).where(*pending, DueItem.due_at > ctx.now).values(state="cancelled")
            )
        for key, timer in wanted.items():
            if key in had_timers:
                continue
            s.add(
                DueItem(
                    kind="bpmn_timer",
                    dedupe_key=key,
                    instance_id=inst.id,
                    case_no=ctx.case.case_no,
                    due_at=as_utc(datetime.fromisoformat(timer.due_at)),
                    state="pending",
                    attempts=0,
                    payload={
                        "element_id": timer.element_id,
                        "interrupting": timer.interrupting,
                        "attached_to": timer.attached_to,
                    },
                    created_at=ctx.now,
                )
            )
        waits["timers"] = sorted(wanted)
    if names != had_names:
        s.execute(delete(MessageWait).where(MessageWait.instance_id == inst.id))
        if names:
            s.execute(
                insert(MessageWait.metadata.tables["message_waits"]),
                [
                    {"instance_id": inst.id, "message_name": n, "correlation_key": ctx.case.case_no}
                    for n in names
                ],
            )
        waits["messages"] = names
    if waits != (inst.waits or {}):
        inst.waits = waits
