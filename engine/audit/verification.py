"""Verification of the audit record: every case chain, the anchors, and retention summaries.

What each finding means (``ChainProblem.kind``):

``content_mismatch``   the event's stored hash is not the hash of its content: it was **edited**
                       (for an event that stores no ``prev_hash``: it was edited, or the events
                       before it were rewritten, deleted, inserted or reordered and renumbered —
                       its implied link cannot tell which).
``prev_hash_mismatch`` the event does not point at the event before it: an event was **deleted**,
                       **inserted** or the events were **reordered** (the message says which
                       fits the evidence). Events that store no ``prev_hash`` (their link is
                       implied, docs/audit.md) show these as ``content_mismatch`` instead:
                       moving an event changes its ``seq``, which is part of its content.
``seq_gap``            sequence numbers are missing: events were **deleted**.
``head_mismatch``      the chain no longer holds a head an anchor signed: the **tail was cut**
                       (truncated) or rewritten after the anchor.
``chain_missing``      an anchored case has no events at all: its whole chain was deleted.
``anchor_invalid``     an anchor's digest or HMAC signature is wrong: the anchor was forged.
``anchor_chain``       an anchor does not point at the previous anchor: an anchor was deleted.
``summary_invalid``    a retention summary's signature or span is wrong: it was forged.

Only the *first* problem of each case is reported (later events of a broken chain prove nothing
more), plus every anchor problem. Events are read ordered by ``(case_no, seq)`` with ``yield_per``
and held one case at a time, so a full verification runs in memory bounded by the longest chain
plus one entry per anchored case.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.audit.anchor import AnchorHead, anchor_digest, signature_ok
from engine.audit.log import GENESIS, canonical, event_hash
from engine.storage.models import AuditAnchor, AuditEvent
from engine.vocabulary import SUMMARY_EVENT

BATCH = 2000


@dataclass(frozen=True)
class ChainProblem:
    kind: str
    case_no: str | None
    seq: int | None
    event_id: int | None
    message: str

    def __str__(self) -> str:
        where = []
        if self.case_no is not None:
            where.append(f"case {self.case_no}")
        if self.seq is not None:
            where.append(f"seq {self.seq}")
        if self.event_id is not None:
            where.append(f"id {self.event_id}")
        return f"[{self.kind}] {', '.join(where) or 'anchors'}: {self.message}"


@dataclass
class VerifyReport:
    cases: int = 0
    events: int = 0
    anchors: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> ChainProblem | None:
        return self.problems[0] if self.problems else None


def summary_digest(details: dict[str, Any]) -> str:
    """The digest a retention summary's signature covers: its details less the signature."""
    body = {k: v for k, v in details.items() if k != "signature"}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


# ---------------------------------------------------------------------------- one chain


def verify_chain(
    case_no: str,
    events: list[AuditEvent],
    secret_key: str,
    anchored: AnchorHead | None = None,
) -> ChainProblem | None:
    """The first problem of one case's chain (``events`` ordered by seq), or None."""
    by_hash = {e.hash: e for e in events}
    expected_seq, prev = 1, GENESIS
    summaries: list[AuditEvent] = []
    for e in events:
        is_summary = e.event_type == SUMMARY_EVENT
        first_seq = _first_seq(e) if is_summary else e.seq
        if first_seq != expected_seq:
            missing = (
                f"{expected_seq}"
                if first_seq == expected_seq + 1
                else f"{expected_seq}–{first_seq - 1}"
            )
            return ChainProblem(
                "seq_gap",
                case_no,
                e.seq,
                e.id,
                f"序号 {missing} 缺失：事件被删除 (seq {missing} missing: events were deleted)",
            )
        if e.prev_hash is not None and e.prev_hash != prev:
            return ChainProblem(
                "prev_hash_mismatch",
                case_no,
                e.seq,
                e.id,
                _diagnose_link(e, e.prev_hash, prev, by_hash),
            )
        if event_hash(e, prev) != e.hash:
            return ChainProblem("content_mismatch", case_no, e.seq, e.id, _edited(e))
        if is_summary:
            problem = _check_summary(case_no, e, secret_key)
            if problem is not None:
                return problem
            summaries.append(e)
        prev = e.hash
        expected_seq = e.seq + 1
    if anchored is not None:
        return _check_anchored(case_no, events, summaries, anchored)
    return None


def _edited(e: AuditEvent) -> str:
    if e.prev_hash is not None:
        return "内容哈希不符：事件内容被修改 (content hash mismatch: the event was edited)"
    return (
        "内容哈希不符：本事件被修改，或其之前的事件被改写、删除、插入或调换后重新编号 "
        "(content hash mismatch: this event was edited, or events before it were rewritten, "
        "deleted, inserted or reordered and renumbered)"
    )


def _diagnose_link(
    e: AuditEvent, pointer: str, expected: str, by_hash: dict[str, AuditEvent]
) -> str:
    pointed = by_hash.get(pointer)
    if pointed is not None and pointed.seq > e.seq:
        return (
            f"前序哈希不符：事件次序被调换（本事件原在 id {pointed.id} 之后） "
            f"(prev_hash mismatch: events were reordered; this event was chained after "
            f"id {pointed.id}, now at seq {pointed.seq})"
        )
    if pointed is None and pointer != GENESIS:
        return (
            "前序哈希不符：前一事件被删除、替换或在其前插入了伪造事件 "
            "(prev_hash mismatch: the preceding event was deleted or replaced, or an event "
            "was inserted before this one)"
        )
    return (
        "前序哈希不符：在本事件之前插入或删除了事件 "
        f"(prev_hash mismatch: an event was inserted or deleted before this one; expected "
        f"{expected[:12]}…, found {pointer[:12]}…)"
    )


