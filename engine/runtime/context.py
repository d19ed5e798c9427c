"""The context of one command: what listeners (deadlines, ladder, notifications) may touch.

Hooks into a command's transaction are one mechanism: a :class:`TaskListener` installed on the
engine, called with the :class:`CommandContext`, which carries all a hook needs (the session,
the clock's now, the actor, the rows, and who fires the timers). Two things are not hooks: the
KPI facts advance with every append to the audit record, in or outside a command (an invariant
of the record, ``AuditLog.flush`` → ``engine.kpi.store.advance``), and the engine clock reaches
SpiffWorkflow's timer code through the seam (``engine.spiff.engine_time``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.audit import Actor, AuditLog
from engine.storage.models import Case, ChangeEvent, Definition, HumanTask, Instance


@dataclass
class CommandContext:
    session: Session
    now: datetime
    actor: Actor
    instance: Instance
    definition: Definition
    case: Case
    audit: AuditLog
    data: dict[str, Any] = field(default_factory=dict)
    case_before: dict[str, Any] = field(default_factory=dict)
    opened: list[HumanTask] = field(default_factory=list)
    closed: list[tuple[HumanTask, str]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    #: Set by ``sync_waits`` when BPMN timers left the waiting set in this command (fired or
    #: cancelled): only then can a timer's firing proof be missing (``FiringRecorder``).
    timers_ended: bool = False
    #: The scheduler process firing this command's timers (``fire_due_timers(fired_by=…)``):
    #: the firing proofs name it.
    fired_by: str | None = None

    def change(self, kind: str, payload: dict[str, Any], task: HumanTask | None = None) -> None:
        """Queue a change for the event stream; written by :meth:`flush_changes`."""
        self.changes.append(
            {
                "at": self.now,
                "kind": kind,
                "case_no": self.case.case_no,
                "org_path": self.case.org_path,
                "candidate_org": task.candidate_org if task else None,
                "candidate_role": task.candidate_role if task else None,
                "assignee": task.assignee if task else None,
                "payload": payload,
            }
        )

    def flush_changes(self) -> None:
        if self.changes:
            # Core insert on the table: one executemany (the ORM bulk path splits the rows by
            # which columns are None, one statement per shape).
            self.session.execute(insert(ChangeEvent.metadata.tables["change_events"]), self.changes)
            self.changes = []


class TaskListener(Protocol):
    """Hooks for deadline policy, the supervision ladder and notifications.

    Called inside the command's transaction, after the workflow stepped and the projection was
    updated; whatever they write commits or rolls back with the command.
    """

    def task_opened(
        self, ctx: CommandContext, task: HumanTask, properties: dict[str, str]
    ) -> None: ...

    def task_closed(self, ctx: CommandContext, task: HumanTask, outcome: str) -> None: ...

    def case_changed(self, ctx: CommandContext) -> None: ...
