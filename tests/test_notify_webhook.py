"""The webhook sender against a real local HTTP server: a notice is POSTed signed, a failing
gateway is retried with backoff, and a gateway that never takes it leaves a dead letter, which
is re-queued and then delivered."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from engine.clock import ManualClock
from engine.notify import (
    DEAD,
    LoggingSender,
    WebhookSender,
    deliver_pending,
    enqueue,
    list_outbox,
    requeue,
    sender_from_settings,
)
from engine.settings import Settings
from engine.storage.database import Database
from engine.storage.models import Notification


class Gateway(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.failures = 0  # answer 503 this many times first

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"


class Handler(BaseHTTPRequestHandler):
    server: Gateway

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.server.failures > 0:
            self.server.failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        self.server.received.append((dict(self.headers), json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def add(db: Database, clock: ManualClock) -> int:
    with db.session() as s:
        row = enqueue(s, now=clock.now(), kind="ladder_warning", title="【警示】案件超期",
                      body="请尽快办理", case_no="C-1", recipient_org="qs-dc-pcs")  # fmt: skip
        s.flush()
        return row.id


def row(db: Database, notice_id: int) -> Notification:
    with db.session() as s:
        found = s.get(Notification, notice_id)
        assert found is not None
        return found


def test_a_notice_is_posted_signed_and_retried_with_backoff(
    db: Database, clock: ManualClock, gateway: Gateway
) -> None:
    sender = WebhookSender(gateway.url, secret="s3cret")
    notice = add(db, clock)
    gateway.failures = 2
    assert deliver_pending(db, sender, now=clock.now(), retry_base_seconds=10) == 0
    first = row(db, notice)
    assert (first.state, first.attempts) == ("pending", 1)
    assert first.payload["last_error"].endswith("answered 503")
    # not before the backoff: 10 s, then 20 s
    assert deliver_pending(db, sender, now=clock.now() + timedelta(seconds=9)) == 0
    assert row(db, notice).attempts == 1
    clock.advance(timedelta(seconds=10))
    assert deliver_pending(db, sender, now=clock.now(), retry_base_seconds=10) == 0
    second = row(db, notice)
    assert second.attempts == 2 and second.delivered_at == clock.now() + timedelta(seconds=20)
    clock.advance(timedelta(seconds=20))
    assert deliver_pending(db, sender, now=clock.now(), retry_base_seconds=10) == 1
    assert row(db, notice).state == "delivered"
    [(headers, body)] = gateway.received
    assert body["title"] == "【警示】案件超期" and body["recipient"]["org"] == "qs-dc-pcs"
    assert headers["Idempotency-Key"] == f"bihuan-notification-{notice}"
    raw = json.dumps(body, ensure_ascii=False).encode()
    expected = hmac.new(b"s3cret", raw, hashlib.sha256).hexdigest()
    assert headers["X-Bihuan-Signature"] == f"sha256={expected}"


def test_a_gateway_that_never_takes_it_leaves_a_dead_letter(
    db: Database, clock: ManualClock, gateway: Gateway
) -> None:
    sender = WebhookSender(gateway.url)
    notice = add(db, clock)
    gateway.failures = 3
    for _ in range(3):
        deliver_pending(db, sender, now=clock.now(), max_attempts=3, retry_base_seconds=1)
        clock.advance(timedelta(hours=1))
    assert (row(db, notice).state, row(db, notice).attempts) == (DEAD, 3)
    assert deliver_pending(db, sender, now=clock.now(), max_attempts=3) == 0  # stays dead
    with db.session() as s:
        [dead] = list_outbox(s, state=DEAD)
        assert dead["id"] == notice and dead["delivery"]["last_error"]
        requeue(s, notice, now=clock.now())
    assert deliver_pending(db, sender, now=clock.now(), max_attempts=3) == 1
    assert row(db, notice).state == "delivered" and len(gateway.received) == 1


def test_an_unreachable_gateway_is_an_error_the_outbox_retries(
    db: Database, clock: ManualClock
) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as closed:
        url = f"http://127.0.0.1:{closed.server_address[1]}/hook"
    notice = add(db, clock)
    assert deliver_pending(db, WebhookSender(url, timeout_seconds=2), now=clock.now()) == 0
    assert "unreachable" in row(db, notice).payload["last_error"]
    with pytest.raises(ValueError, match="http"):
        WebhookSender("ftp://example.org/x")


def test_the_settings_choose_the_sender() -> None:
    hook = sender_from_settings(Settings(notify_webhook_url="http://127.0.0.1:9/hook"))
    assert isinstance(hook, WebhookSender) and hook.url == "http://127.0.0.1:9/hook"
    assert isinstance(sender_from_settings(Settings()), LoggingSender)
