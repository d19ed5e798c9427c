"""SQLAlchemy models: the whole storage layout (see docs/architecture.md), one module a domain.

Instances store the workflow's *state* only; the process spec is stored once per definition
version. Human tasks, due items, message waits and cases are projections written in the same
transaction as the instance state, so queries never load a workflow.

Every table hangs on the one ``Base.metadata``; importing this package registers them all (what
Alembic's ``migrations/env.py`` relies on).
"""

from engine.storage.models.audit import AuditAnchor, AuditEvent
from engine.storage.models.base import NAMING, Base, HexDigest, JsonType, NullableJson, UTCDateTime
from engine.storage.models.calendar import CalendarYear
from engine.storage.models.cases import Case, HumanTask, TaskComment
from engine.storage.models.definitions import Bundle, BundleFile, Definition, Instance, MessageWait
from engine.storage.models.evidence import Attachment
from engine.storage.models.feed import ChangeEvent, IdempotencyRecord, Notification
from engine.storage.models.kpi import CaseFactsRow, KpiWatermark, Report, ZeroReport
from engine.storage.models.orgs import OrgUnit, User, UserRole
from engine.storage.models.oversight import NotificationReceipt, SupervisionOrder
from engine.storage.models.scheduling import DueItem, Firing, SchedulerLease

__all__ = [
    "NAMING",
    "Attachment",
    "AuditAnchor",
    "AuditEvent",
    "Base",
    "Bundle",
    "BundleFile",
    "CalendarYear",
    "Case",
    "CaseFactsRow",
    "ChangeEvent",
    "Definition",
    "DueItem",
    "Firing",
    "HexDigest",
    "HumanTask",
    "IdempotencyRecord",
    "Instance",
    "JsonType",
    "KpiWatermark",
    "MessageWait",
    "Notification",
    "NotificationReceipt",
    "NullableJson",
    "OrgUnit",
    "Report",
    "SchedulerLease",
    "SupervisionOrder",
    "TaskComment",
    "UTCDateTime",
    "User",
    "UserRole",
    "ZeroReport",
]
