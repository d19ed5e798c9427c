"""The scheduler: due items as rows, swept and fired exactly once by any number of processes.

Public API:

* :class:`Scheduler` — ``sweep_once(now)``, ``claim(now)``, ``fire(item, now)``, ``register``.
* :func:`run_scheduler` — ``bihuan scheduler``; :func:`start_in_background` — ``bihuan serve``.
* :func:`schedule`, :func:`cancel`, :func:`cancel_prefix` — put items on the clock, take them off.
* :class:`FiringRecorder` — the engine listener that writes BPMN timer firing proofs.
* :class:`LeaderLease`, :class:`PeriodicJob`, :class:`PeriodicJobs`, :class:`SchedulerService`.
"""

from engine.scheduler.items import ClaimedItem, cancel, cancel_prefix, schedule
from engine.scheduler.leader import LeaderLease
from engine.scheduler.periodic import PeriodicJob, PeriodicJobs
from engine.scheduler.recorder import AlreadyFired, FiringRecorder
from engine.scheduler.runner import (
    BackgroundRunner,
    DueHandlerProvider,
    SchedulerService,
    build_service,
    run_scheduler,
    start_in_background,
)
from engine.scheduler.sweep import MAX_LEASE_SECONDS, Handler, Scheduler, SweepStats, backoff

__all__ = [
    "MAX_LEASE_SECONDS",
    "AlreadyFired",
    "BackgroundRunner",
    "ClaimedItem",
    "DueHandlerProvider",
    "FiringRecorder",
    "Handler",
    "LeaderLease",
    "PeriodicJob",
    "PeriodicJobs",
    "Scheduler",
    "SchedulerService",
    "SweepStats",
    "backoff",
    "build_service",
    "cancel",
    "cancel_prefix",
    "run_scheduler",
    "schedule",
    "start_in_background",
]
