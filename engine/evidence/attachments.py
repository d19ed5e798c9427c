"""Attaching evidence to a case or to a task's submission, and reading it back.

An upload is one command: the bytes go to the blob store under their SHA-256 first (stored once
however often they are attached; a file without a row is harmless), then one transaction adds the
row and appends ``attachment_added`` to the case's audit chain with the same digest — so the chain
vouches for the evidence, and verification (``verify_evidence``) re-reads every file against it.
The case's instance row is locked like any command's, so the chain's head never forks.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit import Actor, AuditLog
from engine.clock import Clock
from engine.errors import InputInvalid, NotFound
from engine.evidence.sniff import ACCEPTED, sniff
from engine.evidence.store import BlobStore
from engine.storage import Database
from engine.storage.models import Attachment, Case, HumanTask, Instance

Kind = Literal["photo", "agreement", "statement", "document", "video"]
KINDS: dict[str, str] = {
    "photo": "现场照片",
    "agreement": "调解协议书",
    "statement": "情况说明",
    "document": "其他材料",
    "video": "视频",
}
ADDED = "attachment_added"


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: str
    case_no: str
    task_id: str | None
    kind: str
    kind_label: str
    filename: str
    media_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime
    audit_seq: int


def view(row: Attachment) -> AttachmentView:
    return AttachmentView(
        id=row.id, case_no=row.case_no, task_id=row.task_id, kind=row.kind,
        kind_label=KINDS.get(row.kind, row.kind), filename=row.filename,
        media_type=row.media_type, size=row.size, sha256=row.sha256,
        uploaded_by=row.uploaded_by, uploaded_at=row.uploaded_at, audit_seq=row.audit_seq,
    )  # fmt: skip


def clean_filename(name: str | None, extension: str) -> str:
    """The client's file name without any directory part or control characters (never used as
    a path: the store is keyed by digest); the content's extension when it has none."""
    raw = (name or "").replace("\x00", "")
    base = PureWindowsPath(PurePosixPath(raw).name).name
    base = "".join(ch for ch in base if ch.isprintable()).strip().strip(".")[:200]
    if not base:
        base = "file"
    if "." not in base:
        base += extension
    return base


@dataclass
class Evidence:
    """Attachments of cases: the store, the limits and the commands."""

    db: Database
    clock: Clock
    store: BlobStore
    max_bytes: int = 20 * 1024 * 1024

    def attach(
        self,
        case_no: str,
        content: bytes,
        *,
        filename: str | None,
        kind: str,
        actor: Actor,
        task_id: str | None = None,
    ) -> AttachmentView:
        if kind not in KINDS:
            raise InputInvalid(
                f"未知的材料类别 {kind!r} (kind must be one of {', '.join(KINDS)})", field="kind"
            )
        if not content:
            raise InputInvalid("文件为空 (the file is empty)", field="file")
        if len(content) > self.max_bytes:
            raise InputInvalid(
                f"文件过大：上限 {self.max_bytes // (1024 * 1024)} MB "
                f"(the file is {len(content)} bytes; at most {self.max_bytes})",
                field="file",
            )
        found = sniff(content[:64], content)
        if found is None:
            raise InputInvalid(
                f"不支持的文件类型 (the content is not an accepted kind of file: {ACCEPTED})",
                field="file",
            )
        digest = hashlib.sha256(content).hexdigest()
        self.store.put(digest, content)
        name = clean_filename(filename, found.extension)
        now = self.clock.now()
        with self.db.session() as s:
            case = _lock_case(s, case_no)
            if task_id is not None:
                task = s.get(HumanTask, task_id)
                if task is None or task.case_no != case_no:
                    raise NotFound(f"没有任务 {task_id} (no task {task_id} in case {case_no})")
            row = Attachment(
                id=str(uuid.uuid4()), case_no=case_no, task_id=task_id, kind=kind,
                filename=name, media_type=found.media_type, size=len(content), sha256=digest,
                uploaded_by=actor.user_id, uploaded_at=now, audit_seq=(case.audit_seq or 0) + 1,
            )  # fmt: skip
            audit = AuditLog(s, case_no, None, now, org_path=case.org_path, case=case)
            audit.add(
                ADDED, actor, task_id=task_id, attachment_id=row.id, sha256=digest,
                size=len(content), media_type=found.media_type, filename=name, kind=kind,
            )  # fmt: skip
            audit.flush()
            s.add(row)
            s.flush()
            return view(row)

    def list(self, s: Session, case_no: str) -> list[AttachmentView]:
        rows = s.scalars(
            select(Attachment)
            .where(Attachment.case_no == case_no)
            .order_by(Attachment.uploaded_at, Attachment.id)
        )
        return [view(r) for r in rows]

    def find(self, s: Session, attachment_id: str) -> AttachmentView:
        row = s.get(Attachment, attachment_id)
        if row is None:
            raise NotFound(f"没有附件 {attachment_id} (no attachment {attachment_id})")
        return view(row)

    def content(self, attachment: AttachmentView) -> bytes:
        return self.store.get(attachment.sha256)


def _lock_case(s: Session, case_no: str) -> Case:
    """Lock the case's instance row (as every command does), then read the case fresh."""
    found = s.scalar(select(Case.instance_id).where(Case.case_no == case_no))
    if found is None:
        raise NotFound(f"没有案件 {case_no} (no case {case_no})")
    s.scalar(select(Instance.id).where(Instance.id == found).with_for_update())
    case = s.scalar(
        select(Case).where(Case.case_no == case_no).execution_options(populate_existing=True)
    )
    assert case is not None
    return case
