"""SQLite: readers never hold or wait for the write lock.

GET routes, exports and event streams run deferred transactions (WAL lets readers and one writer
work together), and a stream holds no transaction between its chunks. So an abandoned audit
export — a client that stopped reading a large download — and many open event streams leave the
write lock free: a writer that will not wait at all (``timeout=0``) still gets it, every time.
Real HTTP against a real server; the reading clients are raw sockets with a tiny receive buffer.
"""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, closing
from datetime import timedelta

import pytest
from sqlalchemy import insert

from engine.clock import ManualClock
from engine.storage.models import AuditEvent
from tests.api.conftest import World, case_body, make_world
from tests.live_server import live_server

ROWS = 6000  # ≈ 8 MB of JSON Lines: far more than the socket buffers hold
STREAMS = 40


@pytest.fixture
def sqlite_world(db_url: str, clock: ManualClock) -> Iterator[World]:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    world, db = make_world(db_url, clock)
    with world.client:
        yield world
    db.dispose()


def _bulk_audit(world: World) -> None:
    start = world.clock.now()
    rows = [{"case_no": f"BULK-{n // 10}", "seq": n % 10 + 1, "event_type": "note",
             "at": start + timedelta(seconds=n), "actor_user": "county_staff",
             "org_path": "/county/town_a/", "details": {"text": "记录" * 300, "n": n},
             "hash": "0" * 64} for n in range(ROWS)]  # fmt: skip
    with world.db.session() as s:
        s.execute(insert(AuditEvent), rows)


def _open(base: str, path: str, token: str) -> socket.socket:
    """A GET whose client reads the head of the answer and then stops reading."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n"
                 .encode())  # fmt: skip
    head = sock.recv(1024)
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return sock


def _writer_never_waits(path: str) -> None:
    """A write that will not wait for the lock at all: it fails at once if anyone holds it."""
    with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE users SET display_name = display_name WHERE id = 'grid_a'")
        conn.execute("COMMIT")


def test_an_abandoned_export_and_open_streams_leave_writers_free(sqlite_world: World) -> None:
    world = sqlite_world
    _bulk_audit(world)
    path = world.settings.database_url.removeprefix("sqlite:///")
    auditor, grid = world.token("auditor_county"), world.token("county_staff")
    with live_server(world.app) as base, ExitStack() as stack:
        export = stack.enter_context(_open(base, "/api/v1/audit/export?format=jsonl", auditor))
        for _ in range(STREAMS):
            stack.enter_context(_open(base, "/api/v1/events", grid))
        for _ in range(20):
            _writer_never_waits(path)  # raises "database is locked" if a reader held the lock
        import httpx2 as httpx

        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/v1/cases", json=case_body(), headers=world.h("grid_a"))
            assert r.status_code == 201, r.text
        assert export.recv(1)  # the export is still open, unread, mid-stream
