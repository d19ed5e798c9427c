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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from itertools import groupby
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import DateTime, Select, and_, case, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from engine.audit_verify import SUMMARY_EVENT
from engine.kpi.facts import CaseFacts, EventLike, fold_case
from engine.kpi.labels import TIERS
from engine.storage.models import AuditEvent, JsonType, OrgUnit

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
BATCH = 2000


# ------------------------------------------------------------------------------ period


@dataclass(frozen=True)
class Period:
    """A reporting period in Beijing time: a month ``2026-10``, a quarter ``2026-Q4``, a year."""

    label: str
    start: datetime
    end: datetime

    @classmethod
    def parse(cls, text: str) -> Period:
        text = text.strip()
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            year, month = int(m[1]), int(m[2])
            if not 1 <= month <= 12:
                raise ValueError(f"no month {month} in {text!r}")
            return cls._span(f"{year}-{month:02d}", year, month, 1)
        if m := re.fullmatch(r"(\d{4})-Q([1-4])", text, re.IGNORECASE):
            year, quarter = int(m[1]), int(m[2])
            return cls._span(f"{year}-Q{quarter}", year, 3 * quarter - 2, 3)
        if re.fullmatch(r"\d{4}", text):
            return cls._span(text, int(text), 1, 12)
        raise ValueError(f"a period is YYYY-MM, YYYY-Qn or YYYY, not {text!r}")

    @classmethod
    def _span(cls, label: str, year: int, month: int, months: int) -> Period:
        start = datetime(year, month, 1, tzinfo=BEIJING)
        end_month = month + months
        end = datetime(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1, tzinfo=BEIJING)
        return cls(label, start.astimezone(UTC), end.astimezone(UTC))

    def __contains__(self, moment: object) -> bool:
        return isinstance(moment, datetime) and self.start <= moment < self.end

    def previous(self, count: int = 1) -> list[Period]:
        """The ``count`` months before this one (a month period), oldest first."""
        out: list[Period] = []
        local = self.start.astimezone(BEIJING)
        year, month = local.year, local.month
        for _ in range(count):
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
            out.append(Period.parse(f"{year}-{month:02d}"))
        return list(reversed(out))


# ------------------------------------------------------------------------------ results


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def percent(self) -> str:
        v = self.value
        return "—" if v is None else f"{v * 100:.1f}%"


@dataclass(frozen=True)
class TierTarget:
    """A configurable target on the resolution-tier distribution (domain §5.2: village ≥70 %)."""

    tier: str
    minimum: float | None = None
    maximum: float | None = None

    def met(self, share: float | None) -> bool | None:
        if share is None:
            return None
        return (self.minimum is None or share >= self.minimum) and (
            self.maximum is None or share <= self.maximum
        )


DEFAULT_TARGETS = (TierTarget("village", minimum=0.70), TierTarget("township", maximum=0.30))


