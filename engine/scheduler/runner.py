"""Running the sweep: standalone (``bihuan scheduler``) or as the elected leader inside a server.

APScheduler only provides the wake-up: an interval job every ``poll_interval_seconds`` with
``max_instances=1`` and ``coalesce=True``, so ticks never overlap and a late tick is not repeated.
Each tick: (leader check) → schedule the next periodic jobs → sweep everything due → deliver
pending notifications. Due times live in ``due_items``; nothing is held in APScheduler's memory.

Punctuality: a row due at ``t`` is claimed by the first tick after ``t`` — at most one poll
interval later — and fired in the same tick, oldest first. Firing one item takes milliseconds
(one transaction), so with the default 2 s interval a timer fires within poll interval + 1 s as
long as no more than several hundred items fall due within one interval; a larger backlog is
drained batch after batch in the same tick (``max_batches × batch_size`` per tick), and several
schedulers share it through ``SKIP LOCKED``.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from engine.clock import Clock, SystemClock
from engine.notify import Sender, deliver_pending, sender_from_settings
from engine.scheduler.leader import LeaderLease
from engine.scheduler.periodic import PeriodicJob, PeriodicJobs
from engine.scheduler.sweep import Handler, Scheduler, SweepStats
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.runtime import Engine

log = logging.getLogger("engine.scheduler")


@runtime_checkable
class DueHandlerProvider(Protocol):
    """An engine listener that also fires due items of its own kinds (the supervision service)."""

    def due_handlers(self) -> Mapping[str, Handler]: ...

    def periodic_jobs(self) -> Sequence[PeriodicJob]: ...


class SchedulerService:
    """One scheduler process's work per tick."""

    def __init__(
        self,
        scheduler: Scheduler,
        *,
        periodic: PeriodicJobs | None = None,
        leader: LeaderLease | None = None,
        sender: Sender | None = None,
        max_attempts: int = 8,
        retry_base_seconds: float = 10.0,
    ) -> None:
        self.scheduler = scheduler
        self.max_attempts, self.retry_base_seconds = max_attempts, retry_base_seconds
        self.periodic = periodic
        self.leader = leader
        self.sender = sender
        self.leading = leader is None
        self.ticks = 0
        self.on_tick: Callable[[SweepStats | None], None] | None = None

    def tick(self, now: datetime | None = None) -> SweepStats | None:
        """Run one tick; returns the sweep's statistics, or None when another worker leads."""
        at = now or self.scheduler.clock.now()
        stats: SweepStats | None = None
        try:
            if self.leader is not None:
                leading = self.leader.acquire(at)
                if leading != self.leading:
                    log.info(
                        "scheduler %s %s",
                        self.scheduler.owner,
                        "leads" if leading else "no longer leads",
                    )
                self.leading = leading
            if self.leading:
                if self.periodic is not None:
                    self.periodic.ensure(self.scheduler.db, at)
                # Without a fixed ``now`` each batch claims at its own time (fresh rows too).
                stats = self.scheduler.sweep_once(now)
                if self.sender is not None:
                    deliver_pending(
                        self.scheduler.db,
                        self.sender,
                        now=at,
                        max_attempts=self.max_attempts,
                        retry_base_seconds=self.retry_base_seconds,
                    )
        except Exception:  # keep ticking: the database may be back next time
            log.exception("scheduler tick failed")
        self.ticks += 1
        if self.on_tick is not None:
            self.on_tick(stats)
        return stats

    def heartbeat(self, now: datetime | None = None) -> None:
        """Renew, while a tick runs, the leadership and the leases of the items still held, so a
        long sweep keeps them while a dead or frozen node loses them within one lease."""
        at = now or self.scheduler.clock.now()
        try:
            if self.leader is not None and self.leading:
                self.leading = self.leader.renew(at)
            self.scheduler.renew_leases(at)
        except Exception:  # the database may be away: the leases lapse, others take over
            log.exception("scheduler heartbeat failed")

    def stop(self) -> None:
        if self.leader is not None and self.leading:
            self.leader.release(self.scheduler.clock.now())
            self.leading = False


