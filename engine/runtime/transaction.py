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
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.exc import StaleDataError

from engine.audit import SYSTEM, Actor, AuditLog
from engine.budget import ModelBudget
from engine.clock import Clock
from engine.errors import InstanceNotActive, NotFound, StaleVersion, TaskNotOpen
from engine.runtime import definitions as defs
from engine.runtime.cache import WorkflowCache, approx_bytes
from engine.runtime.candidates import CandidateResolver
from engine.runtime.context import CommandContext, TaskListener
from engine.runtime.diagram import pack_element_states
from engine.runtime.projection import case_changes, case_snapshot, project_case
from engine.runtime.sync import sync_tasks, sync_waits, task_payload
from engine.spiff import SandboxScriptEngine, Workflow, engine_time, metered
from engine.storage.database import Database
from engine.storage.models import Case, Definition, HumanTask, Instance, OrgUnit
from engine.vocabulary import FINISHED_STATUSES, OPEN_TASK_STATES, InstanceStatus, TaskState

OPEN_STATES = OPEN_TASK_STATES
FINISHED = FINISHED_STATUSES

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


class Transaction:
    """What every command shares: lock the instance, load its workflow, apply, step, extract
    the projections, audit, save. :class:`~engine.runtime.commands.Engine` sets the parts."""

    db: Database
    clock: Clock
    resolver: CandidateResolver
    listeners: list[TaskListener]
    script_engine: SandboxScriptEngine
    budget: ModelBudget
    cache: defs.DefinitionCache
    workflows: WorkflowCache
    _definitions: dict[int, Definition]
    _org_paths: dict[str, tuple[str, float]]

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
        statuses: tuple[str, ...] = (InstanceStatus.RUNNING,),
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
                with engine_time(lambda: now), metered(self.budget):
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
        not kept: no command loads it again (they refuse a completed or cancelled instance).
        Inside a request's joined transaction, only once that commits (a rolled-back version
        must not be taken for the next one committed)."""
        if instance.status in (InstanceStatus.RUNNING, InstanceStatus.SUSPENDED):
            version, size = instance.version, approx_bytes(instance.state)
            self.db.after_commit(lambda: self.workflows.put(instance.id, version, wf, size))

    def _task_command(
        self,
        task_id: str,
        actor: Actor,
        apply: Callable[[CommandContext, HumanTask], None],
        *,
        open_only: bool = True,
        statuses: tuple[str, ...] = (InstanceStatus.RUNNING,),
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
            done = "办结" if task.state == TaskState.COMPLETED else "撤销"
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
        if step and inst.status == InstanceStatus.RUNNING:
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
        if wf.completed and inst.status == InstanceStatus.RUNNING:
            inst.status, inst.ended_at = InstanceStatus.COMPLETED.value, ctx.now
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
        if inst.status == InstanceStatus.COMPLETED:
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
