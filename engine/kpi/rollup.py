"""Dispute KPIs (domain §8.3, plus §8.1–8.2 rates the 综治中心 reports) per org unit and period.

Inputs are only the audit events (engine/kpi/facts.py folds them into one ``CaseFacts`` per
case); a case belongs to the unit whose ``org_path`` prefixes the case's ``org_path`` (where the
matter arose), so a unit's figures include its whole subtree (roll-up to parents is by
construction). Facts are taken **as of** the period end (events after it are not read), so a
past month's report can be recomputed and gives the same numbers (until retention purges).

Cohorts (period P = [start, end), as_of = min(end, now)):

===================== ==========================================================
due in P              ``due_at`` ∈ P           按期办结率, 办结率, 超期数/超期率
closed in P           last closure ∈ P         化解率, 化解层级分布, 重办率, 返工率, 回访率, 满意率
registered in P       first registered state ∈ P   矛盾上行率
dispatched in P       first DISPATCHED ∈ P     退单率
agreement in P        an agreement ∈ P         司法确认率
events in P           each event ∈ P           督办数, 错派数, 不当退单数, 返工次数
===================== ==========================================================

Two ways to the same numbers:

* :func:`compute` — the report: the per-case facts kept in ``case_facts`` (engine/kpi/store.py)
  are first brought up to date for events written without the engine (engine/kpi/catchup.py),
  then summed in SQL (engine/kpi/sums.py) for the cases whose every event is before ``as_of``;
  the few cases with later events (a past period) are folded from the record as of ``as_of``.
* :func:`compute_from_record` — the fold of every case's record in the unit (no facts table):
  the definition the tests hold the report to, and the benchmark's "before".
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import DateTime, Select, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine.kpi.catchup import bring_up_to_date
from engine.kpi.facts import CONTACT, CaseFacts, EventLike, fold_case
from engine.kpi.kpiset import BEIJING, DEFAULT_TARGETS, KpiSet, Period, Rate, TierTarget
from engine.kpi.sums import sums, under
from engine.storage.dialects import dialect_of
from engine.storage.models import AuditEvent, OrgUnit
from engine.vocabulary import SUMMARY_EVENT, TIERS

__all__ = [
    "BEIJING",
    "DEFAULT_TARGETS",
    "HandlerKpis",
    "KpiReport",
    "KpiSet",
    "Period",
    "Rate",
    "TierTarget",
    "UnitKpis",
    "as_mapping",
    "compute",
    "compute_from_record",
    "iter_case_facts",
    "org_path_of",
    "trend",
]

BATCH = 2000
LATE_CHUNK = 1000


@dataclass(frozen=True)
class UnitKpis:
    org_path: str
    name: str
    kpis: KpiSet


@dataclass(frozen=True)
class HandlerKpis:
    """The KPIs of one 承办单位 (``unit``: org id), over the cases it held in the report's area."""

    unit: str
    name: str
    kpis: KpiSet


@dataclass(frozen=True)
class KpiReport:
    """One unit's KPIs for a period, with a row per child unit (the roll-up's parts, by where
    the matter arose) and a row per 承办单位 that held the work (``handlers``)."""

    org_path: str
    name: str
    period: Period
    as_of: datetime
    total: KpiSet
    units: tuple[UnitKpis, ...]
    targets: tuple[TierTarget, ...]
    overdue_open: tuple[CaseFacts, ...]  # open and past due at as_of (oldest due first)
    handlers: tuple[HandlerKpis, ...] = ()  # by 承办单位 (cases never given to a unit: none)


# ------------------------------------------------------------------------------ reading


_UPDATE = "case_updated"
_COMPLETED = "task_completed"
#: the event types the fold acts on (engine/kpi/facts.py); any other event matters to it only
#: through its ``org_path`` (the last one wins) and its instant (an instant change ends the
#: look-ahead for the task a completion created)
FOLDED = (
    "instance_started",
    _UPDATE,
    _COMPLETED,
    "task_created",
    "rework",
    "dispatch_corrected",
    SUMMARY_EVENT,
)