def build_service(
    settings: Settings,
    engine: Engine,
    *,
    clock: Clock | None = None,
    elect: bool = False,
    sender: Sender | None = None,
    owner: str | None = None,
) -> SchedulerService:
    """A scheduler over the engine's database, with the handlers its listeners provide."""
    scheduler = Scheduler(
        engine.db,
        engine=engine,
        clock=clock or engine.clock,
        owner=owner,
        lease_seconds=lease_seconds(settings),
    )
    jobs: list[PeriodicJob] = []
    for listener in list(engine.listeners):
        if isinstance(listener, DueHandlerProvider):
            for kind, handler in listener.due_handlers().items():
                scheduler.register(kind, handler)
            jobs.extend(listener.periodic_jobs())
    periodic = PeriodicJobs(jobs) if jobs else None
    if periodic is not None:
        scheduler.register("job", periodic)
    leader = None
    if elect:
        leader = LeaderLease(engine.db, scheduler.owner, ttl_seconds=lease_seconds(settings))
    return SchedulerService(
        scheduler,
        periodic=periodic,
        leader=leader,
        sender=sender or sender_from_settings(settings),
        max_attempts=settings.notify_max_attempts,
        retry_base_seconds=settings.notify_retry_base_seconds,
    )


def lease_seconds(settings: Settings) -> float:
    """The lease on claimed items and on leadership. Takeover after a node dies or freezes
    takes at most one lease plus one poll interval (10 s + 2 s by default); the heartbeat renews
    every third of a lease, so the lease must span a few poll intervals to survive a slow tick."""
    return min(max(float(settings.lease_seconds), 3 * settings.poll_interval_seconds), 60.0)


class BackgroundRunner:
    """The service ticking on an APScheduler background thread; ``stop()`` ends it.

    A tick that ran longer than the interval is followed at once by another (up to
    ``max_catch_up`` in a row) instead of waiting for the next interval: APScheduler skips the
    ticks that fell inside a long one (``max_instances=1``), and items due meanwhile would wait.
    A heartbeat thread renews the leader lease and the held item leases every third of a lease
    while a tick runs (:meth:`SchedulerService.heartbeat`).
    """

    def __init__(
        self, service: SchedulerService, poll_interval_seconds: float, *, max_catch_up: int = 20
    ) -> None:
        if poll_interval_seconds <= 0:
            raise ValueError("poll_interval_seconds must be positive")
        self.service = service
        self.interval = poll_interval_seconds
        self.max_catch_up = max(1, max_catch_up)
        self._stopping = threading.Event()
        self._ticking = threading.Event()
        self._beat = max(0.2, service.scheduler.lease.total_seconds() / 3)
        self._heart = threading.Thread(target=self._heartbeat, name="bihuan-heartbeat", daemon=True)
        self._aps = BackgroundScheduler(timezone=UTC)
        self._aps.add_job(
            self._run,
            IntervalTrigger(seconds=poll_interval_seconds, timezone=UTC),
            id="bihuan-sweep",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            next_run_time=SystemClock().now(),  # APScheduler polls in real time
        )

    def _run(self) -> None:
        self._ticking.set()
        try:
            for _ in range(self.max_catch_up):
                started = time.monotonic()
                self.service.tick()
                if self._stopping.is_set() or time.monotonic() - started < self.interval:
                    return
        finally:
            self._ticking.clear()

    def _heartbeat(self) -> None:
        while not self._stopping.wait(self._beat):
            if self._ticking.is_set():
                self.service.heartbeat()

    def start(self) -> BackgroundRunner:
        self._aps.start()
        self._heart.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._heart.is_alive():
            self._heart.join(timeout=self._beat + 5)
        if self._aps.running:
            self._aps.shutdown(wait=True)
        self.service.stop()


def start_in_background(
    settings: Settings, engine: Engine, *, elect: bool = True, clock: Clock | None = None
) -> BackgroundRunner:
    """For ``bihuan serve``: every worker calls this; only the elected leader sweeps."""
    service = build_service(settings, engine, clock=clock, elect=elect)
    return BackgroundRunner(service, settings.poll_interval_seconds).start()


def run_scheduler(
    settings: Settings,
    *,
    engine: Engine,
    clock: Clock | None = None,
    stop_event: threading.Event | None = None,
    elect: bool = False,
    on_tick: Callable[[SweepStats | None], None] | None = None,
) -> None:
    """Run until ``stop_event`` is set (or SIGTERM/SIGINT when called from the main thread).

    Standalone schedulers need no election (``elect=False``): any number may sweep one database.
    The engine comes from the caller (``engine.bootstrap.build_engine`` for ``bihuan scheduler``):
    the scheduler does not wire the engine it serves.
    """
    stop = stop_event or threading.Event()
    if stop_event is None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda _signum, _frame: stop.set())
    service = build_service(settings, engine, clock=clock, elect=elect)
    service.on_tick = on_tick
    runner = BackgroundRunner(service, settings.poll_interval_seconds)
    log.info(
        "scheduler %s started (poll every %ss)",
        service.scheduler.owner,
        settings.poll_interval_seconds,
    )
    runner.start()
    try:
        stop.wait()
    finally:
        runner.stop()
        log.info("scheduler %s stopped", service.scheduler.owner)
