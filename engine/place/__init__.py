"""Place (位置): where a matter arose — coordinates and address on 上报, searches by area, and the
possible duplicates of a new report near an open case (``duplicates``)."""

from engine.place.duplicates import RADIUS_M, party_keys, possible_duplicates
from engine.place.geo import (
    METRES_PER_DEGREE,
    Box,
    Circle,
    Point,
    address_of,
    distance_m,
    point_of,
)

__all__ = [
    "METRES_PER_DEGREE",
    "RADIUS_M",
    "Box",
    "Circle",
    "Point",
    "address_of",
    "distance_m",
    "party_keys",
    "point_of",
    "possible_duplicates",
]