@dataclass
class KpiSet:
    """Counts for one unit and period; the rates are properties over them."""

    registered: int = 0
    escalated_up: int = 0  # of registered: escalated above township
    due: int = 0
    due_closed: int = 0  # of due: closed by as_of
    due_on_time: int = 0  # of due: closed by their due date
    overdue: int = 0  # of due: open past due at as_of, or closed after due
    closed: int = 0
    resolved: int = 0
    resolved_by_tier: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0))
    reopened: int = 0  # of closed: reopened at least once
    reworked: int = 0  # of closed: reworked after a failed check at least once
    revisited: int = 0  # of closed: satisfaction recorded
    evaluated: int = 0  # of revisited: not eval_excluded
    satisfied: int = 0  # of evaluated: satisfaction ≥ 3 (基本满意 or better)
    dispatched: int = 0
    returned: int = 0  # of dispatched: a return (退单) requested
    agreements: int = 0
    jc_applied: int = 0  # of agreements: 司法确认 applied
    rework_events: int = 0
    corrections: int = 0  # approved returns = dispatch errors (错派), apart from rework
    improper_returns: int = 0  # denied returns (不当退单)
    supervisions: int = 0  # ladder rises to 警示 or above in P (督办数)
    supervised_open: int = 0  # cases under 督办 (≥ 警示) still open at as_of (督办未处理数)

    # ---- rates (domain §8.3 unless noted)
    @property
    def on_time_rate(self) -> Rate:  # 按期办结率
        return Rate(self.due_on_time, self.due)

    @property
    def closure_rate(self) -> Rate:  # 办结率 (§8.2/§8.1 结案率 on the due cohort)
        return Rate(self.due_closed, self.due)

    @property
    def overdue_rate(self) -> Rate:  # 超期率
        return Rate(self.overdue, self.due)

    @property
    def resolution_rate(self) -> Rate:  # 化解率
        return Rate(self.resolved, self.closed)

    def tier_share(self, tier: str) -> Rate:  # 化解层级分布
        return Rate(self.resolved_by_tier.get(tier, 0), self.resolved)

    @property
    def upward_rate(self) -> Rate:  # 矛盾上行率
        return Rate(self.escalated_up, self.registered)

    @property
    def reopen_rate(self) -> Rate:  # 重复率/重办率
        return Rate(self.reopened, self.closed)

    @property
    def rework_rate(self) -> Rate:  # 返工率 (§8.1: 返工数/应结案数)
        return Rate(self.reworked, self.closed)

    @property
    def return_rate(self) -> Rate:  # 退单率 (§8.2)
        return Rate(self.returned, self.dispatched)

    @property
    def revisit_rate(self) -> Rate:  # 回访率
        return Rate(self.revisited, self.closed)

    @property
    def satisfaction_rate(self) -> Rate:  # 满意率 (eval_excluded left out, §8.2 [S17])
        return Rate(self.satisfied, self.evaluated)

    @property
    def jc_rate(self) -> Rate:  # 司法确认率
        return Rate(self.jc_applied, self.agreements)

    def add(self, facts: CaseFacts, period: Period, as_of: datetime) -> None:
        def within(moment: datetime | None) -> bool:
            return moment is not None and moment in period

        if within(facts.registered_at):
            self.registered += 1
            if facts.to_county_at is not None:
                self.escalated_up += 1
        if within(facts.due_at):
            self.due += 1
            self.due_closed += facts.closed
            self.due_on_time += facts.closed_on_time
            self.overdue += facts.overdue_at(as_of)
        if facts.closed and within(facts.closed_at):
            self.closed += 1
            if facts.resolved and facts.resolved_tier is not None:
                self.resolved += 1
                tier = facts.resolved_tier
                self.resolved_by_tier[tier] = self.resolved_by_tier.get(tier, 0) + 1
            self.reopened += bool(facts.reopens)
            self.reworked += bool(facts.reworks)
            if facts.satisfaction is not None:
                self.revisited += 1
                if not facts.eval_excluded:
                    self.evaluated += 1
                    self.satisfied += facts.satisfaction >= 3
        if within(facts.dispatched_at):
            self.dispatched += 1
            self.returned += bool(facts.returns)
        if any(within(at) for at in facts.agreements):
            self.agreements += 1
            self.jc_applied += bool(facts.jc_applied)
        self.rework_events += sum(1 for at in facts.reworks if within(at))
        self.corrections += sum(1 for at in facts.corrections if within(at))
        self.improper_returns += sum(1 for at in facts.improper_returns if within(at))
        self.supervisions += sum(1 for at, level in facts.rungs if level >= 1 and within(at))
        if facts.ladder_level >= 1 and not facts.closed:
            self.supervised_open += 1


@dataclass(frozen=True)
class UnitKpis:
    org_path: str
    name: str
    kpis: KpiSet


@dataclass(frozen=True)
class KpiReport:
    """One unit's KPIs for a period, with a row per child unit (the roll-up's parts)."""

    org_path: str
    name: str
    period: Period
    as_of: datetime
    total: KpiSet
    units: tuple[UnitKpis, ...]
    targets: tuple[TierTarget, ...]
    overdue_open: tuple[CaseFacts, ...]  # open and past due at as_of (oldest due first)


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


