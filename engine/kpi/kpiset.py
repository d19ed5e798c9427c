"""The KPI result types: a reporting period, a rate, the tier targets, and the counts of one
unit and period (:class:`KpiSet`, whose properties are the rates; docs/kpis.md has every formula).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta, timezone

from engine.kpi.facts import CaseFacts
from engine.vocabulary import TIERS

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")


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
    due_on_time: int = 0  # of due: fed back by the handling unit by their due date (按期办结)
    due_closed_on_time: int = 0  # of due: closed (办结 after review and 回访) by their due date
    overdue: int = 0  # of due: open past due at as_of, or closed after due
    closed: int = 0
    resolved: int = 0  # of closed: resolved in substance (feedback resolved, party confirms)
    unverified: int = 0  # of closed: the party never reached at 回访
    resolved_by_tier: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TIERS, 0))
    reopened: int = 0  # of closed: reopened at least once
    reworked: int = 0  # of closed: reworked after a failed check at least once
    revisited: int = 0  # of closed: satisfaction recorded
    evaluated: int = 0  # of revisited: not eval_excluded
    satisfied: int = 0  # of evaluated: satisfaction ≥ 3 (基本满意 or better)
    dispatched: int = 0
    responded: int = 0  # of dispatched: first contact within its limit (响应)
    agreements_due: int = 0  # of closed: with a mediation agreement (履行 checked at 回访)
    agreements_performed: int = 0  # of agreements_due: 回访 found the agreement performed
    red_open: int = 0  # red cases open at the period start (registered before it, not closed)
    red_cleared: int = 0  # of red_open: resolved in substance by as_of (红案清零)
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
    def closed_on_time_rate(self) -> Rate:  # 按期结案率 (at the centre's 办结, for comparison)
        return Rate(self.due_closed_on_time, self.due)

    @property
    def response_rate(self) -> Rate:  # 响应率 (§8.2)
        return Rate(self.responded, self.dispatched)

    @property
    def performance_rate(self) -> Rate:  # 协议履行率
        return Rate(self.agreements_performed, self.agreements_due)

    @property
    def red_clearance_rate(self) -> Rate:  # 红案清零率
        return Rate(self.red_cleared, self.red_open)

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
            self.due_on_time += facts.fed_back_on_time
            self.due_closed_on_time += facts.closed_on_time
            self.overdue += facts.overdue_at(as_of)
        if facts.closed and within(facts.closed_at):
            self.closed += 1
            if facts.resolved and facts.resolved_tier is not None:
                self.resolved += 1
                tier = facts.resolved_tier
                self.resolved_by_tier[tier] = self.resolved_by_tier.get(tier, 0) + 1
            self.unverified += facts.unverified
            if facts.agreements:
                self.agreements_due += 1
                self.agreements_performed += facts.agreement_performed is True
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
            self.responded += facts.responded
        if facts.severity == "red" and facts.open_at(period.start):
            self.red_open += 1
            self.red_cleared += facts.resolved
        self.add_marks(facts, period)
        if facts.ladder_level >= 1 and not facts.closed:
            self.supervised_open += 1

    def add_marks(self, facts: CaseFacts, period: Period) -> None:
        """The facts a period counts one instant at a time (agreements, reworks, corrections,
        improper returns, ladder rises)."""
        if any(at in period for at in facts.agreements):
            self.agreements += 1
            self.jc_applied += bool(facts.jc_applied)
        self.rework_events += sum(1 for at in facts.reworks if at in period)
        self.corrections += sum(1 for at in facts.corrections if at in period)
        self.improper_returns += sum(1 for at in facts.improper_returns if at in period)
        self.supervisions += sum(1 for at, level in facts.rungs if level >= 1 and at in period)

    def merge(self, other: KpiSet) -> None:
        """Add another set's counts (a unit's parts into the unit)."""
        for name in _COUNT_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for tier, n in other.resolved_by_tier.items():
            self.resolved_by_tier[tier] = self.resolved_by_tier.get(tier, 0) + n


_COUNT_FIELDS = tuple(f.name for f in fields(KpiSet) if f.name != "resolved_by_tier")
