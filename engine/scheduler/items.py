"""Due items as rows: how other parts of the engine put something on the clock or take it off.

A due item is identified by its ``dedupe_key`` (unique). Scheduling the same key twice is a no-op,
so callers may schedule idempotently (periodic jobs from several schedulers, retries).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, Update, bindparam, delete, exists, or_, text, update
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.storage.models import DueItem, Firing


@dataclass(frozen=True)
class ClaimedItem:
    """A due item leased to one scheduler: a detached copy of the row at claim time."""

    id: int
    kind: str
    dedupe_key: str
    instance_id: str | None
    case_no: str | None
    task_id: str | None
    due_at: datetime
    lease_until: datetime
    attempts: int
    payload: Mapping[str, Any]

    @classmethod
    def of(cls, row: DueItem) -> ClaimedItem:
        assert row.lease_until is not None
        return cls(
            id=row.id,
            kind=row.kind,
            dedupe_key=row.dedupe_key,
            instance_id=row.instance_id,
            case_no=row.case_no,
            task_id=row.task_id,
            due_at=as_utc(row.due_at),
            lease_until=as_utc(row.lease_until),
            attempts=row.attempts,
            payload=dict(row.payload or {}),
        )


def schedule(
    session: Session,
    *,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    instance_id: str | None = None,
    case_no: str | None = None,
    task_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> bool:
    """Insert a pending due item unless one with ``dedupe_key`` exists. Returns whether it did.

    Uses ``INSERT … ON CONFLICT DO NOTHING`` so that several processes may schedule the same key
    at once without an error and without aborting the caller's transaction.
    """
    values = item_row(
        kind=kind, dedupe_key=dedupe_key, due_at=due_at, now=now, instance_id=instance_id,
        case_no=case_no, task_id=task_id, payload=payload,
    )  # fmt: skip
    return session.execute(_INSERT_ONE, values).first() is not None


def item_row(
    *,
    kind: str,
    dedupe_key: str,
    due_at: datetime,
    now: datetime,
    instance_id: str | None = None,
    case_no: str | None = None,
    task_id: str | None = None,
    payload: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The column values of a pending due item, for :func:`schedule_many`."""
    if len(dedupe_key) > 300:
        raise ValueError(f"dedupe key longer than 300 characters: {dedupe_key[:60]}…")
    return {
        "kind": kind,
        "dedupe_key": dedupe_key,
        "instance_id": instance_id,
        "case_no": case_no,
        "task_id": task_id,
        "due_at": as_utc(due_at),
        "state": "pending",
        "attempts": 0,
        "payload": dict(payload or {}),
        "created_at": as_utc(now),
    }


_TABLE = DueItem.metadata.tables["due_items"]
_ROW_COLUMNS = ("kind", "dedupe_key", "instance_id", "case_no", "task_id", "due_at", "state",
                "attempts", "payload", "created_at")  # fmt: skip


def _insert(returning: str = "") -> TextClause:
    """``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``, the same text on both databases, with
    typed parameters: SQLAlchemy does not cache the compiled form of its dialect
    ``insert().on_conflict_do_nothing()``, so that construct was compiled again on every
    command that scheduled a rung (most of them)."""
    columns = [_TABLE.c[name] for name in _ROW_COLUMNS]
    return text(
        f"INSERT INTO due_items ({', '.join(c.name for c in columns)}) "
        f"VALUES ({', '.join(':' + c.name for c in columns)}) "
        f"ON CONFLICT (dedupe_key) DO NOTHING{returning}"
    ).bindparams(*(bindparam(c.name, type_=c.type) for c in columns))


#: Built once and reused (statement construction and compilation cost more than the execution).
_INSERT_MANY = _insert()
_INSERT_ONE = _insert(" RETURNING id")
_CANCELLED = {"state": "cancelled", "lease_owner": None, "lease_until": None}


def schedule_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert several pending due items (rows of :func:`item_row`) with one executemany of
    ``INSERT … ON CONFLICT (dedupe_key) DO NOTHING``: keys that exist are left alone."""
    if rows:
        session.execute(_INSERT_MANY, rows)


@lru_cache(maxsize=32)
def _cancel_statement(everything: bool, tasks: bool, case: bool, tiers: bool) -> Update:
    which = []
    if everything:
        which.append(DueItem.kind == "ladder")
    else:
        if tasks:
            which.append(
                (DueItem.kind == "ladder") & DueItem.task_id.in_(bindparam("tasks", expanding=True))
            )
        if case:
            which.append((DueItem.kind == "ladder") & DueItem.task_id.is_(None))
    if tiers:
        which.append(DueItem.kind == "tier_due")
    return (
        update(DueItem)
        .where(
            DueItem.instance_id == bindparam("instance"), DueItem.state == "pending", or_(*which)
        )
        .values(**_CANCELLED)
        .execution_options(synchronize_session=False)
    )


def cancel_ladder(
    session: Session,
    instance_id: str | None,
    *,
    tasks: Iterable[str] = (),
    case: bool = False,
    everything: bool = False,
    tiers: bool = False,
) -> int:
    """Cancel an instance's pending ladder rungs (and tier timers) in one statement.

    ``everything``: every rung of the instance; else the rungs of the given ``tasks`` (task rungs
    carry the task id) and, with ``case``, the case's own rungs (no task id). ``tiers`` adds the
    instance's ``tier_due`` items.
    """
    wanted = [] if everything else list(tasks)
    case = case and not everything
    if not (everything or wanted or case or tiers):
        return 0
    params: dict[str, Any] = {"instance": instance_id}
    if wanted:
        params["tasks"] = wanted
    result = session.execute(_cancel_statement(everything, bool(wanted), case, tiers), params)
    return int(getattr(result, "rowcount", 0) or 0)


def delete_settled(session: Session, instance_id: str) -> int:
    """Delete an instance's cancelled items and its done items whose firing is recorded (a
    closed case's; the ``firings`` proofs stay). A timer marked done in the same command keeps
    its row: its proof is written after this, by the :class:`FiringRecorder`."""
    proven = exists().where(Firing.dedupe_key == DueItem.dedupe_key)
    result = session.execute(
        delete(DueItem)
        .where(
            DueItem.instance_id == instance_id,
            or_(DueItem.state == "cancelled", (DueItem.state == "done") & proven),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel(session: Session, keys: Iterable[str]) -> int:
    """Cancel pending items by key (done items stay done). Returns how many were cancelled."""
    wanted = list(keys)
    if not wanted:
        return 0
    result = session.execute(
        update(DueItem)
        .where(DueItem.dedupe_key.in_(wanted), DueItem.state == "pending")
        .values(state="cancelled", lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def cancel_prefix(session: Session, instance_id: str | None, prefix: str) -> int:
    """Cancel an instance's pending items whose key starts with ``prefix`` (one deadline's rungs).

    The instance id narrows the search through its index; the prefix picks the deadline.
    """
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    result = session.execute(
        update(DueItem)
        .where(
            DueItem.instance_id == instance_id,
            DueItem.dedupe_key.like(f"{escaped}%", escape="\\"),
            DueItem.state == "pending",
        )
        .values(state="cancelled", lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
