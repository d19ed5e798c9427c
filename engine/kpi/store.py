"""The ``case_facts`` table: each case's fold state as a row, kept by the command that appends.

:func:`advance` is called by ``AuditLog.flush`` (engine/audit/log.py) right after it inserted a
command's events for a case, in the same transaction: it folds only those events onto the case's
stored state and writes the row with **one upsert**. The state before the command comes from an
in-process cache keyed by the case's chain head (the hash of its last event, which fixes the
whole history, so a hit is exact whatever other processes did); on a miss it is read from the
row, and if the row has not seen every earlier event (an upgraded database, events written
without the engine) those are folded from the record first.

Every write is guarded (``WHERE case_facts.last_seq <= excluded.last_seq``): a catch-up or
rebuild that read an older record never overwrites a newer row.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, TextClause, bindparam, delete, select, text
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.kpi.facts import CaseFacts, Fold, RecordEvent
from engine.kpi.record import case_events
from engine.storage.models import CaseFactsRow

log = logging.getLogger(__name__)

TABLE = CaseFactsRow.metadata.tables["case_facts"]
#: the CaseFacts lists of instants, stored in ``lists`` (rungs and the fold's pending apart)
INSTANT_LISTS = (
    "escalations",
    "reopens",
    "reworks",
    "returns",
    "corrections",
    "improper_returns",
    "agreements",
    "jc_applied",
)
CACHE_SIZE = 2048


# ------------------------------------------------------------------------- row ⇄ state


def _text(value: Any) -> str | None:
    return value if value is None or isinstance(value, str) else str(value)


def _instant(text: str) -> datetime:
    return as_utc(datetime.fromisoformat(text))


def marks(facts: CaseFacts) -> list[datetime]:
    """The instants a period counts one by one: reworks, corrections, improper returns,
    agreements and ladder rises to 警示 or above."""
    return [
        *facts.reworks,
        *facts.corrections,
        *facts.improper_returns,
        *facts.agreements,
        *(at for at, level in facts.rungs if level >= 1),
    ]


def to_row(fold: Fold) -> dict[str, Any]:
    f = fold.facts
    lists: dict[str, Any] = {
        name: [at.isoformat() for at in getattr(f, name)]
        for name in INSTANT_LISTS
        if getattr(f, name)
    }
    if f.rungs:
        lists["rungs"] = [[at.isoformat(), level] for at, level in f.rungs]
    if fold.pending:
        lists["pending"] = [[element, at.isoformat()] for element, at in fold.pending]
    counted = marks(f)
    return {
        "case_no": f.case_no,
        "org_path": f.org_path,
        "last_seq": fold.last_seq,
        "last_at": fold.last_at,
        "moved_at": fold.moved_at,
        "reported_at": f.reported_at,
        "registered_at": f.registered_at,
        "dispatched_at": f.dispatched_at,
        "closed_at": f.closed_at,
        "due_at": f.due_at,
        "to_county_at": f.to_county_at,
        "status": f.status,
        "tier": _text(f.tier),
        "resolved_tier": _text(f.resolved_tier),
        "severity": _text(f.severity),
        "category": _text(f.category),
        "satisfaction": f.satisfaction,
        "eval_excluded": bool(f.eval_excluded),
        "ladder_level": f.ladder_level,
        "reopen_count": len(f.reopens),
        "rework_count": len(f.reworks),
        "return_count": len(f.returns),
        "correction_count": len(f.corrections),
        "improper_return_count": len(f.improper_returns),
        "agreement_count": len(f.agreements),
        "jc_count": len(f.jc_applied),
        "supervision_count": sum(1 for _, level in f.rungs if level >= 1),
        "marks_from": min(counted, default=None),
        "marks_to": max(counted, default=None),
        "lists": lists or None,
        "handling_unit": _text(f.handling_unit),
        "fed_back_at": f.fed_back_at,
        "feedback_resolved": f.feedback_resolved,
        "revisit_contact": _text(f.revisit_contact),
        "problem_solved": f.problem_solved,
        "agreement_performed": f.agreement_performed,
        "first_contact_at": f.first_contact_at,
        "contact_late": f.contact_late,
    }


def lists_into(facts: CaseFacts, lists: Mapping[str, Any] | None) -> None:
    """Set the list facts from a row's ``lists``."""
    lists = lists or {}
    for name in INSTANT_LISTS:
        setattr(facts, name, [_instant(at) for at in lists.get(name, ())])
    facts.rungs = [(_instant(at), int(level)) for at, level in lists.get("rungs", ())]


