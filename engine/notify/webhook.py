"""A real sender: each notice POSTed as JSON to an HTTP endpoint that a 政务微信 robot, an SMS
gateway or an e-mail relay takes (``BIHUAN_NOTIFY_WEBHOOK_URL``).

The body carries the notice and its recipients; ``Idempotency-Key`` is the outbox row id (delivery
is at-least-once) and ``X-Bihuan-Signature`` the HMAC-SHA256 of the body under the configured
secret, so the gateway can refuse forgeries. Any answer but 2xx, a time-out or a refused
connection raises, and the outbox retries it with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

from engine.clock import as_utc
from engine.storage.models import Notification


class WebhookError(RuntimeError):
    """The endpoint did not take the notice (the outbox retries it)."""


class WebhookSender:
    """POST each notification to ``url``."""

    def __init__(self, url: str, *, secret: str = "", timeout_seconds: float = 5.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"the notification webhook must be an http(s) URL, not {url!r}")
        self.url = url
        self.secret = secret.encode()
        self.timeout = timeout_seconds

    def send(self, notification: Notification) -> None:
        body = json.dumps(payload_of(notification), ensure_ascii=False).encode()
        request = urllib.request.Request(self.url, data=body, method="POST")
        request.add_header("Content-Type", "application/json; charset=utf-8")
        request.add_header("Idempotency-Key", f"bihuan-notification-{notification.id}")
        if self.secret:
            digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
            request.add_header("X-Bihuan-Signature", f"sha256={digest}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:
                status = int(answer.status)
        except urllib.error.HTTPError as exc:
            raise WebhookError(f"{self.url} answered {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise WebhookError(f"{self.url} unreachable: {exc}") from None
        if not 200 <= status < 300:
            raise WebhookError(f"{self.url} answered {status}")


def payload_of(n: Notification) -> dict[str, Any]:
    """What the endpoint receives for one notice."""
    return {
        "id": n.id,
        "kind": n.kind,
        "case_no": n.case_no,
        "title": n.title,
        "body": n.body,
        "created_at": as_utc(n.created_at).isoformat(),
        "recipient": {"user": n.recipient_user, "org": n.recipient_org, "role": n.recipient_role},
        "payload": {k: v for k, v in (n.payload or {}).items() if k != "last_error"},
    }
