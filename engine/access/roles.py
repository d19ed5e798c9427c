"""The roles (角色) and the sets of them that the rules ask about."""

from __future__ import annotations

ROLES = frozenset(
    {
        "grid_worker", "village_cmte", "township_center", "county_center", "handling_unit",
        "case_leader", "revisit_agent", "supervisor", "mediator", "designer", "auditor", "admin",
    }
)  # fmt: skip
#: Roles that do not read or touch cases: designing processes and managing users.
NON_CASE_ROLES = frozenset({"designer", "admin"})
#: Roles whose units' subtrees they may read.
CASE_READERS = ROLES - NON_CASE_ROLES
#: Roles that act on cases and tasks (everyone who reads, except the auditor).
OPERATORS = CASE_READERS - {"auditor"}
#: Who may report a matter (发现、上报).
REPORTERS = frozenset({"grid_worker", "village_cmte", "township_center", "county_center"})
#: 综治中心 staff: suspend, resume, cancel, reassign and take back tasks in their jurisdiction.
CENTRE_STAFF = frozenset({"township_center", "county_center", "supervisor"})
#: Who reads the audit record and KPIs of their jurisdiction (纪检/政法委 auditors, 督办, centres).
AUDIT_READERS = frozenset({"auditor", "supervisor", "township_center", "county_center"})
#: Who reads the periodic reports (日排查·周汇总·月研判) of the units in their subtrees: the
#: KPI readers, and the community and the grid worker for their own grids' 日排查.
REPORT_READERS = AUDIT_READERS | {"village_cmte", "grid_worker"}
DESIGNERS = frozenset({"designer"})
ADMINS = frozenset({"admin"})
MIN_PASSWORD = 8
OIDC_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
