"""A period's KPI counts summed in SQL over ``case_facts`` (one scan of the unit's rows).

Exact for the cases whose every event is before the report's moment (``last_at < as_of``): their
stored facts *are* the facts as of then. Each count of :class:`~engine.kpi.kpiset.KpiSet` is one
``count(*) FILTER (WHERE …)`` or ``sum(…) FILTER (WHERE …)`` with the cohort of its
``KpiSet.add`` line, grouped by the case's ``org_path`` (the roll-up to child units is a sum of
those groups; so are the rows per 承办单位, grouped by ``handling_unit`` in the same
statement). Three things are finished in Python, each over few rows:

* the facts a period counts one instant at a time (reworks, corrections, improper returns,
  agreements, ladder rises): rows whose instants all lie inside the period (``marks_from`` /
  ``marks_to``) are summed in SQL from their counts; rows with some inside and some outside
  are read and counted from their ``lists``;
* resolved tiers other than the four known ones (none with the shipped processes);
* the open cases past due (``KpiReport.overdue_open``), read as facts.

The cases with an event at or after ``as_of`` (a past period's report) are left out of the
sums; their ids are returned (found through the record's events since ``as_of``) so that the
caller folds them from the record as of ``as_of``. On PostgreSQL the aggregate runs without JIT.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, not_, or_, select, text
from sqlalchemy.orm import Session

from engine.kpi.facts import CaseFacts
from engine.kpi.kpiset import KpiSet, Period
from engine.kpi.store import TABLE, from_row, lists_into
from engine.storage.dialects import dialect_of, is_postgres
from engine.storage.models import AuditEvent
from engine.vocabulary import TIERS

F = TABLE.c
#: the counts the aggregate gives as they are (``resolved`` is the sum of the tiers)
COUNTS = tuple(f.name for f in fields(KpiSet) if f.name not in ("resolved", "resolved_by_tier"))


def under(column: Any, org_path: str, dialect: str) -> ColumnElement[bool]:
    """``column`` lies in the subtree ``org_path``: LIKE through the pattern index on
    PostgreSQL, a range on SQLite (where LIKE is case-insensitive and unindexed)."""
    if not org_path:
        return column.is_not(None)  # type: ignore[no-any-return]
    if dialect == "sqlite":
        after = org_path[:-1] + chr(ord(org_path[-1]) + 1)
        return and_(column >= org_path, column < after)
    return column.startswith(org_path, autoescape=True)  # type: ignore[no-any-return]


def _within(column: Any, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


@dataclass
class Sums:
    """The SQL part of a report: counts per ``org_path``, the overdue open cases, and the cases
    to fold from the record (events at or after ``as_of``)."""

    #: counts per (``org_path``, ``handling_unit``): the area where the matter arose and the
    #: 承办单位 that held the work (None: never given to a unit)
    by_pair: dict[tuple[str, str | None], KpiSet] = field(default_factory=dict)
    overdue_open: list[CaseFacts] = field(default_factory=list)
    late: list[str] = field(default_factory=list)


class _Cohorts:
    """The conditions of ``KpiSet.add`` over the facts columns (NULL-safe where negated)."""

    def __init__(self, period: Period, as_of: datetime) -> None:
        # the test most rows settle first (an open case has no closed_at): AND stops at FALSE
        self.closed = and_(F.closed_at.is_not(None), F.status == "CLOSED")
        self.still_open = or_(F.closed_at.is_(None), F.status.is_(None), F.status != "CLOSED")
        self.registered = _within(F.registered_at, period)
        self.due = _within(F.due_at, period)
        self.closed_in = and_(self.closed, _within(F.closed_at, period))
        # 化解 in substance (CaseFacts.resolved): the feedback says resolved, the party confirms
        self.substance = and_(
            self.closed,
            F.resolved_tier.is_not(None),
            F.feedback_resolved.is_(True),
            F.revisit_contact == "reached",
            F.problem_solved.is_(True),
        )
        self.resolved_in = and_(self.closed_in, self.substance)
        self.red_open = and_(
            F.severity == "red",
            F.registered_at < period.start,
            or_(self.still_open, F.closed_at >= period.start),
        )
        self.rated = and_(self.closed_in, F.satisfaction.is_not(None))
        self.evaluated = and_(self.rated, F.eval_excluded.is_(False))
        self.dispatched = _within(F.dispatched_at, period)
        self.marks_inside = and_(F.marks_from >= period.start, F.marks_to < period.end)
        self.marks_across = and_(
            F.marks_from < period.end, F.marks_to >= period.start, not_(self.marks_inside)
        )
        self.agreed = and_(self.marks_inside, F.agreement_count > 0)
        self.overdue_open = and_(self.still_open, F.due_at < as_of)
        self.overdue = and_(
            self.due,
            or_(and_(self.closed, F.closed_at > F.due_at), and_(self.still_open, F.due_at < as_of)),
        )


def _n(condition: ColumnElement[bool]) -> Any:
    return func.count().filter(condition)


def _sum(column: Any, condition: ColumnElement[bool]) -> Any:
    return func.sum(column).filter(condition)


def _aggregates(c: _Cohorts) -> dict[str, Any]:
    n, total = _n, _sum
    out: dict[str, Any] = {
        "registered": n(c.registered),
        "escalated_up": n(and_(c.registered, F.to_county_at.is_not(None))),
        "due": n(c.due),
        "due_closed": n(and_(c.due, c.closed)),
        "due_on_time": n(and_(c.due, F.fed_back_at.is_not(None), F.fed_back_at <= F.due_at)),
        "due_closed_on_time": n(and_(c.due, c.closed, F.closed_at <= F.due_at)),
        "overdue": n(c.overdue),
        "closed": n(c.closed_in),
        "unverified": n(and_(c.closed_in, F.revisit_contact == "unreachable")),
        "agreements_due": n(and_(c.closed_in, F.agreement_count > 0)),
        "agreements_performed": n(
            and_(c.closed_in, F.agreement_count > 0, F.agreement_performed.is_(True))
        ),
        "red_open": n(c.red_open),
        "red_cleared": n(and_(c.red_open, c.substance)),
        "reopened": n(and_(c.closed_in, F.reopen_count > 0)),
        "reworked": n(and_(c.closed_in, F.rework_count > 0)),
        "revisited": n(c.rated),
        "evaluated": n(c.evaluated),
        "satisfied": n(and_(c.evaluated, F.satisfaction >= 3)),
        "dispatched": n(c.dispatched),
        "returned": n(and_(c.dispatched, F.return_count > 0)),
        "responded": n(
            and_(c.dispatched, F.first_contact_at.is_not(None), F.contact_late.is_(False))
        ),
        "agreements": n(c.agreed),
        "jc_applied": n(and_(c.agreed, F.jc_count > 0)),
        "rework_events": total(F.rework_count, c.marks_inside),
        "corrections": total(F.correction_count, c.marks_inside),
        "improper_returns": total(F.improper_return_count, c.marks_inside),
        "supervisions": total(F.supervision_count, c.marks_inside),
        "supervised_open": n(and_(F.ladder_level >= 1, c.still_open)),
    }
    for tier in TIERS:
        out[f"tier_{tier}"] = n(and_(c.resolved_in, F.resolved_tier == tier))
    out["other_tiers"] = n(and_(c.resolved_in, F.resolved_tier.not_in(TIERS)))
    out["marks_across"] = n(c.marks_across)
    out["overdue_open"] = n(c.overdue_open)
    return out


def statement(org_path: str, period: Period, as_of: datetime, dialect: str) -> Any:
    """The aggregate: one row per (``org_path``, ``handling_unit``) of the facts under
    ``org_path`` whose every event is before ``as_of``."""
    aggregates = _aggregates(_Cohorts(period, as_of))
    return (
        select(F.org_path, F.handling_unit, *(e.label(name) for name, e in aggregates.items()))
        .where(under(F.org_path, org_path, dialect), F.last_at < as_of)
        .group_by(F.org_path, F.handling_unit)
    )


def late_cases(org_path: str, as_of: datetime, dialect: str) -> Any:
    """The cases whose facts are newer than ``as_of`` and that may have been in the unit then:
    in it now, or moved at or after ``as_of``. Found from the record's events at or after
    ``as_of`` (``ix_audit_events_at``): none for the current period, whose ``as_of`` is now."""
    since = select(AuditEvent.case_no).where(AuditEvent.at >= as_of)
    return select(F.case_no).where(
        F.case_no.in_(since),
        F.last_at >= as_of,
        or_(under(F.org_path, org_path, dialect), F.moved_at >= as_of),
    )


@contextmanager
def _no_jit(session: Session) -> Iterator[None]:
    """PostgreSQL: no JIT compilation for the aggregate. Its cost estimate passes
    ``jit_above_cost`` from ~100k rows, and compiling its ~30 filter expressions took
    0.1–0.4 s of a ~1 s statement at 1M rows, more than the compiled code saved."""
    if not is_postgres(session):
        yield
        return
    before = session.scalar(text("SELECT current_setting('jit')"))
    session.execute(text("SELECT set_config('jit', 'off', true)"))
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('jit', :v, true)"), {"v": before})


def sums(session: Session, org_path: str, period: Period, as_of: datetime) -> Sums:
    dialect = dialect_of(session)
    c = _Cohorts(period, as_of)
    scope = under(F.org_path, org_path, dialect)
    exact = F.last_at < as_of
    out = Sums()
    across = overdue = others = 0
    with _no_jit(session):
        rows = session.execute(statement(org_path, period, as_of, dialect)).mappings().all()
    for row in rows:
        kpis = KpiSet()
        for name in COUNTS:
            setattr(kpis, name, int(row[name] or 0))
        kpis.resolved_by_tier = {tier: int(row[f"tier_{tier}"]) for tier in TIERS}
        kpis.resolved = sum(kpis.resolved_by_tier.values()) + int(row["other_tiers"])
        out.by_pair[(row["org_path"], row["handling_unit"])] = kpis
        across += row["marks_across"]
        overdue += row["overdue_open"]
        others += row["other_tiers"]
    if across:  # some instants inside the period, some outside: count them one by one
        found = session.execute(
            select(F.org_path, F.handling_unit, F.lists).where(scope, exact, c.marks_across)
        )
        for path, unit, lists in found:
            facts = CaseFacts("")
            lists_into(facts, lists)
            out.by_pair[(path, unit)].add_marks(facts, period)
    if others:
        found = session.execute(
            select(F.org_path, F.handling_unit, F.resolved_tier, func.count())
            .where(scope, exact, c.resolved_in, F.resolved_tier.not_in(TIERS))
            .group_by(F.org_path, F.handling_unit, F.resolved_tier)
        )
        for path, unit, tier, count in found:
            by_tier = out.by_pair[(path, unit)].resolved_by_tier
            by_tier[tier] = by_tier.get(tier, 0) + count
    if overdue:
        found = session.execute(select(TABLE).where(scope, exact, c.overdue_open))
        out.overdue_open = [from_row(row).facts for row in found]
    out.late = sorted(session.scalars(late_cases(org_path, as_of, dialect)))
    return out
