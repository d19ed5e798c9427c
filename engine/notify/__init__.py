"""Notifications (通知): the outbox written in each command's transaction, the senders that
deliver it (the log by default, a webhook for a 政务微信 / SMS gateway), with retries and a
dead-letter state, and the recipients' view (list, read, acknowledge).

Public API: :func:`enqueue`, :func:`deliver_pending`, :class:`Sender`, :class:`LoggingSender`,
:class:`MemorySender`, :class:`WebhookSender`, :func:`sender_from_settings`; the inbox functions
:func:`list_notices`, :func:`read_notice`, :func:`ack_notice`, :func:`list_outbox`,
:func:`requeue`.
"""

from __future__ import annotations

from engine.notify.inbox import ack_notice, list_notices, list_outbox, read_notice, requeue
from engine.notify.outbox import (
    DEAD,
    MAX_ATTEMPTS,
    LoggingSender,
    MemorySender,
    Sender,
    deliver_pending,
    enqueue,
)
from engine.notify.webhook import WebhookError, WebhookSender
from engine.settings import Settings


def sender_from_settings(settings: Settings) -> Sender:
    """The webhook when ``notify_webhook_url`` is set, else the log."""
    if settings.notify_webhook_url:
        return WebhookSender(
            settings.notify_webhook_url,
            secret=settings.notify_webhook_secret,
            timeout_seconds=settings.notify_webhook_timeout_seconds,
        )
    return LoggingSender()


__all__ = [
    "DEAD",
    "MAX_ATTEMPTS",
    "LoggingSender",
    "MemorySender",
    "Sender",
    "WebhookError",
    "WebhookSender",
    "ack_notice",
    "deliver_pending",
    "enqueue",
    "list_notices",
    "list_outbox",
    "read_notice",
    "requeue",
    "sender_from_settings",
]