def _event_rows(
    org_path: str, as_of: datetime, dialect: str, cases: Sequence[str] | None = None
) -> Select[Any]:
    """Core rows shaped like :class:`~engine.kpi.facts.EventLike`, in (case, seq) order.

    The cases: those with an event under ``org_path``, or the given ``cases``. Only what the
    fold reads: the events of :data:`FOLDED` types, plus any other event that is the last of a
    run of equal ``org_path`` or the first of a run of equal ``at`` (so the fold sees the same
    last path and the same command boundaries as over every event — about 40 % of the rows are
    left out); ``data_before`` only for ``case_updated``, ``data_after`` only for it and
    ``task_completed``, ``details`` only for retention summaries. ``at`` is read as a plain
    timestamp (the fold normalises it to UTC itself).
    """
    if cases is None:
        chosen = AuditEvent.case_no.in_(
            select(AuditEvent.case_no)
            .where(under(AuditEvent.org_path, org_path, dialect))
            .distinct()
        )
    else:
        chosen = AuditEvent.case_no.in_(cases)
    ev = (
        select(
            AuditEvent.case_no,
            AuditEvent.seq,
            AuditEvent.event_type,
            type_coerce(AuditEvent.at, DateTime(timezone=True)).label("at"),
            AuditEvent.org_path,
            AuditEvent.element_id,
            AuditEvent.data_before,
            AuditEvent.data_after,
            AuditEvent.details,
            func.lead(AuditEvent.org_path)
            .over(partition_by=AuditEvent.case_no, order_by=AuditEvent.seq)
            .label("next_org"),
            func.lag(AuditEvent.at)
            .over(partition_by=AuditEvent.case_no, order_by=AuditEvent.seq)
            .label("prev_at"),
        )
        .where(chosen, AuditEvent.at < as_of)
        .subquery()
    )
    kind = ev.c.event_type

    def only(condition: Any, column: Any, like: Any) -> Any:
        return type_coerce(case((condition, column)), like.type)

    return (
        select(
            ev.c.case_no,
            ev.c.seq,
            kind,
            ev.c.at,
            ev.c.org_path,
            ev.c.element_id,
            only(kind == _UPDATE, ev.c.data_before, AuditEvent.data_before).label("data_before"),
            only(kind.in_((_UPDATE, _COMPLETED)), ev.c.data_after, AuditEvent.data_after).label(
                "data_after"
            ),
            only(
                or_(kind == SUMMARY_EVENT, and_(kind == _COMPLETED, ev.c.element_id == CONTACT)),
                ev.c.details,
                AuditEvent.details,
            ).label("details"),
        )
        .where(
            or_(
                kind.in_(FOLDED),
                ev.c.org_path.is_distinct_from(ev.c.next_org),
                ev.c.at.is_distinct_from(ev.c.prev_at),
            )
        )
        .order_by(ev.c.case_no, ev.c.seq)
    )


def iter_case_facts(
    session: Session, org_path: str, as_of: datetime, *, cases: Sequence[str] | None = None
) -> Iterator[CaseFacts]:
    """Facts from the record, as of ``as_of``, of every case with an event under ``org_path``
    (or of the given ``cases``), streamed.

    SQLAlchemy Core rows (no ORM identity map, no per-object hydration or expunge), fetched in
    batches of :data:`BATCH` through a server-side cursor where the driver has one.
    """
    stmt = _event_rows(org_path, as_of, dialect_of(session), cases)
    result = session.execute(stmt, execution_options={"yield_per": BATCH})
    try:  # a caller that stops early must not leave the server-side cursor open
        for case_no, events in groupby(result, key=itemgetter(0)):
            yield fold_case(case_no, cast("list[EventLike]", list(events)))
    finally:
        result.close()


def org_path_of(session: Session, org: str) -> tuple[str, str]:
    """``(path, name)`` of an org unit id, or of a path given directly (``/county/town/``)."""
    unit = session.get(OrgUnit, org)
    if unit is not None:
        return unit.path, unit.name
    if org.startswith("/"):
        return (org if org.endswith("/") else org + "/"), org
    raise LookupError(f"没有组织单元 {org!r} (no org unit {org!r})")


def _child_names(session: Session, org_path: str) -> dict[str, str]:
    rows = session.execute(
        select(OrgUnit.path, OrgUnit.name).where(OrgUnit.path.startswith(org_path, autoescape=True))
    )
    return {path: name for path, name in rows}


def _unit_names(session: Session, units: Iterable[str]) -> dict[str, str]:
    ids = list(units)
    if not ids:
        return {}
    rows = session.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(ids)))
    return {unit: name for unit, name in rows}


def _child_of(org_path: str, case_path: str) -> str | None:
    rest = case_path[len(org_path) :]
    segment = rest.split("/", 1)[0]
    return f"{org_path}{segment}/" if segment else None


