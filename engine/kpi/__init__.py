"""KPIs computed from the audit record (domain §8): per org unit with roll-up, per period.

``facts`` folds a case's events into :class:`CaseFacts`; ``compute`` counts them per unit and
period into a :class:`KpiSet` whose properties are the rates (docs/kpis.md has every formula).
"""

from engine.kpi.compute import (
    DEFAULT_TARGETS,
    KpiReport,
    KpiSet,
    Period,
    Rate,
    TierTarget,
    UnitKpis,
    compute,
    iter_case_facts,
    trend,
)
from engine.kpi.facts import CaseFacts, fold_case

__all__ = [
    "DEFAULT_TARGETS",
    "CaseFacts",
    "KpiReport",
    "KpiSet",
    "Period",
    "Rate",
    "TierTarget",
    "UnitKpis",
    "compute",
    "fold_case",
    "iter_case_facts",
    "trend",
]
