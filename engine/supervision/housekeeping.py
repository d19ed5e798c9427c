"""Housekeeping jobs: keep tables that only serve the live UI from growing without bound.

``change_events`` feeds the server-sent event stream (``api/sse.py``): a client that reconnects
resumes from the last id it saw, so a row is useful only for as long as a client may stay away.
:func:`change_feed_job` deletes rows older than the retention window (default one day) — a
client away longer reloads its lists, as it does after any gap. Nothing else reads the table
(the audit record is ``audit_events``; KPIs and history never look at the feed).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.scheduler.periodic import JobFunction
from engine.storage.models import ChangeEvent

#: How long change-feed rows are kept (documented in docs/performance.md, §6).
CHANGE_FEED_RETENTION = timedelta(days=1)
#: When the prune runs (Asia/Shanghai crontab): every hour at :17.
CHANGE_FEED_CRON = "17 * * * *"


def prune_change_feed(session: Session, now: datetime, retention: timedelta) -> int:
    """Delete change-feed rows older than ``retention``; returns how many."""
    cutoff = as_utc(now) - retention
    result = session.execute(
        delete(ChangeEvent)
        .where(ChangeEvent.at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def change_feed_job(retention: timedelta = CHANGE_FEED_RETENTION) -> JobFunction:
    """The periodic job (``job(session, fire_time, now)``) that prunes the change feed."""

    def job(session: Session, fire_time: datetime, now: datetime) -> None:
        prune_change_feed(session, now, retention)

    return job
