"""Reading the audit record for the fold: only the columns and JSON the fold acts on.

Rows come out shaped as :class:`~engine.kpi.facts.RecordEvent` after the case number:
``(case_no, seq, event_type, at, org_path, element_id, data_before, data_after, details)``.
The JSON columns are sent only for the events that use them (``data_before`` for
``case_updated``, ``data_after`` for it and ``task_completed``, ``details`` for retention
summaries and the first contact's ``task_completed`` — its ``late`` flag); the others' JSON
is neither sent nor decoded. Columns are read through the model's attributes and types, so a
change of how the record stores them is followed here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import groupby
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine.kpi.facts import CONTACT, RecordEvent
from engine.storage.models import AuditEvent
from engine.vocabulary import SUMMARY_EVENT

UPDATE = "case_updated"
COMPLETED = "task_completed"


def _only(condition: ColumnElement[bool], column: Any, label: str) -> Any:
    return type_coerce(case((condition, column)), column.type).label(label)


def event_columns() -> tuple[Any, ...]:
    kind = AuditEvent.event_type
    return (
        AuditEvent.case_no,
        AuditEvent.seq,
        kind,
        AuditEvent.at,
        AuditEvent.org_path,
        AuditEvent.element_id,
        _only(kind == UPDATE, AuditEvent.data_before, "data_before"),
        _only(kind.in_((UPDATE, COMPLETED)), AuditEvent.data_after, "data_after"),
        _only(
            or_(kind == SUMMARY_EVENT, and_(kind == COMPLETED, AuditEvent.element_id == CONTACT)),
            AuditEvent.details,
            "details",
        ),
    )


def events_of(*conditions: ColumnElement[bool]) -> Select[Any]:
    """The events matching ``conditions`` in (case, seq) order."""
    return select(*event_columns()).where(*conditions).order_by(AuditEvent.case_no, AuditEvent.seq)


def by_case(rows: Iterable[Any]) -> Iterator[tuple[str, Iterator[RecordEvent]]]:
    """``(case_no, events)`` per case from rows of :func:`events_of`."""
    for case_no, group in groupby(rows, key=itemgetter(0)):
        yield case_no, (RecordEvent(*row[1:]) for row in group)


def case_events(session: Session, case_no: str, after: int, before: int) -> list[RecordEvent]:
    """One case's events with ``after < seq < before``."""
    rows = session.execute(
        events_of(AuditEvent.case_no == case_no, AuditEvent.seq > after, AuditEvent.seq < before)
    )
    return [RecordEvent(*row[1:]) for row in rows]
