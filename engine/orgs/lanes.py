"""Lane → candidates: who may work on a human task, from its lane and the case's data.

``processes/lanes.yaml`` maps every lane name drawn in the BPMN to a role and a rule that finds
the organisation unit from the instance data (the case's ``grid_code``, its current ``tier``, the
chosen ``handling_unit``, the ``case_leader``, the whistled department …). The format is described
in that file and in docs/processes.md; in short::

    lanes:
      乡镇(街道)综治中心: {role: township_center, org: {centre: township}}
      承办单位/职能部门:
        org: {field: handling_unit}
        role_by_kind: {grid: grid_worker, village: village_cmte, default: handling_unit}
      当前层级综治中心:
        by_tier:
          township: {role: township_center, org: {centre: township}}
          county:   {role: county_center, org: {centre: county}}
      包案领导: {role: case_leader, assignee: {field: case_leader}, org: {user_unit: case_leader}}
    fallback: {role: county_center, org: {centre: county}}

Org rules (exactly one key): ``area: grid|village|township|county`` (the area of that kind
containing the case's grid), ``centre: village|township|county`` (the 综治中心 of that area),
``field: NAME`` (a unit id in the data), ``user_unit: NAME`` (the unit where the user named in the
data holds the rule's role), ``org: ID`` (a fixed unit). When a rule finds nothing (a missing
field, an unknown unit) the lane's ``fallback`` and then the file's ``fallback`` are tried: a task
never silently loses its owner; if nothing matches, :class:`LaneResolutionError` is raised.

Task properties ``candidateOrg``/``candidateRole``/``assignee`` (``=field`` reads data) override
the lane's answer; a lane not listed in the file falls back to those properties alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import InputInvalid
from engine.orgs.config import (
    AREA_KINDS,
    KIND_TIERS,
    ROLES,
    OrgConfigError,
    read_yaml,
)
from engine.orgs.tree import OrgTree
from engine.runtime import Candidate, PropertyResolver
from engine.vocabulary import TIERS

ORG_RULE_KINDS = ("area", "centre", "field", "user_unit", "org")


class LaneResolutionError(InputInvalid):
    """No organisation unit could be found for a task (and no fallback applied)."""


@dataclass(frozen=True)
class OrgRule:
    kind: str  # one of ORG_RULE_KINDS
    value: str


@dataclass(frozen=True)
class LaneRule:
    role: str | None = None
    org: OrgRule | None = None
    assignee_field: str | None = None
    role_by_kind: Mapping[str, str] = field(default_factory=dict)
    by_tier: Mapping[str, LaneRule] = field(default_factory=dict)
    fallback: LaneRule | None = None
    tier_field: str | None = None  # by_tier reads this field instead of the file's tier_field


@dataclass(frozen=True)
class LaneConfig:
    lanes: Mapping[str, LaneRule]
    elements: Mapping[str, LaneRule] = field(default_factory=dict)
    fallback: LaneRule | None = None
    grid_field: str = "grid_code"
    tier_field: str = "tier"
    source: str = "<lanes>"

    @classmethod
    def load(cls, path: Path | str) -> LaneConfig:
        return parse_lane_config(read_yaml(path), source=str(path))


# ---------------------------------------------------------------------------- parsing


def parse_lane_config(doc: Any, source: str = "<lanes>") -> LaneConfig:
    problems: list[str] = []
    if not isinstance(doc, dict):
        raise OrgConfigError(source, ["(root): expected a mapping with lanes"])
    known = {"version", "grid_field", "tier_field", "lanes", "elements", "fallback"}
    for key in doc:
        if key not in known:
            problems.append(f"{key}: unknown key (expected one of {', '.join(sorted(known))})")
    if doc.get("version", 1) != 1:
        problems.append(f"version: unsupported version {doc.get('version')!r} (expected 1)")
    grid_field = doc.get("grid_field", "grid_code")
    tier_field = doc.get("tier_field", "tier")
    for key, value in (("grid_field", grid_field), ("tier_field", tier_field)):
        if not isinstance(value, str) or not value:
            problems.append(f"{key}: expected a field name")
    lanes: dict[str, LaneRule] = {}
    raw_lanes = doc.get("lanes")
    if not isinstance(raw_lanes, dict) or not raw_lanes:
        problems.append("lanes: expected a mapping of lane name → rule")
    else:
        for name, node in raw_lanes.items():
            rule = _rule(node, f"lanes.{name}", problems, allow_by_tier=True)
            if rule is not None:
                lanes[str(name)] = rule
    elements: dict[str, LaneRule] = {}
    raw_elements = doc.get("elements") or {}
    if not isinstance(raw_elements, dict):
        problems.append("elements: expected a mapping of element id → rule")
    else:
        for eid, node in raw_elements.items():
            rule = _rule(node, f"elements.{eid}", problems, allow_by_tier=True)
            if rule is not None:
                elements[str(eid)] = rule
    fallback = None
    if doc.get("fallback") is not None:
        fallback = _rule(doc["fallback"], "fallback", problems, allow_by_tier=False)
    if problems:
        raise OrgConfigError(source, problems)
    return LaneConfig(lanes, elements, fallback, str(grid_field), str(tier_field), source)


def _rule(node: Any, where: str, problems: list[str], *, allow_by_tier: bool) -> LaneRule | None:
    if not isinstance(node, dict):
        problems.append(f"{where}: expected a mapping")
        return None
    known = {"role", "org", "assignee", "role_by_kind", "by_tier", "fallback", "tier_field"}
    for key in node:
        if key not in known:
            problems.append(
                f"{where}.{key}: unknown key (expected one of {', '.join(sorted(known))})"
            )
    before = len(problems)
    if "by_tier" in node:
        if not allow_by_tier:
            problems.append(f"{where}.by_tier: not allowed here")
            return None
        raw = node["by_tier"]
        if not isinstance(raw, dict) or not raw:
            problems.append(f"{where}.by_tier: expected a mapping of tier → rule")
            return None
        by_tier: dict[str, LaneRule] = {}
        for tier, sub in raw.items():
            if tier not in (*TIERS, "default"):
                problems.append(
                    f"{where}.by_tier.{tier}: unknown tier (expected {', '.join(TIERS)} or default)"
                )
                continue
            parsed = _rule(sub, f"{where}.by_tier.{tier}", problems, allow_by_tier=False)
            if parsed is not None:
                by_tier[str(tier)] = parsed
        for key in ("role", "org", "assignee", "role_by_kind"):
            if key in node:
                problems.append(f"{where}.{key}: not allowed next to by_tier (put it in each tier)")
        fallback = _fallback(node, where, problems)
        tier_field = node.get("tier_field")
        if tier_field is not None and (not isinstance(tier_field, str) or not tier_field):
            problems.append(f"{where}.tier_field: expected a field name")
        if len(problems) != before:
            return None
        return LaneRule(by_tier=by_tier, fallback=fallback, tier_field=tier_field)
    if "tier_field" in node:
        problems.append(f"{where}.tier_field: only allowed next to by_tier")
    role = node.get("role")
    if role is not None and role not in ROLES:
        problems.append(
            f"{where}.role: unknown role {role!r} (expected one of {', '.join(sorted(ROLES))})"
        )
    role_by_kind = node.get("role_by_kind") or {}
    if not isinstance(role_by_kind, dict):
        problems.append(f"{where}.role_by_kind: expected a mapping of unit kind → role")
        role_by_kind = {}
    for key, value in role_by_kind.items():
        kind, _, tier = str(key).partition(":")
        if key != "default" and (kind not in KIND_TIERS or (tier and tier not in TIERS)):
            problems.append(f"{where}.role_by_kind.{key}: unknown unit kind (kind or kind:tier)")
        if value not in ROLES:
            problems.append(f"{where}.role_by_kind.{key}: unknown role {value!r}")
    if role is None and not role_by_kind:
        problems.append(f"{where}: give role or role_by_kind")
    org = _org_rule(node.get("org"), f"{where}.org", problems) if "org" in node else None
    if org is None and "org" not in node:
        problems.append(f"{where}.org: missing (say where the task goes)")
    if org is not None and org.kind == "user_unit" and role is None:
        problems.append(f"{where}.org: user_unit needs the rule's role")
    assignee = node.get("assignee")
    assignee_field = None
    if assignee is not None:
        if not isinstance(assignee, dict) or set(assignee) != {"field"}:
            problems.append(f"{where}.assignee: expected {{field: NAME}}")
        elif not isinstance(assignee["field"], str) or not assignee["field"]:
            problems.append(f"{where}.assignee.field: expected a field name")
        else:
            assignee_field = assignee["field"]
    fallback = _fallback(node, where, problems)
    if len(problems) != before:
        return None
    return LaneRule(
        role=role,
        org=org,
        assignee_field=assignee_field,
        role_by_kind={str(k): str(v) for k, v in role_by_kind.items()},
        fallback=fallback,
    )


def _fallback(node: dict[str, Any], where: str, problems: list[str]) -> LaneRule | None:
    if node.get("fallback") is None:
        return None
    return _rule(node["fallback"], f"{where}.fallback", problems, allow_by_tier=False)


def _org_rule(node: Any, where: str, problems: list[str]) -> OrgRule | None:
    if not isinstance(node, dict) or len(node) != 1:
        problems.append(f"{where}: expected exactly one of {', '.join(ORG_RULE_KINDS)}")
        return None
    ((kind, value),) = node.items()
    if kind not in ORG_RULE_KINDS:
        problems.append(f"{where}.{kind}: unknown org rule (expected {', '.join(ORG_RULE_KINDS)})")
        return None
    if not isinstance(value, str) or not value:
        problems.append(f"{where}.{kind}: expected a name")
        return None
    if kind == "area" and value not in AREA_KINDS:
        problems.append(f"{where}.area: expected one of {', '.join(AREA_KINDS)}")
        return None
    if kind == "centre" and value not in ("village", "township", "county"):
        problems.append(f"{where}.centre: expected village, township or county")
        return None
    return OrgRule(kind, value)


# ---------------------------------------------------------------------------- resolving


class LaneResolver:
    """``engine.runtime.candidates.CandidateResolver`` for processes drawn with role lanes."""

    def __init__(self, tree: OrgTree, config: LaneConfig) -> None:
        self.tree = tree
        self.config = config
        self._properties = PropertyResolver()
        missing = [
            f"{where}: unknown organisation unit {rule.org.value!r}"
            for where, rule in _all_rules(config)
            if rule.org is not None and rule.org.kind == "org" and rule.org.value not in tree
        ]
        if missing:
            raise OrgConfigError(config.source, missing)

    @classmethod
    def from_files(cls, organisations: Path | str, lanes: Path | str) -> LaneResolver:
        return cls(OrgTree.load(organisations), LaneConfig.load(lanes))

    def resolve(
        self,
        *,
        lane: str | None,
        element_id: str,
        properties: Mapping[str, str],
        data: Mapping[str, Any],
    ) -> Candidate:
        rule = self.config.elements.get(element_id)
        if rule is None and lane is not None:
            rule = self.config.lanes.get(lane)
        if rule is None:
            return self._properties.resolve(
                lane=lane, element_id=element_id, properties=properties, data=data
            )
        found = self._apply(rule, data)
        if found is None and self.config.fallback is not None:
            found = self._apply(self.config.fallback, data)
        if found is None:
            raise LaneResolutionError(
                f"no organisation unit found for task {element_id!r} in lane {lane!r} "
                f"(grid {data.get(self.config.grid_field)!r}, tier "
                f"{data.get(self.config.tier_field)!r})",
                lane=lane,
                element_id=element_id,
            )
        override = self._properties.resolve(
            lane=None, element_id=element_id, properties=properties, data=data
        )
        return Candidate(
            org_id=override.org_id or found.org_id,
            role=override.role or found.role,
            assignee=override.assignee or found.assignee,
        )

    # -- rules

    def _apply(self, rule: LaneRule, data: Mapping[str, Any]) -> Candidate | None:
        found = self._apply_one(rule, data)
        if found is None and rule.fallback is not None:
            found = self._apply(rule.fallback, data)
        return found

    def _apply_one(self, rule: LaneRule, data: Mapping[str, Any]) -> Candidate | None:
        if rule.by_tier:
            tier = data.get(rule.tier_field or self.config.tier_field)
            sub = rule.by_tier.get(tier) if isinstance(tier, str) else None
            sub = sub or rule.by_tier.get("default")
            return self._apply(sub, data) if sub is not None else None
        assignee = None
        if rule.assignee_field is not None:
            value = data.get(rule.assignee_field)
            if not isinstance(value, str) or self.tree.user(value) is None:
                return None
            assignee = value
        org_id = self._org(rule, data) if rule.org is not None else None
        if rule.org is not None and org_id is None:
            return None
        role = rule.role
        if rule.role_by_kind and org_id is not None:
            unit = self.tree.get(org_id)
            role = (
                rule.role_by_kind.get(f"{unit.kind}:{unit.tier}")
                or rule.role_by_kind.get(unit.kind)
                or rule.role_by_kind.get("default")
                or role
            )
        return Candidate(org_id=org_id, role=role, assignee=assignee)

    def _org(self, rule: LaneRule, data: Mapping[str, Any]) -> str | None:
        assert rule.org is not None
        kind, value = rule.org.kind, rule.org.value
        if kind == "org":
            return value
        if kind in ("field", "user_unit"):
            ref = data.get(value)
            if not isinstance(ref, str) or not ref:
                return None
            if kind == "field":
                return ref if ref in self.tree else None
            units = self.tree.units_of_user(ref, role=rule.role)
            return units[0].id if units else None
        grid = data.get(self.config.grid_field)
        if not isinstance(grid, str) or grid not in self.tree:
            return None
        if kind == "area":
            area = self.tree.area(grid, value)
            return area.id if area is not None else None
        centre = self.tree.centre_above(grid, value)
        return centre.id if centre is not None else None


def _all_rules(config: LaneConfig) -> list[tuple[str, LaneRule]]:
    out: list[tuple[str, LaneRule]] = []

    def walk(where: str, rule: LaneRule) -> None:
        out.append((where, rule))
        for tier, sub in rule.by_tier.items():
            walk(f"{where}.by_tier.{tier}", sub)
        if rule.fallback is not None:
            walk(f"{where}.fallback", rule.fallback)

    for name, rule in config.lanes.items():
        walk(f"lanes.{name}", rule)
    for eid, rule in config.elements.items():
        walk(f"elements.{eid}", rule)
    if config.fallback is not None:
        walk("fallback", config.fallback)
    return out
