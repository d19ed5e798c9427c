"""The engine: every command is one transaction on one instance.

    lock the instance row → load the workflow (spec from the cache, state from the row)
    → apply the command → step until it waits → extract the projections (human tasks, due
    timers, message waits, the case) → audit → save with a version check → commit

Two commands on one instance never interleave: PostgreSQL takes ``SELECT … FOR UPDATE`` on the
instance row, SQLite serialises writers with ``BEGIN IMMEDIATE``, and the ``version`` column is
checked on every save (an optimistic guard, and the client's ``expected_version``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from engine import definitions as defs
from engine.audit import SYSTEM, Actor, AuditLog
from engine.candidates import CandidateResolver, PropertyResolver
from engine.clock import Clock, SystemClock, as_utc
from engine.context import CommandContext, TaskListener
from engine.diagram import pack_element_states
from engine.errors import (
    Conflict,
    DeadlinePassed,
    InputInvalid,
    InstanceNotActive,
    NotFound,
    PermissionDenied,
    StaleVersion,
    TaskAlreadyClaimed,
    TaskNotOpen,
)
from engine.projection import case_changes, case_snapshot, project_case
from engine.spiff import (
    SERIALIZER_VERSION,
    SPIFF_VERSION,
    BundleFile,
    Limits,
    Sandbox,
    SandboxScriptEngine,
    Workflow,
    engine_time,
)
from engine.spiff.helpers import make_helpers
from engine.storage.database import Database
from engine.storage.models import (
    Case,
    Definition,
    HumanTask,
    Instance,
    MessageWait,
    OrgUnit,
    TaskComment,
)
from engine.sync import sync_tasks, sync_waits, task_payload
from engine.workflow_cache import WorkflowCache, approx_bytes

T = TypeVar("T")
OPEN_STATES = ("open", "claimed")
FINISHED = ("completed", "cancelled")

_LOCK = select(Instance).options(defer(Instance.state), defer(Instance.data))
_LOCK_BY_TASK = (
    _LOCK.join(HumanTask, HumanTask.instance_id == Instance.id)
    .where(HumanTask.id == bindparam("task_id"))
    .with_for_update(of=Instance)
)
_LOCK_BY_INSTANCE = _LOCK.where(Instance.id == bindparam("instance_id")).with_for_update(
    of=Instance
)
_CASE_AND_TASK = (
    select(Case, HumanTask)
    .join(HumanTask, HumanTask.case_no == Case.case_no)
    .where(Case.case_no == bindparam("case_no"), HumanTask.id == bindparam("task_id"))
    .execution_options(populate_existing=True)
)

# SQLite: BEGIN IMMEDIATE holds the database's write lock before the first read, so the rows
# are read once, joined, already locked and fresh (PostgreSQL needs the two steps above: a join
# read in the statement that takes the row lock would see the pre-lock snapshot).
_READ_BY_TASK = (
    select(Instance, Case, HumanTask)
    .join(HumanTask, HumanTask.instance_id == Instance.id)
    .join(Case, Case.case_no == Instance.business_key)
    .where(HumanTask.id == bindparam("task_id"))
    .options(defer(Instance.state), defer(Instance.data))
    .execution_options(populate_existing=True)
)
_READ_BY_INSTANCE = (
    select(Instance, Case)
    .join(Case, Case.case_no == Instance.business_key)
    .where(Instance.id == bindparam("instance_id"))
    .options(defer(Instance.state), defer(Instance.data))
    .execution_options(populate_existing=True)
)


class Engine:
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
    ) -> None:
        self.db = db
        self.clock: Clock = clock or SystemClock()
        self.resolver: CandidateResolver = resolver or PropertyResolver()
        self.listeners: list[TaskListener] = list(listeners)
        all_helpers = {**make_helpers(self.clock.now), **(helpers or {})}
        self.sandbox = Sandbox(helpers=all_helpers, limits=limits)
        self.script_engine = SandboxScriptEngine(self.sandbox)
        self.cache = defs.DefinitionCache()
        self.workflows = WorkflowCache()
        self._definitions: dict[int, Definition] = {}
        self._org_paths: dict[str, tuple[str, float]] = {}

    # ================================================================ definitions
    def validate(self, files: list[BundleFile]) -> None:
        defs.validate(files, self.sandbox)

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
        now = self.clock.now()
        with self.db.session() as s:
            definition = (
                defs.get_version(s, process_id, version)
                if version is not None
                else defs.latest(s, process_id)
            )
            if s.get(Case, business_key) is not None:
                raise Conflict(f"case {business_key} already exists", case_no=business_key)
            self._validate_start(s, definition, data)
            # Engine-owned fields join after validation: the number and who reported it.
            start_data = {**dict(data), "case_no": business_key, "reported_by": actor.user_id}
            restored = self.cache.spec(definition)
            with engine_time(lambda: now):
                wf = Workflow.start(restored, start_data, self.script_engine)
                instance = self._record_start(
                    s, now, actor, definition, business_key, start_data, wf
                )
        self._keep(instance, wf)
        return instance

    def _validate_start(self, s: Session, definition: Definition, data: Mapping[str, Any]) -> None:
        """A start event with a form (the report form) validates the start data like a task."""
        for element in (definition.elements or {}).values():
            if (
                element.get("type") != "startEvent"
                or element.get("process") != definition.process_id
                or not element.get("top_level")
            ):
                continue
            form = (element.get("properties") or {}).get("formJsonSchemaFilename")
            if form:
                validator = self.cache.form(s, definition.bundle_id, form)
                if validator is not None:
                    validator.validate(dict(data))

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
            status="running",
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
        self._status_change(instance_id, "suspended", ("running",), reason, actor)

    def resume(self, instance_id: str, reason: str | None, actor: Actor) -> None:
        self._status_change(instance_id, "running", ("suspended",), reason, actor)

    def cancel(self, instance_id: str, reason: str, actor: Actor) -> None:
        self._status_change(instance_id, "cancelled", ("running", "suspended"), reason, actor)

    def _status_change(
        self, instance_id: str, to: str, allowed: tuple[str, ...], reason: str | None, actor: Actor
    ) -> None:
        if to != "running" and not (reason or "").strip():
            raise InputInvalid("a reason is required")

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            inst = ctx.instance
            if inst.status not in allowed:
                raise InstanceNotActive(
                    f"the case is {inst.status}; cannot change it to {to}", status=inst.status
                )
            previous = inst.status
            inst.status = to
            inst.status_reason = reason
            if to == "cancelled":
                wf.cancel()
                inst.ended_at = ctx.now
                ctx.case.status = "CANCELLED"
                ctx.case.closed_at = ctx.now
            elif to == "suspended":
                ctx.case.fields = {**ctx.case.fields, "status_before_suspend": ctx.case.status}
                ctx.case.status = "SUSPENDED"
            else:
                ctx.case.status = ctx.case.fields.get("status_before_suspend", "IN_PROGRESS")
                wf.touch()  # run what came due while it was suspended
            event = {"suspended": "instance_suspended", "running": "instance_resumed"}.get(
                to, "instance_cancelled"
            )
            ctx.audit.add(event, actor, reason=reason, previous_status=previous)

        self._command(
            instance_id=instance_id, actor=actor, apply=apply, statuses=allowed,
            step=to != "suspended",
        )  # fmt: skip

    # ================================================================ human tasks
    def claim(self, task_id: str, actor: Actor) -> HumanTask:
        def apply(ctx: CommandContext, task: HumanTask) -> None:
            if task.state == "claimed":
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
            task.state, task.assignee, task.claimed_at = "claimed", actor.user_id, ctx.now
            ctx.audit.add("task_claimed", actor, task_id=task.id, element_id=task.element_id,
                          element_name=task.name)  # fmt: skip

        return self._task_command(task_id, actor, apply)

    def unclaim(self, task_id: str, actor: Actor, *, force: bool = False) -> HumanTask:
        def apply(ctx: CommandContext, task: HumanTask) -> None:
            if task.state != "claimed":
                raise TaskNotOpen("任务未被领取 (the task is not claimed)")
            if task.assignee != actor.user_id and not force:
                raise PermissionDenied("只能退回自己领取的任务 (only the assignee can unclaim)")
            previous = task.assignee
            task.state, task.assignee, task.claimed_at = "open", None, None
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
            task.assignee, task.state, task.claimed_at = assignee, "claimed", ctx.now
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
            task_id, actor, apply, open_only=False, statuses=("running", "suspended", "completed")
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
        submitted = dict(data)
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
                "completed", ctx.now, actor.user_id, late,
            )  # fmt: skip
            # The whole submission is recorded (a decision repeated from an earlier round is a
            # decision too); data_before holds what those fields were before.
            ctx.audit.add("task_completed", actor, task_id=row.id, element_id=row.element_id,
                          element_name=row.name, data_before={k: before.get(k) for k in submitted},
                          data_after=submitted,
                          late=late, due_at=row.due_at.isoformat() if row.due_at else None,
                          form=row.form_ref)  # fmt: skip
            ctx.closed.append((row, "completed"))
            done.append(row)

        self._command(task_id=task_id, actor=actor, apply=apply, expected_version=expected_version)
        if refused:
            raise refused[0]
        return done[0]

    # ================================================================ events
    def deliver_message(
        self, name: str, correlation_key: str, payload: Mapping[str, Any], actor: Actor
    ) -> str:
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
            wf.send_message(name, dict(payload))
            ctx.audit.add("message_delivered", actor, data_after=dict(payload), message=name)

        self._command(instance_id=instance_id, actor=actor, apply=apply)
        return instance_id

    def fire_due_timers(self, instance_id: str, actor: Actor = SYSTEM) -> bool:
        """Fire the instance's BPMN timers that are due now. Returns whether anything changed."""
        fired: list[bool] = []

        def apply(ctx: CommandContext, wf: Workflow) -> None:
            fired.append(self._refresh_timers(ctx, wf, actor))

        self._command(instance_id=instance_id, actor=actor, apply=apply)
        return any(fired)

    @staticmethod
    def _refresh_timers(ctx: CommandContext, wf: Workflow, actor: Actor) -> bool:
        """Fire every due BPMN timer of the instance, auditing each one; True if any fired."""
        before = wf.waiting()[0]
        wf.refresh_timers()
        after = {t.spiff_id for t in wf.waiting()[0]}
        fired = False
        for timer in before:
            if timer.spiff_id not in after:
                fired = True
                ctx.audit.add("timer_fired", actor, element_id=timer.element_id,
                              due_at=timer.due_at, interrupting=timer.interrupting,
                              attached_to=timer.attached_to)  # fmt: skip
        return fired

    # ================================================================ machinery
    def _context(
        self,
        s: Session,
        now: datetime,
        actor: Actor,
        instance: Instance,
        definition: Definition,
        case: Case,
    ) -> CommandContext:
        audit = AuditLog(s, case.case_no, instance.id, now, org_path=case.org_path, case=case)
        ctx = CommandContext(s, now, actor, instance, definition, case, audit)
        ctx.case_before = case_snapshot(case)
        return ctx

    def _lock(
        self, s: Session, instance_id: str | None, task_id: str | None
    ) -> tuple[Instance, Case, HumanTask | None]:
        """Lock the instance row, then read its case (and the task) fresh: two round trips on
        PostgreSQL, one joined read on SQLite (already locked by ``BEGIN IMMEDIATE``)."""
        # The state is loaded only when the workflow is not in the cache (see _load_workflow).
        # The statements are built once (module level) and take their ids as parameters.
        if self.db.is_sqlite:
            return self._read_locked(s, instance_id, task_id)
        if task_id is not None:
            instance = s.scalar(_LOCK_BY_TASK, {"task_id": task_id})
        else:
            instance = s.scalar(_LOCK_BY_INSTANCE, {"instance_id": instance_id})
        if instance is None:
            if task_id is not None:
                raise NotFound(f"没有任务 {task_id} (no task {task_id})")
            raise NotFound(f"no instance {instance_id}")
        if task_id is None:
            case = s.get(Case, instance.business_key)
            assert case is not None
            return instance, case, None
        row = s.execute(
            _CASE_AND_TASK, {"case_no": instance.business_key, "task_id": task_id}
        ).one()
        return instance, row[0], row[1]

    @staticmethod
    def _read_locked(
        s: Session, instance_id: str | None, task_id: str | None
    ) -> tuple[Instance, Case, HumanTask | None]:
        if task_id is not None:
            row = s.execute(_READ_BY_TASK, {"task_id": task_id}).first()
            if row is None:
                raise NotFound(f"没有任务 {task_id} (no task {task_id})")
            return row[0], row[1], row[2]
        found = s.execute(_READ_BY_INSTANCE, {"instance_id": instance_id}).first()
        if found is None:
            raise NotFound(f"no instance {instance_id}")
        return found[0], found[1], None

    def _definition(self, s: Session, definition_id: int) -> Definition:
        """Definitions never change once deployed: keep them (detached) in memory."""
        found = self._definitions.get(definition_id)
        if found is None:
            found = s.get(Definition, definition_id)
            if found is None:
                raise NotFound(f"no definition {definition_id}")
            s.expunge(found)
            self._definitions[definition_id] = found
        return found

    def _command(
        self,
        *,
        actor: Actor,
        apply: Callable[[CommandContext, Workflow], None],
        instance_id: str | None = None,
        task_id: str | None = None,
        statuses: tuple[str, ...] = ("running",),
        expected_version: int | None = None,
        step: bool = True,
    ) -> None:
        now = self.clock.now()
        saved: tuple[Instance, Workflow] | None = None
        try:
            with self.db.session() as s:
                instance, case, _task = self._lock(s, instance_id, task_id)
                if expected_version is not None and instance.version != expected_version:
                    raise StaleVersion(
                        f"the case changed (version {instance.version}, you had "
                        f"{expected_version}); reload and try again",
                        current_version=instance.version,
                    )
                if instance.status not in statuses:
                    raise InstanceNotActive(
                        f"案件当前状态为 {instance.status} (the case is {instance.status})",
                        status=instance.status,
                    )
                definition = self._definition(s, instance.definition_id)
                with engine_time(lambda: now):
                    wf = self.workflows.take(instance.id, instance.version)
                    if wf is None:
                        wf = Workflow.load(
                            self.cache.spec(definition),
                            instance.state,
                            instance.serializer_version,
                            self.script_engine,
                        )
                    ctx = self._context(s, now, actor, instance, definition, case)
                    apply(ctx, wf)
                    self._finish(ctx, wf, step=step)
                saved = (instance, wf)
        except StaleDataError:
            raise StaleVersion(
                "另一操作已修改该案件，请刷新后重试 (the case changed; retry)"
            ) from None
        if saved is not None:
            self._keep(*saved)

    def _keep(self, instance: Instance, wf: Workflow) -> None:
        """Keep a committed workflow for the instance's next command. A finished instance's is
        not kept: no command loads it again (they refuse a completed or cancelled instance)."""
        if instance.status in ("running", "suspended"):
            self.workflows.put(instance.id, instance.version, wf, approx_bytes(instance.state))

    def _task_command(
        self,
        task_id: str,
        actor: Actor,
        apply: Callable[[CommandContext, HumanTask], None],
        *,
        open_only: bool = True,
        statuses: tuple[str, ...] = ("running",),
    ) -> HumanTask:
        """A command on a task's projection only (claim, assign, comment): no workflow load."""
        now = self.clock.now()
        with self.db.session() as s:
            instance, case, task = self._lock(s, None, task_id)
            assert task is not None
            if instance.status not in statuses:
                raise InstanceNotActive(
                    f"案件当前状态为 {instance.status} (the case is {instance.status})",
                    status=instance.status,
                )
            if open_only:
                self._check_open(task)
            definition = self._definition(s, instance.definition_id)
            ctx = self._context(s, now, actor, instance, definition, case)
            apply(ctx, task)
            ctx.change("task", task_payload(task), task)
            ctx.audit.flush()
            ctx.flush_changes()
            s.flush()
            return task

    @staticmethod
    def _task(s: Session, task_id: str) -> HumanTask:
        task = s.get(HumanTask, task_id)  # in the identity map already: read fresh by _lock
        if task is None:
            raise NotFound(f"没有任务 {task_id} (no task {task_id})")
        return task

    @staticmethod
    def _check_open(task: HumanTask) -> None:
        if task.state not in OPEN_STATES:
            done = "办结" if task.state == "completed" else "撤销"
            raise TaskNotOpen(f"任务已{done} (the task is {task.state})", state=task.state)

    def _finish(self, ctx: CommandContext, wf: Workflow, *, step: bool = True) -> None:
        """Extract the projections from the workflow and save it."""
        s = ctx.session
        # No autoflush while the projections are extracted: the listeners' and sync_waits'
        # statements would flush the unit of work half-way, writing the instance (and its
        # version), the case and the tasks twice. One flush at the end writes each row once.
        with s.no_autoflush:
            self._project(ctx, wf, step=step)
        s.flush()

    def _project(self, ctx: CommandContext, wf: Workflow, *, step: bool) -> None:
        s, inst = ctx.session, ctx.instance
        if step and inst.status == "running":
            wf.step()
        data = wf.data
        ctx.data = data
        inst.data = data
        inst.updated_at = ctx.now
        if wf.compactions:
            inst.loop_compactions = (inst.loop_compactions or 0) + wf.compactions
            wf.compactions = 0
        # What the engine ran on its own goes into the command's last event (details.ran).
        ctx.audit.engine_ran([eid for eid, _name in wf.drain_transitions()])
        if wf.completed and inst.status == "running":
            inst.status, inst.ended_at = "completed", ctx.now
        if inst.status in FINISHED:
            # A finished instance never runs again (every command refuses it): keep what its
            # diagram overlay shows instead of its state.
            inst.element_states = pack_element_states(
                wf.element_states(), ctx.definition.elements or {}
            )
            inst.state = {}
        else:
            inst.state = wf.dump()
        project_case(ctx.case, data, ctx.now, lambda org: self._org_path(s, org))
        ctx.audit.org_path = ctx.case.org_path
        sync_tasks(ctx, wf, self.resolver, self.listeners)
        sync_waits(ctx, wf)
        if inst.status == "completed":
            ctx.case.status = str(data.get("case_status") or "CLOSED")
            ctx.case.closed_at = ctx.case.closed_at or ctx.now
            ctx.audit.add("instance_completed", SYSTEM, case_status=ctx.case.status)
        for listener in self.listeners:
            listener.case_changed(ctx)
        before, after = case_changes(ctx.case_before, case_snapshot(ctx.case))
        if after:
            # The domain record: status, tier, severity, deadline… as they change (KPIs read it).
            ctx.audit.add("case_updated", ctx.actor, data_before=before, data_after=after)
            ctx.change("case", {"case_no": ctx.case.case_no, **after})
        for row, _outcome in ctx.closed:
            # A closed task keeps who, when and how; the lane and the deadline's explanation
            # only served it while open (its audit events hold the rest).
            row.lane = row.due_rule = None
        ctx.audit.flush()
        ctx.flush_changes()

    def _org_path(self, s: Session, org_id: str) -> str:
        """The materialised path of an organisation unit (cached for a minute)."""
        now = time.monotonic()
        hit = self._org_paths.get(org_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        path = s.scalar(select(OrgUnit.path).where(OrgUnit.id == org_id))
        value = path or "/"
        self._org_paths[org_id] = (value, now + 60.0)
        return value