@dataclass
class _Tally:
    """A report being put together: the unit's total, its child units and the overdue cases."""

    org_path: str
    period: Period
    as_of: datetime
    total: KpiSet = field(default_factory=KpiSet)
    units: dict[str, KpiSet] = field(default_factory=dict)
    overdue: list[CaseFacts] = field(default_factory=list)
    handlers: dict[str, KpiSet] = field(default_factory=dict)

    def add_facts(self, facts: CaseFacts) -> None:
        """One case folded from the record."""
        path = facts.org_path or ""
        if not path.startswith(self.org_path):
            return  # the case had moved out of the subtree by as_of
        self.total.add(facts, self.period, self.as_of)
        child = _child_of(self.org_path, path)
        if child is not None:
            self.units.setdefault(child, KpiSet()).add(facts, self.period, self.as_of)
        if facts.handling_unit:
            unit = self.handlers.setdefault(facts.handling_unit, KpiSet())
            unit.add(facts, self.period, self.as_of)
        if not facts.closed and facts.due_at is not None and facts.due_at < self.as_of:
            self.overdue.append(facts)

    def add_sums(self, path: str, unit: str | None, kpis: KpiSet) -> None:
        """The summed counts of the cases at one ``org_path`` held by one unit."""
        self.total.merge(kpis)
        child = _child_of(self.org_path, path)
        if child is not None:
            self.units.setdefault(child, KpiSet()).merge(kpis)
        if unit:
            self.handlers.setdefault(unit, KpiSet()).merge(kpis)

    def report(self, session: Session, name: str, targets: Iterable[TierTarget]) -> KpiReport:
        names = _child_names(session, self.org_path)
        rows = tuple(
            UnitKpis(path, names.get(path, path.rstrip("/").rsplit("/", 1)[-1]), kpis)
            for path, kpis in sorted(self.units.items())
        )
        self.overdue.sort(key=lambda f: (f.due_at or self.as_of, f.case_no))
        unit_names = _unit_names(session, self.handlers)
        handlers = tuple(
            HandlerKpis(unit, unit_names.get(unit, unit), kpis)
            for unit, kpis in sorted(self.handlers.items())
        )
        return KpiReport(
            self.org_path,
            name,
            self.period,
            self.as_of,
            self.total,
            rows,
            tuple(targets),
            tuple(self.overdue),
            handlers,
        )


def compute(
    session: Session,
    org: str,
    period: Period,
    now: datetime,
    *,
    targets: Iterable[TierTarget] = DEFAULT_TARGETS,
) -> KpiReport:
    """The KPIs of ``org`` (an org unit id or path) for ``period``, as of ``min(end, now)``.

    Summed in SQL over the facts table; cases with events at or after ``as_of`` are folded
    from the record instead (their stored facts are newer than the report's moment).
    """
    org_path, name = org_path_of(session, org)
    as_of = min(period.end, now)
    bring_up_to_date(session)
    found = sums(session, org_path, period, as_of)
    tally = _Tally(org_path, period, as_of, overdue=found.overdue_open)
    for (path, unit), kpis in found.by_pair.items():
        tally.add_sums(path, unit, kpis)
    for i in range(0, len(found.late), LATE_CHUNK):
        for facts in iter_case_facts(
            session, org_path, as_of, cases=found.late[i : i + LATE_CHUNK]
        ):
            tally.add_facts(facts)
    return tally.report(session, name, targets)


def compute_from_record(
    session: Session,
    org: str,
    period: Period,
    now: datetime,
    *,
    targets: Iterable[TierTarget] = DEFAULT_TARGETS,
) -> KpiReport:
    """The same report folded from the record of every case in the unit (no facts table)."""
    org_path, name = org_path_of(session, org)
    as_of = min(period.end, now)
    tally = _Tally(org_path, period, as_of)
    for facts in iter_case_facts(session, org_path, as_of):
        tally.add_facts(facts)
    return tally.report(session, name, targets)


def trend(
    session: Session, org: str, period: Period, now: datetime, months: int = 6
) -> list[tuple[Period, KpiSet]]:
    """The KPIs of the ``months`` months up to and including ``period`` (a month), oldest first."""
    return [
        (p, compute(session, org, p, now).total) for p in [*period.previous(months - 1), period]
    ]


def as_mapping(kpis: KpiSet) -> Mapping[str, Rate]:
    """The rates by Chinese name, in report order."""
    rates = {
        "按期办结率": kpis.on_time_rate,
        "按期结案率": kpis.closed_on_time_rate,
        "办结率": kpis.closure_rate,
        "超期率": kpis.overdue_rate,
        "化解率": kpis.resolution_rate,
        "矛盾上行率": kpis.upward_rate,
        "重办率": kpis.reopen_rate,
        "返工率": kpis.rework_rate,
        "退单率": kpis.return_rate,
        "回访率": kpis.revisit_rate,
        "满意率": kpis.satisfaction_rate,
        "司法确认率": kpis.jc_rate,
        "协议履行率": kpis.performance_rate,
        "响应率": kpis.response_rate,
        "红案清零率": kpis.red_clearance_rate,
    }
    for tier in TIERS:
        rates[f"化解层级占比·{tier}"] = kpis.tier_share(tier)
    return rates
