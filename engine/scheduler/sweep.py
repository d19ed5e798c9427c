"""The sweep: claim what is due, fire each item in its own transaction, exactly once.

One sweep::

    repeat (at most ``max_batches`` times):
        claim ≤ batch_size rows  state='pending' AND due_at <= now
                                 AND (lease_until IS NULL OR lease_until < now)
             (ix_due_items_sweep; PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED; SQLite: the
              writer lock of BEGIN IMMEDIATE) and lease them: lease_owner = me,
              lease_until = now + lease_seconds (10 s by default, ≤ 60 s), renewed by a
              heartbeat while the sweep still holds them (:mod:`engine.scheduler.held`)
        for each claimed row, in its own transaction:
             lock the instance row (when the item belongs to one);
             UPDATE the item SET state = 'done' WHERE still pending AND still leased to me
                 (no row: skip it — done, cancelled or taken over);
             INSERT INTO firings (dedupe_key)   ← the primary key admits one firing per key
             run the handler; commit
        stop when a batch comes back short — unless the clock moved on while it fired
        (≥ ``recheck_after``): then what fell due meanwhile is claimed at once, not a poll
        interval later

Failures (the handler raised, the database refused): the transaction rolls back, then
``attempts + 1``, ``last_error`` and ``lease_until = now + backoff`` are written, so the row comes
back after the backoff; nothing is dropped. BPMN timers go through ``Engine.fire_due_timers``, whose
command writes the firing proof itself (see :mod:`engine.scheduler.recorder`).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine.audit import SCHEDULER, Actor
from engine.clock import Clock, SystemClock, as_utc
from engine.errors import InstanceNotActive, NotFound
from engine.runtime import TaskListener
from engine.scheduler.held import HeldLeases
from engine.scheduler.incidents import is_model_error, record_incident
from engine.scheduler.items import ClaimedItem
from engine.scheduler.recorder import AlreadyFired, install
from engine.storage.database import Database
from engine.storage.dialects import skip_locked
from engine.storage.models import DueItem, Firing, Instance

log = logging.getLogger("engine.scheduler")

#: The longest lease a claim may take (the issue's bound; a crashed claimer blocks ≤ this long).
MAX_LEASE_SECONDS = 60.0

Outcome = Literal["fired", "duplicate", "skipped", "deferred", "cancelled", "failed"]


class Handler(Protocol):
    """Runs one due item inside the firing transaction (after the ``firings`` insert).

    The instance row is already locked when the item has an ``instance_id``. Raise to fail the
    firing: the transaction rolls back and the item is retried after a backoff.
    """

    def __call__(self, session: Session, item: ClaimedItem, now: datetime) -> None: ...


class TimerEngine(Protocol):
    """What the sweep needs from :class:`engine.runtime.commands.Engine` (kept narrow for tests)."""

    listeners: list[TaskListener]

    def fire_due_timers(
        self, instance_id: str, actor: Actor = ..., *, fired_by: str | None = None
    ) -> bool: ...


@dataclass
class SweepStats:
    claimed: int = 0
    fired: int = 0
    duplicate: int = 0
    skipped: int = 0
    deferred: int = 0
    cancelled: int = 0
    failed: int = 0
    batches: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: Outcome) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


def default_owner() -> str:
    """``host:pid:random`` — unique per scheduler object, readable in ``lease_owner``."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def backoff(attempts: int, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    """Retry delay after the ``attempts``-th failure: 5 s, 10 s, 20 s … at most an hour."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class Scheduler:
    """Sweeps due items. Any number may run against one database; each firing happens once.

    ``sweep_once(now)`` does one sweep and returns its statistics: tests call it with a
    :class:`~engine.clock.ManualClock` and never sleep; :func:`engine.scheduler.run_scheduler`
    calls it every poll interval.
    """

    def __init__(
        self,
        db: Database,
        *,
        engine: TimerEngine | None = None,
        handlers: Mapping[str, Handler] | None = None,
        clock: Clock | None = None,
        owner: str | None = None,
        lease_seconds: float = MAX_LEASE_SECONDS,
        batch_size: int = 50,
        max_batches: int = 50,
        suspended_recheck: timedelta = timedelta(minutes=1),
        retry_base_seconds: float = 5.0,
        recheck_after: timedelta = timedelta(milliseconds=250),
    ) -> None:
        if not 0 < lease_seconds <= MAX_LEASE_SECONDS:
            raise ValueError(f"lease_seconds must be in (0, {MAX_LEASE_SECONDS:g}]")
        if batch_size < 1 or max_batches < 1:
            raise ValueError("batch_size and max_batches must be positive")
        self.db = db
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        self.owner = owner or default_owner()
        self.lease = timedelta(seconds=lease_seconds)
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.suspended_recheck = suspended_recheck
        self.retry_base_seconds = retry_base_seconds
        self.recheck_after = recheck_after
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.before_fire: Callable[[ClaimedItem], None] | None = None  # a test hook
        self.held = HeldLeases()
        if engine is not None:
            install(engine.listeners)

    def register(self, kind: str, handler: Handler) -> None:
        if kind == "bpmn_timer":
            raise ValueError("bpmn_timer items are fired by the engine")
        self.handlers[kind] = handler

    # ------------------------------------------------------------------ the sweep
    def sweep_once(self, now: datetime | None = None) -> SweepStats:
        stats = SweepStats()
        for _ in range(self.max_batches):
            at = as_utc(now) if now is not None else self.clock.now()
            items = self.claim(at)
            stats.batches += 1
            stats.claimed += len(items)
            for item in items:
                outcome = self.fire(item, at)
                stats.count(outcome)
            if len(items) < self.batch_size and (
                not items or now is not None or self.clock.now() - at < self.recheck_after
            ):
                break
        return stats

    def claim(self, now: datetime) -> list[ClaimedItem]:
        """Lease up to ``batch_size`` due rows to this scheduler (one short transaction)."""
        now = as_utc(now)
        until = now + self.lease
        due = (
            DueItem.state == "pending",
            DueItem.due_at <= now,
            (DueItem.lease_until.is_(None)) | (DueItem.lease_until < now),
        )
        with self.db.session(reading=True) as s:  # most ticks find nothing: no write lock
            if s.scalar(select(DueItem.id).where(*due).limit(1)) is None:
                return []
        with self.db.session() as s:
            query = select(DueItem.id).where(*due).order_by(DueItem.due_at).limit(self.batch_size)
            query = skip_locked(query, s)
            ids = list(s.scalars(query))
            if not ids:
                return []
            # The same conditions again: on SQLite this UPDATE is the claim (writers are
            # serialised); on PostgreSQL the rows are locked and it cannot miss.
            s.execute(
                update(DueItem)
                .where(DueItem.id.in_(ids), *due)
                .values(lease_owner=self.owner, lease_until=until)
                .execution_options(synchronize_session=False)
            )
            rows = s.scalars(
                select(DueItem)
                .where(
                    DueItem.id.in_(ids),
                    DueItem.lease_owner == self.owner,
                    DueItem.lease_until == until,
                )
                .order_by(DueItem.due_at, DueItem.id)
            ).all()
            claimed = [ClaimedItem.of(row) for row in rows]
        self.held.hold((item.id, item.lease_until) for item in claimed)
        return claimed

    def renew_leases(self, now: datetime | None = None) -> int:
        """The heartbeat: extend the leases of the items this scheduler still holds (those not
        taken over meanwhile); :class:`~engine.scheduler.runner.BackgroundRunner` calls it every
        third of a lease while a sweep runs. Returns how many leases were extended."""
        at = as_utc(now) if now is not None else self.clock.now()
        return self.held.renew(self.db, self.owner, at, self.lease)

    # ------------------------------------------------------------------ one firing
    def fire(self, item: ClaimedItem, now: datetime) -> Outcome:
        """Fire one claimed item in its own transaction; never raises for a handler's error."""
        try:
            return self._fire_held(item, now)
        finally:
            self.held.drop(item.id)

    def _fire_held(self, item: ClaimedItem, now: datetime) -> Outcome:
        if self.before_fire is not None:
            self.before_fire(item)
        if self.clock.now() >= self.held.until(item.id, item.lease_until):
            return "skipped"  # our lease ran out (frozen, not renewed): leave it to a claim
        try:
            if item.kind == "bpmn_timer":
                outcome = self._fire_timer(item, now)
            else:
                outcome = self._fire_inline(item, now)
        except AlreadyFired:
            self._settle_duplicate(item)
            return "duplicate"
        except Exception as exc:  # the firing failed: record it, retry later
            self._failed(item, now, exc)
            return "failed"
        return outcome

    def _fire_inline(self, item: ClaimedItem, now: datetime) -> Outcome:
        handler = self.handlers.get(item.kind)
        if handler is None:
            raise LookupError(f"no handler registered for due item kind {item.kind!r}")
        with self.db.session() as s:
            if item.instance_id is not None:
                # Lock order everywhere: instance row first, then its due items.
                s.execute(
                    select(Instance.id).where(Instance.id == item.instance_id).with_for_update()
                )
            # One conditional UPDATE locks the row, checks it is still pending and still ours,
            # and marks it done; a rollback (handler error, crash) undoes all three.
            row = s.execute(
                update(DueItem)
                .where(*self._still_ours(item))
                .values(
                    state="done", fired_at=now, lease_owner=None, lease_until=None, last_error=None
                )
                .returning(DueItem.dedupe_key, DueItem.due_at)
                .execution_options(synchronize_session=False)
            ).first()
            if row is None:
                return "skipped"  # done, cancelled, or taken over after our lease lapsed
            s.add(
                Firing(
                    dedupe_key=row.dedupe_key,
                    fired_at=now,
                    fired_by=self.owner,
                    due_at=as_utc(row.due_at),
                )
            )
            try:
                s.flush()
            except IntegrityError:
                raise AlreadyFired(row.dedupe_key) from None
            handler(s, item, now)
        return "fired"

    def _fire_timer(self, item: ClaimedItem, now: datetime) -> Outcome:
        if self.engine is None:
            raise LookupError("bpmn_timer items need a scheduler built with an engine")
        if item.instance_id is None:
            raise LookupError(f"timer item {item.dedupe_key} has no instance")
        try:
            self.engine.fire_due_timers(item.instance_id, SCHEDULER, fired_by=self.owner)
        except NotFound:
            return self._settle(item, "cancelled", "the instance no longer exists")
        except InstanceNotActive as exc:
            if exc.details.get("status") == "suspended":
                self._defer(item, now + self.suspended_recheck, "instance suspended")
                return "deferred"
            return self._settle(item, "cancelled", f"instance {exc.details.get('status')}")
        with self.db.session(reading=True) as s:
            state = s.scalar(select(DueItem.state).where(DueItem.id == item.id))
        if state == "pending":
            # The workflow did not see the timer as due (its time differs from ours): retry.
            raise RuntimeError("the workflow did not fire the timer; its due time is not reached")
        return "fired"

    # ------------------------------------------------------------------ bookkeeping
    def _settle(self, item: ClaimedItem, state: str, reason: str) -> Outcome:
        with self.db.session() as s:
            s.execute(
                update(DueItem)
                .where(DueItem.id == item.id, DueItem.state == "pending")
                .values(state=state, lease_owner=None, lease_until=None, last_error=reason)
                .execution_options(synchronize_session=False)
            )
        return "cancelled"

    def _settle_duplicate(self, item: ClaimedItem) -> None:
        """Someone recorded this firing already: make sure the row says so too."""
        with self.db.session() as s:
            s.execute(
                update(DueItem)
                .where(DueItem.id == item.id, DueItem.state == "pending")
                .values(state="done", lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )

    def _defer(self, item: ClaimedItem, until: datetime, reason: str) -> None:
        with self.db.session() as s:
            s.execute(
                update(DueItem)
                .where(*self._still_ours(item))
                .values(lease_owner=None, lease_until=until, last_error=reason)
                .execution_options(synchronize_session=False)
            )

    def _still_ours(self, item: ClaimedItem) -> tuple[ColumnElement[bool], ...]:
        """The row is still pending and still leased to this sweeper."""
        return (
            DueItem.id == item.id,
            DueItem.state == "pending",
            DueItem.lease_owner == self.owner,
        )

    def _failed(self, item: ClaimedItem, now: datetime, exc: BaseException) -> None:
        if is_model_error(exc):
            record_incident(self.db, item, now, exc, self._still_ours(item))
            return
        attempts = item.attempts + 1
        delay = backoff(attempts, self.retry_base_seconds)
        message = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning(
            "due item %s (%s) failed, attempt %d, retry in %s: %s",
            item.dedupe_key,
            item.kind,
            attempts,
            delay,
            message,
        )
        try:
            with self.db.session() as s:
                s.execute(
                    update(DueItem)
                    .where(*self._still_ours(item))
                    .values(
                        attempts=DueItem.attempts + 1,
                        last_error=message,
                        lease_owner=None,
                        lease_until=now + delay,
                    )
                    .execution_options(synchronize_session=False)
                )
        except Exception:  # the database is gone too: the lease lapses and the row comes back
            log.exception("could not record the failure of %s", item.dedupe_key)
