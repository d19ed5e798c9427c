"""Server-sent events: the ``change_events`` table, tailed by id, filtered for the caller.

Any worker can serve any client: commands write change rows in their own transactions, and each
stream polls the table from the last id it sent. ``Last-Event-ID`` (or ``last_event_id``) resumes
after a reconnect; without one the stream starts at the newest change. ``until=caught_up`` ends
the stream once nothing newer is left and ``max_events`` after that many events, so tests (and
batch clients) read a finite stream without waiting.

Ids are handed out before commit, so on PostgreSQL a later id can become visible before an
earlier one. A stream that sees a gap holds its position before the gap for up to
``GAP_WAIT_SECONDS``; a gap that stays (a rolled-back command) is then passed over.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import anyio

from engine import reads
from engine.access import Principal
from engine.storage import Database

BATCH = 200
GAP_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class StreamOptions:
    after: int | None
    until_caught_up: bool
    max_events: int | None
    poll_seconds: float
    heartbeat_seconds: float


def format_event(change: reads.ChangeView) -> bytes:
    data: dict[str, Any] = {
        "id": change.id,
        "at": change.at.isoformat(),
        "kind": change.kind,
        "case_no": change.case_no,
        **change.payload,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"id: {change.id}\nevent: {change.kind}\ndata: {text}\n\n".encode()


def _start(db: Database, after: int | None) -> int:
    if after is not None:
        return after
    with db.session() as s:
        return reads.last_change_id(s)


def _batch(
    db: Database, principal: Principal, after: int
) -> tuple[list[reads.ChangeView], list[int]]:
    with db.session() as s:
        return reads.changes_after(s, principal, after, limit=BATCH)


def _contiguous(position: int, ids: list[int]) -> int:
    """How many of ``ids`` follow ``position`` without a gap."""
    n = 0
    for expected, actual in enumerate(ids, start=position + 1):
        if actual != expected:
            break
        n += 1
    return n


async def stream(
    db: Database, principal: Principal, options: StreamOptions
) -> AsyncIterator[bytes]:
    position = await anyio.to_thread.run_sync(_start, db, options.after)
    yield f"retry: {int(options.poll_seconds * 1000) + 1000}\n\n".encode()
    sent = 0
    idle = 0.0
    gap_seen: float | None = None
    while True:
        changes, ids = await anyio.to_thread.run_sync(_batch, db, principal, position)
        take = _contiguous(position, ids)
        if take < len(ids) and not options.until_caught_up:
            gap_seen = gap_seen if gap_seen is not None else time.monotonic()
            if time.monotonic() - gap_seen < GAP_WAIT_SECONDS:
                ids = ids[:take]
                changes = [c for c in changes if ids and c.id <= ids[-1]]
            else:
                gap_seen = None
        else:
            gap_seen = None
        if ids:
            position = ids[-1]
        for change in changes:
            yield format_event(change)
            sent += 1
            if options.max_events is not None and sent >= options.max_events:
                return
        if changes:
            idle = 0.0
        if not ids:
            if options.until_caught_up:
                return
            await anyio.sleep(options.poll_seconds)
            idle += options.poll_seconds
            if idle >= options.heartbeat_seconds:
                idle = 0.0
                yield b": keep-alive\n\n"
