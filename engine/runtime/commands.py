"""The engine's commands: start, claim, complete, deliver a message, fire timers, …

Each runs as one transaction on one instance (engine/runtime/transaction.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import place
from engine.audit import SYSTEM, Actor
from engine.budget import DEFAULT_BUDGET, ModelBudget
from engine.clock import Clock, SystemClock, as_utc
from engine.errors import (
    Conflict,
    DeadlinePassed,
    InputInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    Problem,
    TaskAlreadyClaimed,
    TaskNotOpen,
)
from engine.jsondata import clean, clean_mapping
from engine.runtime import definitions as defs
from engine.runtime.cache import WorkflowCache
from engine.runtime.candidates import CandidateResolver, PropertyResolver
from engine.runtime.context import CommandContext, TaskListener
from engine.runtime.payloads import validate_message, validate_start
from engine.runtime.projection import project_case
from engine.runtime.references import check_case_references
from engine.runtime.transaction import Transaction
from engine.sandbox import Limits, Sandbox, make_helpers
from engine.spiff import (
    SERIALIZER_VERSION,
    SPIFF_VERSION,
    BundleFile,
    SandboxScriptEngine,
    Workflow,
    engine_time,
    metered,
)
from engine.storage.database import Database
from engine.storage.models import Case, Definition, HumanTask, Instance, MessageWait, TaskComment
from engine.vocabulary import InstanceStatus, TaskState


class Engine(Transaction):
    """Commands and the pieces they need. Build one per process; it is thread-safe."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Clock | None = None,
        resolver: CandidateResolver | None = None,
        listeners: Sequence[TaskListener] = (),
        limits: Limits | None = None,
        helpers: Mapping[str, Callable[..., Any]] | None = None,
        duplicate_radius_m: float = place.RADIUS_M,
        budget: ModelBudget | None = None,
    ) -> None:
        self.db = db
        self.duplicate_radius_m = duplicate_radius_m
        self.clock: Clock = clock or SystemClock()
        self.resolver: CandidateResolver = resolver or PropertyResolver()
        self.listeners: list[TaskListener] = list(listeners)
        all_helpers = {**make_helpers(self.clock.now), **(helpers or {})}
        self.sandbox = Sandbox(helpers=all_helpers, limits=limits)
        self.script_engine = SandboxScriptEngine(self.sandbox)
        self.budget = budget or DEFAULT_BUDGET
        self.cache = defs.DefinitionCache()
        self.workflows = WorkflowCache()
        self._definitions: dict[int, Definition] = {}
        self._org_paths: dict[str, tuple[str, float]] = {}
        #: messages only the engine sends (the supervision's ``tier_timeout``): refused from
        #: anyone but a system actor, whatever the caller (the API's policy refuses them too)
        self.engine_messages: set[str] = set()

    # ================================================================ definitions
    def validate(self, files: list[BundleFile]) -> list[Problem]:
        return defs.validate(files, self.sandbox, now=self.clock.now())

    def deploy(self, files: list[BundleFile], actor: Actor) -> list[defs.DefinitionVersion]:
        with self.db.session() as s:
            return defs.deploy(s, files, self.sandbox, actor=actor.user_id, now=self.clock.now())

    # ================================================================ instances
    def start(
        self,
        process_id: str,
        business_key: str,
        data: Mapping[str, Any],
        actor: Actor,
        *,
        version: int | None = None,
    ) -> Instance:
        if not business_key or len(business_key) > 100:
            raise InputInvalid("a case number (business key) of 1–100 characters is required")
        clean(business_key, "case_no")
        data = clean_mapping(data, "data")
        now = self.clock.now()
        with self.db.session(reading=True) as s:
            definition = (
                defs.get_version(s, process_id, version)
                if version is not None
                else defs.latest(s, process_id)
            )
            self._refuse_existing(s, business_key)
            validate_start(self.cache, s, definition, data)
            # 疑似重复: open cases this report may repeat, for the screener (甄别) to judge.
            duplicates = place.possible_duplicates(s, data, radius_m=self.duplicate_radius_m)
            restored = self.cache.spec(definition)
            s.expunge(definition)
        # Engine-owned fields join after validation: the number and who reported it.
        start_data = {**dict(data), "case_no": business_key, "reported_by": actor.user_id}
        if duplicates:
            start_data["possible_duplicates"] = duplicates
        with engine_time(lambda: now), metered(self.budget):
            # The new case's first steps run before the write transaction: a start that runs
            # away is stopped by its budget without ever holding the database's write lock.
            wf = Workflow.start(restored, start_data, self.script_engine)
            with self.db.session() as s:
                self._refuse_existing(s, business_key)  # reported meanwhile
                instance = self._record_start(
                    s, now, actor, definition, business_key, start_data, wf
                )
        self._keep(instance, wf)
        return instance

    @staticmethod
    def _refuse_existing(s: Session, business_key: str) -> None:
        if s.get(Case, business_key) is not None:
            raise Conflict(f"case {business_key} already exists", case_no=business_key)

    def _record_start(
        self,
        s: Session,
        now: datetime,
        actor: Actor,
        definition: Definition,
        business_key: str,
        start_data: dict[str, Any],
        wf: Workflow,
    ) -> Instance:
        instance = Instance(
            id=str(uuid.uuid4()),
            definition_id=definition.id,
            process_id=definition.process_id,
            business_key=business_key,
            status=InstanceStatus.RUNNING.value,
            state={},
            serializer_version=SERIALIZER_VERSION,
            spiff_version=SPIFF_VERSION,
            data={},
            created_at=now,
            updated_at=now,
        )
        s.add(instance)
        s.flush()
        case = Case(
            case_no=business_key,
            instance_id=instance.id,
            process_id=definition.process_id,
            status="REPORTED",
            reported_at=now,
            updated_at=now,
            org_path="/",
        )
        s.add(case)
        s.flush()
        ctx = self._context(s, now, actor, instance, definition, case)
        ctx.case_before = {}  # a new case: every tracked field is recorded as set
        project_case(case, start_data, now, lambda org: self._org_path(s, org))
        ctx.audit.org_path = case.org_path
        ctx.audit.add(
            "instance_started",
            actor,
            data_after=start_data,
            process_id=definition.process_id,
            version=definition.version,
        )
        self._finish(ctx, wf)
        return instance

    def suspend(self, instance_id: str, reason: str, actor: Actor) -> None:
        self._status_change(
            instance_id, InstanceStatus.SUSPENDED, (InstanceStatus.RUNNING,), reason, actor
        )

    def resume(self, instance_id: str, reason: str | None, actor: Actor) -> None:
        self._status_change(
            instance_id, InstanceStatus.RUNNING, (InstanceStatus.SUSPENDED,), reason, actor
        )

    def cancel(self, instance_id: str, reason: str, actor: Actor) -> None:
        self._status_change(
            instance_id,
            InstanceStatus.CANCELLED,
            (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED),
            reason,
            actor,
        )

    def _status_change(
        self,
        instance_id: str,
        to: InstanceStatus,
        allowed: tuple[str, ...],
        reason: str | None,
        actor: Actor,
    ) -> None:
        if to != InstanceStatus.RUNNING and not (reason or "").strip():
            raise InputInvalid("a reason is required")

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            inst = ctx.instance
            if inst.status not in allowed:
                raise InstanceNotActive(
                    f"the case is {inst.status}; cannot change it to {to}", status=inst.status
                )
            previous = inst.status
            inst.status = to.value
            inst.status_reason = reason
            if to == InstanceStatus.CANCELLED:
                wf.cancel()
                inst.ended_at = ctx.now
                ctx.case.status = "CANCELLED"
                ctx.case.closed_at = ctx.now
            elif to == InstanceStatus.SUSPENDED:
                ctx.case.fields = {**ctx.case.fields, "status_before_suspend": ctx.case.status}
                ctx.case.status = "SUSPENDED"
            else:
                ctx.case.status = ctx.case.fields.get("status_before_suspend", "IN_PROGRESS")
                wf.touch()  # run what came due while it was suspended
            event = {
                InstanceStatus.SUSPENDED: "instance_suspended",
                InstanceStatus.RUNNING: "instance_resumed",
            }.get(to, "instance_cancelled")
            ctx.audit.add(event, actor, reason=reason, previous_status=previous)

        self._command(
            instance_id=instance_id, actor=actor, apply=apply, statuses=allowed,
            step=to != InstanceStatus.SUSPENDED,
        )  # fmt: skip

    # ================================================================ human tasks
    def claim(self, task_id: str, actor: Actor) -> HumanTask:
        def apply(ctx: CommandContext, task: HumanTask) -> None:
            if task.state == TaskState.CLAIMED:
                if task.assignee == actor.user_id:
                    return
                raise TaskAlreadyClaimed(
                    f"任务已被 {task.assignee} 领取 (already claimed by {task.assignee})",
                    assignee=task.assignee,
                )
            if task.assignee and task.assignee != actor.user_id:
                raise TaskAlreadyClaimed(
                    f"任务已指派给 {task.assignee} (assigned to {task.assignee})"
                )
            task.state, task.assignee, task.claimed_at = (
                TaskState.CLAIMED.value,
                actor.user_id,
                ctx.now,
            )
            ctx.audit.add("task_claimed", actor, task_id=task.id, element_id=task.element_id,
                          element_name=task.name)  # fmt: skip

        return self._task_command(task_id, actor, apply)

    def unclaim(self, task_id: str, actor: Actor, *, force: bool = False) -> HumanTask:
        def apply(ctx: CommandContext, task: HumanTask) -> None:
            if task.state != TaskState.CLAIMED:
                raise TaskNotOpen("任务未被领取 (the task is not claimed)")
            if task.assignee != actor.user_id and not force:
                raise PermissionDenied("只能退回自己领取的任务 (only the assignee can unclaim)")
            previous = task.assignee
            task.state, task.assignee, task.claimed_at = TaskState.OPEN.value, None, None
            ctx.audit.add("task_unclaimed", actor, task_id=task.id, element_id=task.element_id,
                          element_name=task.name, previous_assignee=previous)  # fmt: skip

        return self._task_command(task_id, actor, apply)

    def assign(self, task_id: str, assignee: str, reason: str, actor: Actor) -> HumanTask:
        if not assignee:
            raise InputInvalid("assignee is required")
        if not (reason or "").strip():
            raise InputInvalid("转派必须说明理由 (a reason is required to assign or delegate)")

        def apply(ctx: CommandContext, task: HumanTask) -> None:
            previous = task.assignee
            task.assignee, task.state, task.claimed_at = assignee, TaskState.CLAIMED.value, ctx.now
            ctx.audit.add("task_assigned", actor, task_id=task.id, element_id=task.element_id,
                          element_name=task.name, reason=reason, previous_assignee=previous,
                          assignee=assignee)  # fmt: skip

        return self._task_command(task_id, actor, apply)

    def comment(self, task_id: str, text: str, actor: Actor) -> TaskComment:
        text = (text or "").strip()
        if not text:
            raise InputInvalid("评论内容不能为空 (the comment is empty)")
        if len(text) > 10_000:
            raise InputInvalid("评论过长 (at most 10,000 characters)")
        made: list[TaskComment] = []

        def apply(ctx: CommandContext, task: HumanTask) -> None:
            row = TaskComment(task_id=task.id, instance_id=task.instance_id, author=actor.user_id,
                              text=text, created_at=ctx.now)  # fmt: skip
            ctx.session.add(row)
            made.append(row)
            ctx.audit.add("comment_added", actor, task_id=task.id, element_id=task.element_id,
                          element_name=task.name, text=text)  # fmt: skip

        self._task_command(
            task_id,
            actor,
            apply,
            open_only=False,
            statuses=(InstanceStatus.RUNNING, InstanceStatus.SUSPENDED, InstanceStatus.COMPLETED),
        )
        return made[0]

    def complete(
        self,
        task_id: str,
        data: Mapping[str, Any],
        actor: Actor,
        *,
        expected_version: int | None = None,
    ) -> HumanTask:
        """Complete a claimed (or assigned) task with form data, validated on the server."""
        submitted = clean_mapping(data, "data")
        refused: list[DeadlinePassed] = []
        done: list[HumanTask] = []

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            row = self._task(ctx.session, task_id)
            self._check_open(row)
            if row.assignee != actor.user_id:
                raise PermissionDenied(
                    "请先领取任务 (claim the task before completing it)"
                    if row.assignee is None
                    else f"任务由 {row.assignee} 办理 (the task belongs to {row.assignee})"
                )
            if row.form_ref:
                validator = self.cache.form(ctx.session, ctx.definition.bundle_id, row.form_ref)
                if validator is not None:
                    validator.validate(submitted)
                    check_case_references(
                        ctx.session, row.form_ref, validator.schema, submitted, row.case_no
                    )
            elif submitted:  # a task without a form is a confirmation: it takes no data
                raise InputInvalid(
                    "此任务没有表单，办理时不提交数据"
                    " (the task has no form: complete it with no data)",
                    field=f"data.{next(iter(submitted))}",
                )
            if not wf.is_ready(row.spiff_task_id):
                raise TaskNotOpen("任务已不在待办状态 (the task is no longer open)")
            # The deadline race: fire what is due first, then see if the task survived.
            self._refresh_timers(ctx, wf, actor)
            if not wf.is_ready(row.spiff_task_id):
                ctx.audit.add("submission_refused", actor, task_id=row.id,
                              element_id=row.element_id, element_name=row.name,
                              data_after=submitted, reason="deadline_passed")  # fmt: skip
                refused.append(
                    DeadlinePassed(
                        "办理时限已过，案件已按超时路径处理，提交未被采纳 "
                        "(the deadline passed and the timer path was taken; the submission was "
                        "not accepted and is kept in the audit record)",
                        task_id=row.id,
                    )
                )
                return
            before = wf.task_data(row.spiff_task_id)
            late = row.due_at is not None and as_utc(row.due_at) < ctx.now
            wf.complete(row.spiff_task_id, submitted)
            row.state, row.completed_at, row.completed_by, row.late = (
                TaskState.COMPLETED.value, ctx.now, actor.user_id, late,
            )  # fmt: skip
            # The whole submission is recorded (a decision repeated from an earlier round is a
            # decision too); data_before holds what those fields were before.
            ctx.audit.add("task_completed", actor, task_id=row.id, element_id=row.element_id,
                          element_name=row.name, data_before={k: before.get(k) for k in submitted},
                          data_after=submitted,
                          late=late, due_at=row.due_at.isoformat() if row.due_at else None,
                          form=row.form_ref)  # fmt: skip
            ctx.closed.append((row, TaskState.COMPLETED.value))
            done.append(row)

        self._command(task_id=task_id, actor=actor, apply=apply, expected_version=expected_version)
        if refused:
            raise refused[0]
        return done[0]

    # ================================================================ events
    def deliver_message(
        self, name: str, correlation_key: str, payload: Mapping[str, Any], actor: Actor
    ) -> str:
        clean([name, correlation_key], "message")
        if name in self.engine_messages and not actor.is_system:
            raise PermissionDenied(
                f"消息 {name!r} 只能由系统发送 (the message {name!r} is sent only by the engine)"
            )
        payload = clean_mapping(payload, "payload")
        with self.db.session() as s:
            instance_id = s.scalar(
                select(MessageWait.instance_id)
                .where(
                    MessageWait.message_name == name, MessageWait.correlation_key == correlation_key
                )
                .limit(1)
            )
        if instance_id is None:
            raise NotFound(
                f"没有等待消息 {name!r} 的案件 {correlation_key} "
                f"(no case {correlation_key} is waiting for message {name!r})"
            )

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            validate_message(self.cache, ctx.session, ctx.definition, name, payload)
            wf.send_message(name, dict(payload))
            ctx.audit.add("message_delivered", actor, data_after=dict(payload), message=name)

        self._command(instance_id=instance_id, actor=actor, apply=apply)
        return instance_id

    def fire_due_timers(
        self, instance_id: str, actor: Actor = SYSTEM, *, fired_by: str | None = None
    ) -> bool:
        """Fire the instance's BPMN timers that are due now. Returns whether anything changed.
        ``fired_by`` names the scheduler process in the firing proofs (else the actor)."""
        fired: list[bool] = []

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            ctx.fired_by = fired_by
            fired.append(self._refresh_timers(ctx, wf, actor))

        self._command(instance_id=instance_id, actor=actor, apply=apply)
        return any(fired)

    @staticmethod
    def _refresh_timers(ctx: CommandContext, wf: Workflow, actor: Actor) -> bool:
        """Fire every due BPMN timer of the instance, auditing each one; True if any fired."""
        before = wf.waiting()[0]
        wf.refresh_timers()
        after = {(t.spiff_id, t.due_at) for t in wf.waiting()[0]}  # a cycle's next: a new due
        fired = False
        for timer in before:
            if (timer.spiff_id, timer.due_at) not in after:
                fired = True
                ctx.audit.add("timer_fired", actor, element_id=timer.element_id,
                              due_at=timer.due_at, interrupting=timer.interrupting,
                              attached_to=timer.attached_to)  # fmt: skip
        return fired
