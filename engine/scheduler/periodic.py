"""Periodic jobs (日排查, 周汇总, 月研判) as due items.

Each job has a cron expression in Asia/Shanghai time. On every tick the runner makes sure the
*next* occurrence of each job exists as a ``job`` due item keyed ``job:<name>:<fire time>``; the
sweep fires it like any other item, so a job runs once per occurrence however many schedulers
run, and an occurrence missed while every scheduler was down runs when one comes back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from engine.clock import CHINA, as_utc
from engine.scheduler import items
from engine.scheduler.items import ClaimedItem
from engine.storage.database import Database

JobFunction = Callable[[Session, datetime, datetime], None]
"""``job(session, fire_time, now)``: runs inside the firing transaction."""


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    cron: str
    function: JobFunction

    def trigger(self) -> CronTrigger:
        return CronTrigger.from_crontab(self.cron, timezone=CHINA)

    def next_after(self, now: datetime) -> datetime:
        fire = self.trigger().get_next_fire_time(None, as_utc(now).astimezone(CHINA))
        if fire is None:  # pragma: no cover - a crontab always has a next time
            raise ValueError(f"cron {self.cron!r} never fires again")
        return as_utc(fire)


class PeriodicJobs:
    """The configured jobs, their due items, and the ``job`` handler that runs them."""

    def __init__(self, jobs: Sequence[PeriodicJob]) -> None:
        names = [job.name for job in jobs]
        if len(names) != len(set(names)):
            raise ValueError("periodic job names must be unique")
        for job in jobs:
            job.trigger()  # refuse a bad cron expression at start-up
        self.jobs: Mapping[str, PeriodicJob] = {job.name: job for job in jobs}
        self._ensured: dict[str, datetime] = {}

    def ensure(self, db: Database, now: datetime) -> int:
        """Schedule each job's next occurrence (idempotent). Returns how many rows were new."""
        wanted = {name: job.next_after(now) for name, job in self.jobs.items()}
        if all(self._ensured.get(name) == at for name, at in wanted.items()):
            return 0
        created = 0
        with db.session() as s:
            for name, at in wanted.items():
                created += items.schedule(
                    s,
                    kind="job",
                    dedupe_key=f"job:{name}:{at.isoformat()}",
                    due_at=at,
                    now=now,
                    payload={"job": name},
                )
        self._ensured = wanted
        return created

    def __call__(self, session: Session, item: ClaimedItem, now: datetime) -> None:
        name = str(item.payload.get("job"))
        job = self.jobs.get(name)
        if job is None:
            raise LookupError(f"no periodic job named {name!r} is configured")
        job.function(session, item.due_at, now)