def from_row(row: Row[Any] | Mapping[str, Any]) -> Fold:
    r: Mapping[Any, Any] = row._mapping if isinstance(row, Row) else row
    facts = CaseFacts(
        case_no=r["case_no"],
        org_path=r["org_path"],
        reported_at=r["reported_at"],
        registered_at=r["registered_at"],
        dispatched_at=r["dispatched_at"],
        closed_at=r["closed_at"],
        status=r["status"],
        due_at=r["due_at"],
        tier=r["tier"],
        resolved_tier=r["resolved_tier"],
        severity=r["severity"],
        category=r["category"],
        satisfaction=r["satisfaction"],
        eval_excluded=bool(r["eval_excluded"]),
        ladder_level=r["ladder_level"],
        to_county_at=r["to_county_at"],
        handling_unit=r["handling_unit"],
        fed_back_at=r["fed_back_at"],
        feedback_resolved=r["feedback_resolved"],
        revisit_contact=r["revisit_contact"],
        problem_solved=r["problem_solved"],
        agreement_performed=r["agreement_performed"],
        first_contact_at=r["first_contact_at"],
        contact_late=r["contact_late"],
    )
    lists_into(facts, r["lists"])
    pending = [(element, _instant(at)) for element, at in (r["lists"] or {}).get("pending", ())]
    return Fold(facts, r["last_seq"], r["last_at"], r["moved_at"], pending)


# ------------------------------------------------------------------------- writing


def _upsert() -> TextClause:
    """``INSERT … ON CONFLICT (case_no) DO UPDATE … WHERE last_seq <= excluded.last_seq``: the
    same text on PostgreSQL and SQLite. Written as text with typed parameters because
    SQLAlchemy does not cache the compiled form of its dialect ``insert().on_conflict_…()``
    constructs (it compiled the statement again on every command: ~1 ms of a complete)."""
    names = [f'"{c.name}"' for c in TABLE.columns]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != '"case_no"')
    sql = (
        f"INSERT INTO case_facts ({', '.join(names)}) "
        f"VALUES ({', '.join(':' + c.name for c in TABLE.columns)}) "
        f"ON CONFLICT (case_no) DO UPDATE SET {updates} "
        "WHERE case_facts.last_seq <= excluded.last_seq"
    )
    return text(sql).bindparams(*(bindparam(c.name, type_=c.type) for c in TABLE.columns))


#: Built once (statement construction and compilation cost more than the execution).
UPSERT = _upsert()


def write(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Upsert facts rows (one executemany); a row never goes back to an older ``last_seq``."""
    if rows:
        session.execute(UPSERT, rows)


def load(session: Session, case_no: str) -> Fold | None:
    row = session.execute(select(TABLE).where(TABLE.c.case_no == case_no)).first()
    return None if row is None else from_row(row)


# ------------------------------------------------------------------------- the cache


class FoldCache:
    """The last written fold state per case, keyed by the chain head it was folded up to.

    ``take`` removes the entry (the caller advances that very object), so an uncommitted state
    is never handed out twice; a rolled-back command leaves a head no later command will have.
    """

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[str, Fold]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_no: str, head: str) -> Fold | None:
        with self._lock:
            hit = self._items.pop(case_no, None)
        return hit[1] if hit is not None and hit[0] == head else None

    def put(self, case_no: str, head: str, fold: Fold) -> None:
        with self._lock:
            self._items[case_no] = (head, fold)
            self._items.move_to_end(case_no)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def discard(self, case_no: str) -> None:
        with self._lock:
            self._items.pop(case_no, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


CACHE = FoldCache()


# ------------------------------------------------------------------------- the hook


def _state_before(session: Session, case_no: str, first_seq: int, head: str) -> Fold:
    """The case's fold up to (not including) ``first_seq``."""
    fold = CACHE.take(case_no, head)
    if fold is not None and fold.last_seq == first_seq - 1:
        return fold
    fold = load(session, case_no)
    if fold is None or fold.last_seq >= first_seq:  # none yet, or the record was rewritten
        fold = Fold.start(case_no)
    if fold.last_seq < first_seq - 1:  # events the row has not seen: fold them from the record
        fold.feed(case_events(session, case_no, fold.last_seq, first_seq))
    return fold


def advance(
    session: Session, case_no: str, appended: Sequence[Mapping[str, Any]], head_before: str
) -> None:
    """Fold the events just appended for ``case_no`` (in seq order) onto its facts; one upsert.

    ``head_before`` is the hash of the case's last event before them. A fact the fold cannot
    read (a malformed value in ``data_after``) leaves the row behind instead of failing the
    command: the report's catch-up then meets the same error the fold would.
    """
    if not appended:
        return
    try:
        fold = _state_before(session, case_no, int(appended[0]["seq"]), head_before)
        fold.feed(RecordEvent.of(row) for row in appended)
    except (ValueError, TypeError, KeyError) as exc:
        log.warning("KPI facts of case %s not advanced: %s", case_no, exc)
        return
    write(session, [to_row(fold)])
    CACHE.put(case_no, str(appended[-1]["hash"]), fold)


def refresh_case(session: Session, case_no: str) -> Fold:
    """Fold the case's whole record again and write it (after retention rewrote the record)."""
    CACHE.discard(case_no)
    fold = Fold.start(case_no).feed(case_events(session, case_no, 0, 2**31 - 1))
    if fold.last_seq:
        write(session, [to_row(fold)])
    else:
        session.execute(delete(TABLE).where(TABLE.c.case_no == case_no))
    return fold
