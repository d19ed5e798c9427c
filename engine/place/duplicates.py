"""Possible duplicates (疑似重复) of a new report: an open case of the same category, near it
(within ``radius_m`` when both have coordinates, else in the same grid) and sharing a party (the
same name or the same telephone number). The screener (甄别) decides; nothing is merged
automatically."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine.place.geo import Circle, Point, distance_m, point_of
from engine.storage.models import Case

RADIUS_M = 500.0
LIMIT = 10
_SPACE = re.compile(r"\s+")


def _category(values: Mapping[str, Any]) -> str | None:
    for key in ("category", "category_hint"):
        value = values.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def party_keys(parties: Any) -> set[str]:
    """Names (spaces removed, case folded) and telephone digits of the parties."""
    keys: set[str] = set()
    if not isinstance(parties, Iterable) or isinstance(parties, str | bytes | Mapping):
        return keys
    for party in parties:
        if not isinstance(party, Mapping):
            continue
        name = party.get("name")
        if isinstance(name, str) and _SPACE.sub("", name):
            keys.add("n:" + _SPACE.sub("", name).casefold())
        phone = party.get("phone")
        if isinstance(phone, str):
            digits = "".join(ch for ch in phone if ch.isdigit())
            if len(digits) >= 5:
                keys.add("p:" + digits[-11:])
    return keys


def possible_duplicates(
    s: Session, data: Mapping[str, Any], *, radius_m: float = RADIUS_M
) -> list[dict[str, Any]]:
    """The open cases the new report (its start data) may duplicate, nearest first."""
    category = _category(data)
    mine = party_keys(data.get("parties"))
    if category is None or not mine:
        return []
    point = point_of(data)
    grid = data.get("grid_code")
    near = []
    if point is not None:
        lo_lat, hi_lat, lo_lng, hi_lng = Circle(point, radius_m).box()
        near.append(and_(Case.lat.between(lo_lat, hi_lat), Case.lng.between(lo_lng, hi_lng)))
    if isinstance(grid, str):
        # Without coordinates on both sides, "near" is the same grid.
        near.append(
            Case.org_id == grid if point is None else and_(Case.org_id == grid, Case.lat.is_(None))
        )
    if not near:
        return []
    query = (
        select(Case)
        .where(Case.closed_at.is_(None), or_(*near))
        .order_by(Case.reported_at.desc())
        .limit(200)
    )
    found: list[dict[str, Any]] = []
    for case in s.scalars(query):
        fields = case.fields or {}
        if _category({"category": case.category, **fields}) != category:
            continue
        shared = mine & party_keys(fields.get("parties"))
        if not shared:
            continue
        metres = None
        if point is not None and case.lat is not None and case.lng is not None:
            metres = distance_m(point, Point(case.lat, case.lng))
            if metres > radius_m:
                continue
        found.append(
            {"case_no": case.case_no, "title": case.title, "distance_m": (
                None if metres is None else round(metres)), "shared_parties": len(shared)}
        )  # fmt: skip
    found.sort(key=lambda d: (d["distance_m"] is None, d["distance_m"] or 0))
    return found[:LIMIT]
