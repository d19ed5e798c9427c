"""Where a matter arose: WGS-84 coordinates (as a phone's GPS gives them) and the address as
written. Distances are equirectangular — within a few metres of the great-circle distance over
the few kilometres a township covers — so a radius search is plain arithmetic that both
databases run in SQL."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

METRES_PER_DEGREE = 111_320.0


@dataclass(frozen=True, slots=True)
class Point:
    lat: float
    lng: float


def point_of(data: Mapping[str, Any]) -> Point | None:
    """The report's ``geo`` ({"lat": …, "lng": …}) when it holds two finite numbers in range."""
    geo = data.get("geo")
    if not isinstance(geo, Mapping):
        return None
    lat, lng = geo.get("lat"), geo.get("lng")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lat, lng)):
        return None
    assert isinstance(lat, int | float) and isinstance(lng, int | float)
    if not (math.isfinite(lat) and math.isfinite(lng)):
        return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0):
        return None
    return Point(float(lat), float(lng))


def address_of(data: Mapping[str, Any]) -> str | None:
    """The report's ``location`` (发生地点), the address as written."""
    text = data.get("location")
    return text.strip()[:200] or None if isinstance(text, str) else None


def distance_m(a: Point, b: Point) -> float:
    k = math.cos(math.radians((a.lat + b.lat) / 2))
    dy = (a.lat - b.lat) * METRES_PER_DEGREE
    dx = (a.lng - b.lng) * METRES_PER_DEGREE * k
    return math.hypot(dx, dy)


@dataclass(frozen=True, slots=True)
class Circle:
    """A radius search: the cases within ``radius_m`` metres of ``centre``."""

    centre: Point
    radius_m: float

    def box(self) -> tuple[float, float, float, float]:
        """(min_lat, max_lat, min_lng, max_lng) around the circle, for the index."""
        dlat = self.radius_m / METRES_PER_DEGREE
        dlng = self.radius_m / (
            METRES_PER_DEGREE * max(math.cos(math.radians(self.centre.lat)), 1e-6)
        )
        c = self.centre
        return c.lat - dlat, c.lat + dlat, c.lng - dlng, c.lng + dlng

    @property
    def lng_scale(self) -> float:
        return math.cos(math.radians(self.centre.lat))


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle: south-west and north-east corners."""

    min_lat: float
    min_lng: float
    max_lat: float
    max_lng: float
