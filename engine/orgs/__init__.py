"""Organisations: the tree of areas, 综治中心 and departments, its users, and lane resolution.

* :func:`load_org_config` / :class:`OrgTree` — read and validate ``organisations.yaml`` and answer
  tree questions (parent, ancestors, tier, "the township centre above grid G", subtree paths).
* :func:`load_organisations` — write the file into ``org_units``/``users``/``user_roles``.
* :class:`LaneResolver` — the :class:`~engine.runtime.candidates.CandidateResolver` for the dispute
  processes: lane name (via ``lanes.yaml``) + case data → ``Candidate(org_id, role, assignee)``.
* :func:`list_orgs` / :func:`list_users` — the units and users a caller may pick in a form's
  ``org-picker`` / ``user-picker``, within the caller's reach (``engine.orgs.directory``).
"""

from engine.orgs.config import (
    AREA_KINDS,
    KIND_TIERS,
    ROLES,
    OrgConfig,
    OrgConfigError,
    RoleGrant,
    UnitSpec,
    UserSpec,
    load_org_config,
    parse_org_config,
)
from engine.orgs.directory import KINDS as PICKABLE_KINDS
from engine.orgs.directory import MAX_LIMIT as DIRECTORY_LIMIT
from engine.orgs.directory import (
    DirectoryUser,
    OrgEntry,
    list_orgs,
    list_users,
)
from engine.orgs.directory import Scope as DirectoryScope
from engine.orgs.lanes import (
    LaneConfig,
    LaneResolutionError,
    LaneResolver,
    LaneRule,
    OrgRule,
    parse_lane_config,
)
from engine.orgs.loader import apply_org_config, argon2_hasher, load_organisations
from engine.orgs.tree import OrgTree, OrgUser, UnknownOrg, next_tier, tier_rank
from engine.vocabulary import TIERS

__all__ = [
    "AREA_KINDS",
    "DIRECTORY_LIMIT",
    "KIND_TIERS",
    "PICKABLE_KINDS",
    "ROLES",
    "TIERS",
    "DirectoryScope",
    "DirectoryUser",
    "LaneConfig",
    "LaneResolutionError",
    "LaneResolver",
    "LaneRule",
    "OrgConfig",
    "OrgConfigError",
    "OrgEntry",
    "OrgRule",
    "OrgTree",
    "OrgUser",
    "RoleGrant",
    "UnitSpec",
    "UnknownOrg",
    "UserSpec",
    "apply_org_config",
    "argon2_hasher",
    "list_orgs",
    "list_users",
    "load_org_config",
    "load_organisations",
    "next_tier",
    "parse_lane_config",
    "parse_org_config",
    "tier_rank",
]
