"""The organisation tree in memory: parents, children, ancestors, tiers and 综治中心 lookups.

Areas (county → township → village → grid) form the spine of the tree; 综治中心 (kind
``centre``) and departments hang under an area. The tree answers the questions lane resolution
asks: "the village of grid G", "the township centre above grid G", "which unit does user U hold
role R in", and gives materialised paths (``/qs/qs-dc/qs-dc-hp/qs-dc-hp-01/``) for subtree
queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.errors import NotFound
from engine.orgs.config import OrgConfig, RoleGrant, UnitSpec, UserSpec, load_org_config
from engine.vocabulary import TIERS


class UnknownOrg(NotFound):
    """An organisation unit id that is not in the tree."""


@dataclass(frozen=True)
class OrgUser:
    id: str
    display_name: str
    roles: tuple[RoleGrant, ...]
    active: bool = True


def next_tier(tier: str) -> str | None:
    """The tier above ``tier`` (``None`` above the county)."""
    i = TIERS.index(tier)
    return TIERS[i + 1] if i + 1 < len(TIERS) else None


def tier_rank(tier: str) -> int:
    """0 for grid … 3 for county."""
    return TIERS.index(tier)


class OrgTree:
    """An immutable, validated organisation tree with its users."""

    def __init__(self, units: Iterable[UnitSpec], users: Iterable[UserSpec | OrgUser] = ()):
        self._units: dict[str, UnitSpec] = {}
        self._children: dict[str | None, list[str]] = {}
        for u in units:
            if u.id in self._units:
                raise ValueError(f"duplicate unit id {u.id!r}")
            if u.parent_id is not None and u.parent_id not in self._units:
                raise ValueError(f"unit {u.id!r} comes before its parent {u.parent_id!r}")
            self._units[u.id] = u
            self._children.setdefault(u.parent_id, []).append(u.id)
        self._users: dict[str, OrgUser] = {}
        for user in users:
            self._users[user.id] = OrgUser(user.id, user.display_name, user.roles, user.active)

    # ------------------------------------------------------------ construction

    @classmethod
    def from_config(cls, config: OrgConfig) -> OrgTree:
        return cls(config.units, config.users)

    @classmethod
    def load(cls, path: Path | str) -> OrgTree:
        """Read, validate and build a tree from an ``organisations.yaml`` file."""
        return cls.from_config(load_org_config(path))

    # ------------------------------------------------------------ units

    def __contains__(self, org_id: object) -> bool:
        return org_id in self._units

    def __iter__(self) -> Iterator[UnitSpec]:
        return iter(self._units.values())

    def __len__(self) -> int:
        return len(self._units)

    def get(self, org_id: str) -> UnitSpec:
        try:
            return self._units[org_id]
        except KeyError:
            raise UnknownOrg(f"unknown organisation unit {org_id!r}", org_id=org_id) from None

    def find(self, org_id: str | None) -> UnitSpec | None:
        return self._units.get(org_id) if org_id else None

    @property
    def roots(self) -> list[UnitSpec]:
        return [self._units[i] for i in self._children.get(None, [])]

    def parent(self, org_id: str) -> UnitSpec | None:
        pid = self.get(org_id).parent_id
        return self._units[pid] if pid is not None else None

    def children(self, org_id: str, kind: str | None = None) -> list[UnitSpec]:
        self.get(org_id)
        found = [self._units[i] for i in self._children.get(org_id, [])]
        return [u for u in found if kind is None or u.kind == kind]

    def ancestors(self, org_id: str, *, include_self: bool = False) -> list[UnitSpec]:
        """Nearest first: parent, grandparent, … (the unit itself first if asked)."""
        unit = self.get(org_id)
        out = [unit] if include_self else []
        while unit.parent_id is not None:
            unit = self._units[unit.parent_id]
            out.append(unit)
        return out

    def descendants(self, org_id: str) -> list[UnitSpec]:
        """The subtree below ``org_id`` (depth first, not including the unit itself)."""
        out: list[UnitSpec] = []
        stack = list(reversed(self._children.get(self.get(org_id).id, [])))
        while stack:
            uid = stack.pop()
            out.append(self._units[uid])
            stack.extend(reversed(self._children.get(uid, [])))
        return out

    def path(self, org_id: str) -> str:
        """Materialised path ``/county/township/village/grid/`` (a subtree is a path prefix)."""
        return self.get(org_id).path

    def is_within(self, org_id: str, ancestor_id: str) -> bool:
        """True when ``org_id`` is ``ancestor_id`` or lies in its subtree."""
        return self.path(org_id).startswith(self.path(ancestor_id))

    def tier_of(self, org_id: str) -> str:
        return self.get(org_id).tier

    def area(self, org_id: str, kind: str) -> UnitSpec | None:
        """The area of ``kind`` (grid/village/township/county) containing ``org_id``, or None."""
        for unit in self.ancestors(org_id, include_self=True):
            if unit.kind == kind:
                return unit
        return None

    def centre_of(self, area_id: str) -> UnitSpec | None:
        """The 综治中心 directly under an area, or None."""
        centres = self.children(area_id, kind="centre")
        return centres[0] if centres else None

    def centre_above(self, org_id: str, tier: str) -> UnitSpec | None:
        """The 综治中心 of the ``tier`` area holding ``org_id`` ("the township centre above G")."""
        area = self.area(org_id, tier)
        return self.centre_of(area.id) if area is not None else None

    def units_of_kind(self, kind: str) -> list[UnitSpec]:
        return [u for u in self._units.values() if u.kind == kind]

    # ------------------------------------------------------------ users

    @property
    def users(self) -> Mapping[str, OrgUser]:
        return self._users

    def user(self, user_id: str) -> OrgUser | None:
        return self._users.get(user_id)

    def units_of_user(self, user_id: str, role: str | None = None) -> list[UnitSpec]:
        user = self._users.get(user_id)
        if user is None:
            return []
        return [self._units[g.org_id] for g in user.roles if role is None or g.role == role]

    def users_with_role(self, org_id: str, role: str) -> list[OrgUser]:
        return [
            u
            for u in self._users.values()
            if u.active and any(g.org_id == org_id and g.role == role for g in u.roles)
        ]
