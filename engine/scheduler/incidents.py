"""Incidents (故障): a due item whose firing fails because of the model or its data — a timer
value computed at run time that is malformed or over budget, a script error, a command over its
work budget — fails the same way however often it is retried. It is not retried: the item is
marked ``failed`` with the error, the case's audit chain records ``timer_failed`` naming the
element, and ``bihuan_failed_due_items`` in /metrics counts them (as Camunda raises an incident
when a job's retries run out). Storage faults and lost races stay retryable (backoff).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from engine.audit import SCHEDULER, AuditLog
from engine.errors import BihuanError
from engine.scheduler.items import ClaimedItem
from engine.storage.database import Database
from engine.storage.models import Case, DueItem, Instance

log = logging.getLogger("engine.scheduler")
FAILED = "failed"
EVENT = "timer_failed"


def is_model_error(exc: BaseException) -> bool:
    """An error of the model or its data (422): retrying cannot help."""
    return isinstance(exc, BihuanError) and not exc.retryable and exc.status == 422


def record_incident(
    db: Database,
    item: ClaimedItem,
    now: datetime,
    exc: BaseException,
    still_ours: Sequence[ColumnElement[bool]],
) -> None:
    message = f"{type(exc).__name__}: {exc}"[:2000]
    details = exc.details if isinstance(exc, BihuanError) else {}
    log.error("due item %s (%s) failed for good (incident): %s", item.dedupe_key, item.kind,
              message)  # fmt: skip
    try:
        with db.session() as s:
            done = s.execute(
                update(DueItem)
                .where(*still_ours)
                .values(state=FAILED, attempts=DueItem.attempts + 1, last_error=message,
                        lease_owner=None, lease_until=None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            if not done.rowcount or item.case_no is None:  # type: ignore[attr-defined]
                return
            case = s.get(Case, item.case_no)
            if case is None:
                return
            # the instance row first, as every command locks it: the chain's head never forks
            s.scalar(select(Instance.id).where(Instance.id == case.instance_id).with_for_update())
            s.refresh(case)
            audit = AuditLog(s, case.case_no, None, now, org_path=case.org_path, case=case)
            audit.add(
                EVENT, SCHEDULER, element_id=details.get("element_id"),
                element_name=details.get("element_name"), due_item=item.dedupe_key,
                kind=item.kind, error=message,
            )  # fmt: skip
            audit.flush()
    except Exception:  # the database is gone too: the lease lapses and the row comes back
        log.exception("could not record the incident of %s", item.dedupe_key)
