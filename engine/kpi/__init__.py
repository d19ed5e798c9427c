"""KPIs computed from the audit record (domain §8): per org unit with roll-up, per period.

``facts`` folds a case's events into :class:`CaseFacts`; ``store`` keeps that fold per case in
``case_facts``, advanced by each command that appends events (``catchup`` covers events written
otherwise); ``sums`` counts a period's facts in SQL and ``compute`` puts the report together
(a :class:`KpiSet` per unit — by the area where the matter arose and by the 承办单位 that held
the work — whose properties are the rates; docs/kpis.md has every formula); ``ranking`` scores
the 承办单位 for the monthly 通报.
"""

from engine.kpi.catchup import catch_up, rebuild
from engine.kpi.facts import CaseFacts, Fold, fold_case
from engine.kpi.ranking import Ranked, rank_units, score
from engine.kpi.rollup import (
    DEFAULT_TARGETS,
    HandlerKpis,
    KpiReport,
    KpiSet,
    Period,
    Rate,
    TierTarget,
    UnitKpis,
    as_mapping,
    compute,
    compute_from_record,
    iter_case_facts,
    trend,
)

__all__ = [
    "DEFAULT_TARGETS",
    "CaseFacts",
    "Fold",
    "HandlerKpis",
    "KpiReport",
    "KpiSet",
    "Period",
    "Ranked",
    "Rate",
    "TierTarget",
    "UnitKpis",
    "as_mapping",
    "catch_up",
    "compute",
    "compute_from_record",
    "fold_case",
    "iter_case_facts",
    "rank_units",
    "rebuild",
    "score",
    "trend",
]
