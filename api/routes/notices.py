"""Notices (通知) for their recipients: list, read, acknowledge; dead letters for operators."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from api.deps import PREFIX, NowDep, PrincipalDep, SessionDep
from api.supervision_schemas import NoticeList, NoticeOut
from engine import access, notify

router = APIRouter(prefix=PREFIX, tags=["notices"])
#: Who sees and re-queues the outbox's dead letters.
OUTBOX_READERS = frozenset({"admin", "supervisor"})
NoticeId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _grants(principal: access.Principal) -> list[tuple[str, str]]:
    return [(g.org_id, g.role) for g in principal.grants]


@router.get("/notifications", response_model=NoticeList)
def list_notices(
    s: SessionDep,
    principal: PrincipalDep,
    unacked: bool = False,
    case_no: Annotated[str | None, Query(max_length=100)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Any:
    """My notices (to me, to a role I hold at my unit, to my unit), newest first, with the
    unread and unacknowledged counts; page on with ``before_id``."""
    return notify.list_notices(
        s, principal.user_id, _grants(principal), unacked=unacked, case_no=case_no,
        before_id=before_id, limit=limit,
    )  # fmt: skip


@router.get("/notifications/outbox", response_model=list[NoticeOut])
def outbox(
    s: SessionDep,
    principal: PrincipalDep,
    state: Annotated[str, Query(pattern="^(dead|pending|delivered)$")] = "dead",
) -> Any:
    """The outbox by delivery state: ``dead`` (the dead letters: attempts exhausted, with the
    last error), ``pending`` (with attempts and the next try), ``delivered``."""
    access.require(principal, OUTBOX_READERS, "read the notification outbox")
    return notify.list_outbox(s, state=state)


@router.get("/notifications/{notice_id}", response_model=NoticeOut)
def read(notice_id: NoticeId, s: SessionDep, principal: PrincipalDep, now: NowDep) -> Any:
    """One of my notices; the first reading is recorded (404 for anyone else's)."""
    found = notify.read_notice(s, principal.user_id, _grants(principal), notice_id, now=now)
    s.commit()
    return found


@router.post("/notifications/{notice_id}/ack", response_model=NoticeOut)
def ack(notice_id: NoticeId, s: SessionDep, principal: PrincipalDep, now: NowDep) -> Any:
    """Acknowledge (签收) one of my notices; again changes nothing."""
    found = notify.ack_notice(s, principal.user_id, _grants(principal), notice_id, now=now)
    s.commit()
    return found


@router.post("/notifications/{notice_id}/requeue", response_model=NoticeOut)
def requeue(notice_id: NoticeId, s: SessionDep, principal: PrincipalDep, now: NowDep) -> Any:
    """Put a dead letter back in the queue (after the gateway was fixed)."""
    access.require(principal, OUTBOX_READERS, "re-queue a notification")
    found = notify.requeue(s, notice_id, now=now)
    s.commit()
    return found