def _first_seq(e: AuditEvent) -> int:
    """The first seq a retention summary stands for (its own seq is the last one)."""
    value = (e.details or {}).get("first_seq")
    return value if isinstance(value, int) and 1 <= value <= e.seq else e.seq


def _check_summary(case_no: str, e: AuditEvent, secret_key: str) -> ChainProblem | None:
    details = e.details or {}
    signature = str(details.get("signature") or "")
    span_ok = details.get("last_seq") == e.seq and isinstance(details.get("head_hash"), str)
    if not span_ok or not signature_ok(secret_key, summary_digest(details), signature):
        return ChainProblem(
            "summary_invalid",
            case_no,
            e.seq,
            e.id,
            "保留期摘要签名无效：摘要被伪造或篡改 "
            "(retention summary signature invalid: the summary was forged or altered)",
        )
    return None


def _check_anchored(
    case_no: str, events: list[AuditEvent], summaries: list[AuditEvent], head: AnchorHead
) -> ChainProblem | None:
    at_seq = next((e for e in events if e.seq == head.seq), None)
    if at_seq is not None and at_seq.event_type != SUMMARY_EVENT and at_seq.hash == head.hash:
        return None
    for s in summaries:
        first, last = int(s.details["first_seq"]), int(s.details["last_seq"])
        if first <= head.seq < last or (head.seq == last and s.details["head_hash"] == head.hash):
            return None  # the anchored head lies inside a signed, purged span
    last_event = events[-1] if events else None
    if last_event is None or last_event.seq < head.seq:
        have = last_event.seq if last_event else 0
        return ChainProblem(
            "head_mismatch",
            case_no,
            head.seq,
            None,
            f"链尾被截断：锚点 #{head.anchor_id} 签署的第 {head.seq} 号事件已不存在，现仅到第 "
            f"{have} 号 (tail truncated: anchor #{head.anchor_id} signed seq {head.seq}, the "
            f"chain now ends at seq {have})",
        )
    return ChainProblem(
        "head_mismatch",
        case_no,
        head.seq,
        at_seq.id if at_seq is not None else None,
        f"与锚点 #{head.anchor_id} 不符：第 {head.seq} 号事件在锚定后被改写 "
        f"(differs from anchor #{head.anchor_id}: seq {head.seq} was rewritten after anchoring)",
    )


# ---------------------------------------------------------------------------- anchors


def check_anchors(
    session: Session, secret_key: str, report: VerifyReport, case_no: str | None = None
) -> dict[str, AnchorHead]:
    """Verify every anchor; return the newest anchored head of each case (of one case if given)."""
    heads: dict[str, AnchorHead] = {}
    prev = GENESIS
    stmt = select(AuditAnchor).order_by(AuditAnchor.id).execution_options(yield_per=50)
    for anchor in session.scalars(stmt):
        report.anchors += 1
        body = anchor.heads or {}
        if anchor_digest(anchor.at, body) != anchor.digest or not signature_ok(
            secret_key, anchor.digest, anchor.signature
        ):
            report.problems.append(
                ChainProblem(
                    "anchor_invalid",
                    None,
                    None,
                    None,
                    f"锚点 #{anchor.id} 的摘要或签名无效 (anchor #{anchor.id}: digest or "
                    "signature invalid — forged or altered)",
                )
            )
            prev = anchor.digest
            continue  # its heads are not trusted
        if body.get("prev") != prev:
            report.problems.append(
                ChainProblem(
                    "anchor_chain",
                    None,
                    None,
                    None,
                    f"锚点 #{anchor.id} 未指向前一锚点：有锚点被删除 (anchor #{anchor.id} does "
                    "not point at the previous anchor: an anchor was deleted)",
                )
            )
        prev = anchor.digest
        cases: dict[str, Any] = body.get("cases") or {}
        wanted = cases if case_no is None else {k: v for k, v in cases.items() if k == case_no}
        for name, (seq, digest) in wanted.items():
            heads[name] = AnchorHead(name, int(seq), str(digest), anchor.id)
    return heads


# ---------------------------------------------------------------------------- entry points


def _chains(session: Session, case_no: str | None) -> Iterator[tuple[str, list[AuditEvent]]]:
    stmt = select(AuditEvent).order_by(AuditEvent.case_no, AuditEvent.seq)
    if case_no is not None:
        stmt = stmt.where(AuditEvent.case_no == case_no)
    current: str | None = None
    batch: list[AuditEvent] = []
    result = session.scalars(stmt.execution_options(yield_per=BATCH))
    try:  # stopping early must not leave the server-side cursor open
        for e in result:
            if e.case_no != current:
                if current is not None:
                    yield current, batch
                current, batch = e.case_no, []
            batch.append(e)
    finally:
        result.close()
    if current is not None:
        yield current, batch


def verify(session: Session, secret_key: str, *, case_no: str | None = None) -> VerifyReport:
    """Verify the anchors and every chain (or one case's chain); see the module docstring."""
    report = VerifyReport()
    heads = check_anchors(session, secret_key, report, case_no)
    seen: set[str] = set()
    for name, events in _chains(session, case_no):
        report.cases += 1
        report.events += len(events)
        seen.add(name)
        problem = verify_chain(name, events, secret_key, heads.get(name))
        if problem is not None:
            report.problems.append(problem)
        for e in events:
            session.expunge(e)
    for name in sorted(set(heads) - seen):
        report.problems.append(
            ChainProblem(
                "chain_missing",
                name,
                None,
                None,
                f"锚点 #{heads[name].anchor_id} 签署过该案件，但其事件已全部不存在 "
                f"(anchored by #{heads[name].anchor_id} but the case has no events: the whole "
                "chain was deleted)",
            )
        )
    return report
