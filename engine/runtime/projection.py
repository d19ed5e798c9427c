"""The case projection: business fields copied from the workflow's data into ``cases``.

Process data uses these names (see docs/processes.md); anything else stays in the instance data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from engine.place import address_of, point_of
from engine.storage.models import Case

TEXT_FIELDS = {
    "title": "title",
    "category": "category",
    "severity": "severity",
    "tier": "tier",
    "grid_code": "org_id",
    "handling_unit": "handling_unit",
    "case_leader": "case_leader",
    "source_channel": "source_channel",
    "resolved_tier": "resolved_tier",
}
INT_FIELDS = {
    "reopen_count": "reopen_count",
    "escalation_count": "escalation_count",
    "satisfaction": "satisfaction",
}
# Extra fields kept on the case row (for lists and filters) without a column of their own.
EXTRA_FIELDS = ("description", "parties", "risk_flags", "difficulty", "master_case_no",
                "diverted_channel", "invalid_reason", "owner_org", "category_hint",
                "possible_duplicates")  # fmt: skip


def project_case(
    case: Case, data: dict[str, Any], now: datetime, org_path: Callable[[str], str]
) -> None:
    _closing(case, data, now)
    for key, column in TEXT_FIELDS.items():
        value = data.get(key)
        if value is not None and value != "":
            text = str(value)[:500]
            if getattr(case, column) != text:
                setattr(case, column, text)
    for key, column in INT_FIELDS.items():
        value = data.get(key)
        if isinstance(value, bool) or value is None:
            continue
        try:
            number = int(value)
        except (TypeError, ValueError):
            continue
        if getattr(case, column) != number:
            setattr(case, column, number)
    _project_place(case, data)
    if "eval_excluded" in data:
        case.eval_excluded = bool(data["eval_excluded"])
    extra = {k: data[k] for k in EXTRA_FIELDS if k in data}
    if extra and any(case.fields.get(k) != v for k, v in extra.items()):
        case.fields = {**case.fields, **extra}
    if case.org_id:
        path = org_path(case.org_id)
        if case.org_path != path:
            case.org_path = path
    owner = data.get("owner_org")
    if owner and case.owner_org != owner:
        case.owner_org = str(owner)
    case.updated_at = now


TRACKED = ("status", "tier", "severity", "category", "org_id", "owner_org", "handling_unit",
           "case_leader", "due_at", "reopen_count", "escalation_count", "ladder_level",
           "resolved_tier", "satisfaction", "eval_excluded", "closed_at")  # fmt: skip


def case_snapshot(case: Case) -> dict[str, Any]:
    """The tracked business fields, JSON-ready; compared before/after every command."""
    out: dict[str, Any] = {}
    for name in TRACKED:
        value = getattr(case, name)
        out[name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def case_changes(
    before: dict[str, Any], after: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    keys = [k for k in TRACKED if before.get(k) != after.get(k)]
    return {k: before[k] for k in keys if k in before}, {k: after.get(k) for k in keys}


def _project_place(case: Case, data: dict[str, Any]) -> None:
    """Where the matter arose: ``geo`` (WGS-84) and ``location`` (the address as written)."""
    point = point_of(data)
    if point is not None and (case.lat, case.lng) != (point.lat, point.lng):
        case.lat, case.lng = point.lat, point.lng
    address = address_of(data)
    if address is not None and case.address != address:
        case.address = address


def _closing(case: Case, data: dict[str, Any], now: datetime) -> None:
    """办结 while the process still waits out its reopening window closes the case now; a
    reopening (``reopen_count`` up with ``closed_at`` cleared) opens it again."""
    reopens = data.get("reopen_count")
    if (
        case.closed_at is not None
        and data.get("closed_at") is None
        and isinstance(reopens, int)
        and reopens > (case.reopen_count or 0)
    ):
        case.closed_at, case.resolved_tier = None, None
    elif case.closed_at is None and data.get("case_status") == "CLOSED" and data.get("closed_at"):
        case.closed_at = now
