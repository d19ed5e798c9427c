"""Verification covers the evidence: every ``attachment_added`` event in the (verified) chain has
its row, the row says what the event says, and the stored bytes still hash to the digest."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import ChainProblem, VerifyReport
from engine.errors import NotFound
from engine.evidence.attachments import ADDED
from engine.evidence.store import BlobStore
from engine.storage.models import Attachment, AuditEvent


def check_evidence(
    session: Session, store: BlobStore, report: VerifyReport, case_no: str | None = None
) -> int:
    """Add a problem to ``report`` for each file that is missing, altered or unrecorded; returns
    how many files were checked."""
    events = select(AuditEvent.case_no, AuditEvent.seq, AuditEvent.details).where(
        AuditEvent.event_type == ADDED
    )
    rows = select(Attachment)
    if case_no is not None:
        events = events.where(AuditEvent.case_no == case_no)
        rows = rows.where(Attachment.case_no == case_no)
    recorded: dict[str, tuple[str, int, dict[str, Any]]] = {}
    for case, seq, details in session.execute(events):
        details = details or {}
        recorded[str(details.get("attachment_id"))] = (case, seq, details)
    checked = 0
    for row in session.scalars(rows):
        checked += 1
        event = recorded.pop(row.id, None)
        if event is None or event[2].get("sha256") != row.sha256 or event[0] != row.case_no:
            report.problems.append(
                _problem("evidence_unrecorded", row.case_no, row.audit_seq,
                         f"附件 {row.filename} ({row.id}) 与审计记录不符 (the attachment's row "
                         "does not match an attachment_added event of the chain)")
            )  # fmt: skip
            continue
        try:
            data = store.get(row.sha256)
        except NotFound:
            report.problems.append(
                _problem("evidence_missing", row.case_no, event[1],
                         f"附件 {row.filename} 的文件缺失 (the file {row.sha256[:12]}… is gone)")
            )  # fmt: skip
            continue
        if hashlib.sha256(data).hexdigest() != row.sha256:
            report.problems.append(
                _problem("evidence_altered", row.case_no, event[1],
                         f"附件 {row.filename} 的内容已被改动 (the stored bytes no longer hash "
                         f"to {row.sha256[:12]}…)")
            )  # fmt: skip
    for attachment_id, (case, seq, details) in sorted(recorded.items()):
        report.problems.append(
            _problem("evidence_row_missing", case, seq,
                     f"审计记录中的附件 {details.get('filename')} ({attachment_id}) 已不存在 "
                     "(the chain records an attachment whose row was deleted)")
        )  # fmt: skip
    return checked


def _problem(kind: str, case_no: str, seq: int | None, message: str) -> ChainProblem:
    return ChainProblem(kind, case_no, seq, None, message)
