"""Webhooks: users' endpoints, signed deliveries with retries, and the delivery log.

``WebhookSubscriptions`` manages registrations; ``WebhookDispatcher.publish`` (or ``enqueue`` inside any
transaction) records events, and the dispatcher's threads send them signed
(``X-Tradeforge-Signature``, checked by receivers with ``verify_signature``).
"""

from __future__ import annotations

from pipelines.webhooks.dispatcher import RetryPolicy, WebhookDispatcher
from pipelines.webhooks.events import EVENTS, check_event, check_events
from pipelines.webhooks.outbox import enqueue
from pipelines.webhooks.sender import render_body
from pipelines.webhooks.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookSignatureError,
    signature_header,
    verify_signature,
)
from pipelines.webhooks.subscriptions import NewWebhook, WebhookSubscriptions, generate_secret
from pipelines.webhooks.urls import Target, check_url, is_public_address

__all__ = [
    "DELIVERY_HEADER",
    "EVENTS",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "NewWebhook",
    "RetryPolicy",
    "Target",
    "WebhookDispatcher",
    "WebhookSignatureError",
    "WebhookSubscriptions",
    "check_event",
    "check_events",
    "check_url",
    "enqueue",
    "generate_secret",
    "is_public_address",
    "render_body",
    "signature_header",
    "verify_signature",
]
