"""The engine's shared words: tiers, statuses and task states, defined once here (the Chinese
labels shown to people stay with the texts that use them). Nothing here imports the rest of
the engine, so any package may import it.

The enums are ``StrEnum`` (a member equals its stored string); the tuples hold the plain strings,
so SQL parameters, JSON keys and stored rows see exactly what they saw before.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class Tier(StrEnum):
    """The four tiers (层级) a case is handled at, lowest first."""

    GRID = "grid"
    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"


TIERS: Final[tuple[str, ...]] = tuple(tier.value for tier in Tier)
"""Lowest first: a case escalates from one tier to the next."""
TIER_RANK: Final[dict[str, int]] = {tier.value: rank for rank, tier in enumerate(Tier)}


class TaskState(StrEnum):
    """A human task's state (``human_tasks.state``)."""

    OPEN = "open"
    CLAIMED = "claimed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


OPEN_TASK_STATES: Final[tuple[str, ...]] = (TaskState.OPEN.value, TaskState.CLAIMED.value)
"""A task someone may still work on: unclaimed or held."""


class InstanceStatus(StrEnum):
    """A process instance's status (``instances.status``)."""

    RUNNING = "running"
    SUSPENDED = "suspended"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


FINISHED_STATUSES: Final[tuple[str, ...]] = (
    InstanceStatus.COMPLETED.value,
    InstanceStatus.CANCELLED.value,
)
"""An instance that never runs again (every command refuses it)."""

CLOSED_CASE_STATUSES: Final[tuple[str, ...]] = (
    "CLOSED",
    "INVALID",
    "MERGED",
    "DIVERTED",
    "CANCELLED",
)
"""The case statuses (``cases.status``) that end a case: closed, invalid, merged, diverted to
another channel, cancelled."""

SUMMARY_EVENT: Final = "audit_summary"
"""The event type retention writes in place of a purged span (engine/audit/retention.py)."""
