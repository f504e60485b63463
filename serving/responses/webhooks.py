"""Answers of the /api/v1/webhooks routes."""

from __future__ import annotations

from typing import Any, Literal

from serving.responses import Shape

__all__ = ["Delivery", "DeliveryLog", "NewWebhook", "Webhook", "WebhookDeleted", "WebhookList"]


class Webhook(Shape):
    id: str
    url: str
    events: list[str]
    active: bool
    user_id: str
    created_at: str


class NewWebhook(Webhook):
    secret: str
    signature_header: str
    note: str


class WebhookList(Shape):
    webhooks: list[Webhook]
    count: int
    events: list[str]  # every event one may subscribe to


class WebhookDeleted(Shape):
    status: Literal["deleted"]
    id: str


class Delivery(Shape):
    id: str
    event: str
    status: str  # pending, delivered or failed
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: str | None
    created_at: str
    delivered_at: str | None
    payload: dict[str, Any]


class DeliveryLog(Shape):
    webhook_id: str
    deliveries: list[Delivery]
    count: int
