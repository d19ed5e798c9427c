"""Who may work on a human task: a pluggable resolver from lane + instance data.

The engine asks a :class:`CandidateResolver` for every new human task. The default
:class:`PropertyResolver` reads ``candidateOrg``/``candidateRole``/``assignee`` from the task's
extension properties (values may name a data field with ``=field``); the dispute processes use
``engine.orgs.LaneResolver``, which maps a lane to a role and finds the organisation unit from the
case's grid and current tier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Candidate:
    org_id: str | None
    role: str | None
    assignee: str | None = None


class CandidateResolver(Protocol):
    def resolve(
        self,
        *,
        lane: str | None,
        element_id: str,
        properties: Mapping[str, str],
        data: Mapping[str, Any],
    ) -> Candidate: ...


def _value(spec: str | None, data: Mapping[str, Any]) -> str | None:
    if not spec:
        return None
    if spec.startswith("="):
        found = data.get(spec[1:])
        return str(found) if found not in (None, "") else None
    return spec


class PropertyResolver:
    """Candidates straight from the task's properties (``=field`` reads a data field)."""

    def resolve(
        self,
        *,
        lane: str | None,
        element_id: str,
        properties: Mapping[str, str],
        data: Mapping[str, Any],
    ) -> Candidate:
        return Candidate(
            org_id=_value(properties.get("candidateOrg"), data),
            role=_value(properties.get("candidateRole"), data) or lane,
            assignee=_value(properties.get("assignee"), data),
        )
