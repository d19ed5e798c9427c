"""The audit record (审计记录): every command's events, hash-chained per case.

``log`` appends events in the command's transaction; ``anchor`` signs chain heads; ``verify``
checks chains and anchors; ``search`` filters and exports; ``timeline`` tells a case's story in
Chinese; ``retention`` replaces the detail of long-closed cases by signed summaries.
Row formats: docs/audit.md.
"""

from engine.audit.anchor import anchor_job, create_anchor
from engine.audit.log import GENESIS, SCHEDULER, SYSTEM, Actor, AuditLog
from engine.audit.query import (
    AuditQuery,
    AuditRecord,
    Page,
    csv_lines,
    export_csv,
    export_jsonl,
    jsonl_lines,
    search,
)
from engine.audit.retention import PurgeResult, purge_candidates, purge_expired
from engine.audit.timeline import (
    ElementState,
    FieldChange,
    Timeline,
    TimelineStep,
    case_timeline,
    render_text,
)
from engine.audit.verification import ChainProblem, VerifyReport, verify

__all__ = [
    "GENESIS",
    "SCHEDULER",
    "SYSTEM",
    "Actor",
    "AuditLog",
    "AuditQuery",
    "AuditRecord",
    "ChainProblem",
    "ElementState",
    "FieldChange",
    "Page",
    "PurgeResult",
    "Timeline",
    "TimelineStep",
    "VerifyReport",
    "anchor_job",
    "case_timeline",
    "create_anchor",
    "csv_lines",
    "export_csv",
    "export_jsonl",
    "jsonl_lines",
    "purge_candidates",
    "purge_expired",
    "render_text",
    "search",
    "verify",
]