def _event_rows(org_path: str, as_of: datetime, dialect: str) -> Select[Any]:
    """Core rows shaped like :class:`~engine.kpi.facts.EventLike`, in (case, seq) order.

    Only what the fold reads: the events of :data:`FOLDED` types, plus any other event that is
    the last of a run of equal ``org_path`` or the first of a run of equal ``at`` (so the fold
    sees the same last path and the same command boundaries as over every event — about 40 %
    of the rows are left out); ``data_before`` only for ``case_updated``, ``data_after`` only for
    it and ``task_completed``, ``details`` only for retention summaries. ``at`` is read as a
    plain timestamp (the fold normalises it to UTC itself).
    """
    if dialect == "sqlite" and org_path:  # LIKE is case-insensitive and unindexed there
        nxt = org_path[:-1] + chr(ord(org_path[-1]) + 1)
        under = and_(AuditEvent.org_path >= org_path, AuditEvent.org_path < nxt)
    else:  # PostgreSQL: LIKE 'prefix%' through ix_audit_events_org (varchar_pattern_ops)
        under = AuditEvent.org_path.startswith(org_path, autoescape=True)
    in_scope = select(AuditEvent.case_no).where(under).distinct()
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
        .where(AuditEvent.case_no.in_(in_scope), AuditEvent.at < as_of)
        .subquery()
    )
    kind = ev.c.event_type
    return (
        select(
            ev.c.case_no,
            ev.c.seq,
            kind,
            ev.c.at,
            ev.c.org_path,
            ev.c.element_id,
            type_coerce(case((kind == _UPDATE, ev.c.data_before)), JsonType).label("data_before"),
            type_coerce(case((kind.in_((_UPDATE, _COMPLETED)), ev.c.data_after)), JsonType).label(
                "data_after"
            ),
            type_coerce(case((kind == SUMMARY_EVENT, ev.c.details)), JsonType).label("details"),
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


def iter_case_facts(session: Session, org_path: str, as_of: datetime) -> Iterator[CaseFacts]:
    """Facts of every case under ``org_path`` from its events before ``as_of`` (streamed).

    SQLAlchemy Core rows (no ORM identity map, no per-object hydration or expunge), fetched in
    batches of :data:`BATCH` through a server-side cursor where the driver has one.
    """
    stmt = _event_rows(org_path, as_of, session.get_bind().dialect.name)
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


def _child_of(org_path: str, case_path: str) -> str | None:
    rest = case_path[len(org_path) :]
    segment = rest.split("/", 1)[0]
    return f"{org_path}{segment}/" if segment else None


def compute(
    session: Session,
    org: str,
    period: Period,
    now: datetime,
    *,
    targets: Iterable[TierTarget] = DEFAULT_TARGETS,
) -> KpiReport:
    """The KPIs of ``org`` (an org unit id or path) for ``period``, as of ``min(end, now)``."""
    org_path, name = org_path_of(session, org)
    as_of = min(period.end, now)
    total = KpiSet()
    units: dict[str, KpiSet] = {}
    overdue: list[CaseFacts] = []
    for facts in iter_case_facts(session, org_path, as_of):
        path = facts.org_path or ""
        if not path.startswith(org_path):
            continue  # the case moved out of the subtree
        total.add(facts, period, as_of)
        child = _child_of(org_path, path)
        if child is not None:
            units.setdefault(child, KpiSet()).add(facts, period, as_of)
        if not facts.closed and facts.due_at is not None and facts.due_at < as_of:
            overdue.append(facts)
    names = _child_names(session, org_path)
    rows = tuple(
        UnitKpis(path, names.get(path, path.rstrip("/").rsplit("/", 1)[-1]), kpis)
        for path, kpis in sorted(units.items())
    )
    overdue.sort(key=lambda f: (f.due_at or as_of, f.case_no))
    return KpiReport(org_path, name, period, as_of, total, rows, tuple(targets), tuple(overdue))


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
    }
    for tier in TIERS:
        rates[f"化解层级占比·{tier}"] = kpis.tier_share(tier)
    return rates
