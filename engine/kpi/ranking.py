"""The ranking of 承办单位 for the monthly 通报: one score per unit that held work in the period.

The score follows the published department formula of domain §8.1 `[S14-impl]` (按期结案率×50 +
结案率×30 + (1−返工率)×10 + (10 − 督办数×0.5 − 督办未处理数)) with the dispute loop's own
figures: **按期办结率** (at the unit's feedback) ×50, **化解率** (in substance) ×30, **1 − 返工率**
×10, and the supervision term ``max(0, 10 − 0.5·督办数 − 督办未处理数)``. A rate without a
denominator (no case of that cohort) is left out and the other rates' weights are scaled up to
the same 90 points, so a unit is not rewarded or punished for work it did not have; a unit with
none of the three is listed unranked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.kpi.kpiset import KpiSet

#: (weight, rate name shown) of the rated part; the supervision term adds up to 10 points
WEIGHTS: tuple[tuple[float, str], ...] = (
    (50.0, "按期办结率"),
    (30.0, "化解率"),
    (10.0, "1−返工率"),
)
RATED_POINTS = 90.0
SUPERVISION_POINTS = 10.0


@dataclass(frozen=True)
class Ranked:
    """One unit's place: ``rank`` 1 is best; None when the unit had no rated work."""

    unit: str
    name: str
    score: float | None
    rank: int | None
    kpis: KpiSet


def _parts(k: KpiSet) -> list[tuple[float, float | None]]:
    rework = k.rework_rate.value
    return [
        (WEIGHTS[0][0], k.on_time_rate.value),
        (WEIGHTS[1][0], k.resolution_rate.value),
        (WEIGHTS[2][0], None if rework is None else 1.0 - rework),
    ]


def score(k: KpiSet) -> float | None:
    """The unit's score out of 100, or None when none of the rated figures has a case."""
    present = [(w, v) for w, v in _parts(k) if v is not None]
    if not present:
        return None
    rated = sum(w * v for w, v in present) / sum(w for w, _ in present) * RATED_POINTS
    supervision = max(0.0, SUPERVISION_POINTS - 0.5 * k.supervisions - k.supervised_open)
    return round(rated + supervision, 2)


def rank_units(units: Iterable[tuple[str, str, KpiSet]]) -> list[Ranked]:
    """``(unit id, name, kpis)`` ranked by score (best first; ties share a rank, then by id)."""
    scored = sorted(
        ((unit, name, kpis, score(kpis)) for unit, name, kpis in units),
        key=lambda x: (x[3] is None, -(x[3] or 0.0), x[0]),
    )
    out: list[Ranked] = []
    previous: float | None = None
    rank = 0
    for position, (unit, name, kpis, value) in enumerate(scored, start=1):
        if value is None:
            out.append(Ranked(unit, name, None, None, kpis))
            continue
        if value != previous:
            rank, previous = position, value
        out.append(Ranked(unit, name, value, rank, kpis))
    return out
