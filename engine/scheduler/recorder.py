"""Firing proofs for BPMN timers, written inside the engine's own command transaction.

``Engine.fire_due_timers`` runs its command in a transaction of its own, so the scheduler cannot
insert the ``firings`` row itself without a window between the effect and its proof. Instead this
listener, installed on the engine, runs at the end of every command (``case_changed``) under the
instance lock: each ``bpmn_timer`` due item of the instance that ``_sync_waits`` just moved to
``done`` (the timer left the waiting set at or after its due time) and that has no proof yet gets
its ``firings`` row in the same transaction. A duplicate key aborts the whole command
(:class:`AlreadyFired`), so a timer's effect and its proof commit together or not at all —
whether the scheduler fired it or a late submission did (the deadline race).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from engine.clock import as_utc
from engine.runtime import CommandContext, TaskListener
from engine.storage.models import DueItem, Firing, HumanTask


class AlreadyFired(Exception):
    """A firing with this key is already recorded: the command must not take effect again."""

    def __init__(self, dedupe_key: str) -> None:
        super().__init__(f"already fired: {dedupe_key}")
        self.dedupe_key = dedupe_key


class FiringRecorder:
    """A :class:`~engine.runtime.context.TaskListener` that records BPMN timer firings."""

    def __init__(self, fired_by: str = "engine") -> None:
        self.fired_by = fired_by

    def task_opened(self, ctx: CommandContext, task: HumanTask, properties: dict[str, str]) -> None:
        return None

    def task_closed(self, ctx: CommandContext, task: HumanTask, outcome: str) -> None:
        return None

    def case_changed(self, ctx: CommandContext) -> None:
        if not ctx.timers_ended:
            return  # no timer left the waiting set in this command: nothing can need a proof
        s = ctx.session
        fired = list(
            s.scalars(
                select(DueItem)
                .outerjoin(Firing, Firing.dedupe_key == DueItem.dedupe_key)
                .where(
                    DueItem.instance_id == ctx.instance.id,
                    DueItem.kind == "bpmn_timer",
                    DueItem.state == "done",
                    Firing.dedupe_key.is_(None),
                )
            )
        )
        for item in fired:
            try:
                with s.begin_nested():
                    s.add(
                        Firing(
                            dedupe_key=item.dedupe_key,
                            fired_at=ctx.now,
                            fired_by=_who(ctx, self.fired_by),
                            due_at=as_utc(item.due_at),
                        )
                    )
            except IntegrityError:
                raise AlreadyFired(item.dedupe_key) from None
            item.fired_at = item.fired_at or ctx.now
            item.lease_owner, item.lease_until = None, None


def _who(ctx: CommandContext, default: str) -> str:
    return ctx.fired_by or ctx.actor.user_id or default


def install(
    listeners: list[TaskListener], recorder: FiringRecorder | None = None
) -> FiringRecorder:
    """Add a recorder to an engine's listener list unless one is there; return the one in use."""
    for listener in listeners:
        if isinstance(listener, FiringRecorder):
            return listener
    chosen = recorder or FiringRecorder()
    listeners.append(chosen)
    return chosen
