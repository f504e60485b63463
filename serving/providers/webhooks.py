"""What the webhook routes (/api/v1/webhooks) need: registration, listing, deletion and the delivery
log, each in its own unit of work, and how the API shows a webhook and a delivery."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency

from pipelines.db import Database
from pipelines.db.webhook_models import Webhook, WebhookDelivery
from pipelines.webhooks import WebhookSubscriptions
from serving.context import Principal
from serving.providers.wiring import authenticated, provides

__all__ = ["WEBHOOKS", "WebhooksDep", "WebhooksProvider", "delivery_row", "webhook_row"]


def webhook_row(record: Webhook) -> dict[str, Any]:
    """What the API shows of a webhook (never its secret)."""
    return {
        "id": record.id,
        "url": record.url,
        "events": list(record.events),
        "active": record.active,
        "user_id": record.user_id,
        "created_at": record.created_at.isoformat(),
    }


def delivery_row(row: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "event": row.event,
        "status": row.status,
        "attempts": row.attempts,
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.next_attempt_at else None,
        "created_at": row.created_at.isoformat(),
        "delivered_at": row.delivered_at.isoformat() if row.delivered_at else None,
        "payload": row.payload,
    }


class WebhooksProvider:
    def __init__(self, *, database: Database, webhooks: WebhookSubscriptions) -> None:
        self._database = database
        self._webhooks = webhooks

    def create(
        self, principal: Principal, url: str, events: Iterable[str], secret: str | None
    ) -> tuple[dict[str, Any], str]:
        """Register the caller's webhook: (its row, its signing secret)."""
        with self._database.transaction() as session:
            new = self._webhooks.create(session, principal.user_id, url, events, secret)
            return webhook_row(new.record), new.secret

    def hooks(self, principal: Principal) -> list[dict[str, Any]]:
        """The caller's webhooks (an admin: everyone's)."""
        with self._database.session() as session:
            return [webhook_row(h) for h in self._webhooks.list(session, principal.scope_user_id)]

    def delete(self, principal: Principal, webhook_id: str) -> None:
        with self._database.transaction() as session:
            self._webhooks.delete(session, webhook_id, user_id=principal.user_id, is_admin=principal.is_admin)

    def deliveries(
        self, principal: Principal, webhook_id: str, *, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """The webhook's newest deliveries (its owner or an admin), optionally of one status."""
        with self._database.session() as session:
            rows = self._webhooks.deliveries(
                session,
                webhook_id,
                user_id=principal.user_id,
                is_admin=principal.is_admin,
                status=status,
                limit=limit,
            )
            return [delivery_row(r) for r in rows]


WebhooksDep = NamedDependency[WebhooksProvider]


def _provide(state: State) -> WebhooksProvider:
    provider: WebhooksProvider = state.container.webhooks_provider
    return provider


def _principal(webhooks: WebhooksDep, request: Request[Any, Any, Any]) -> Principal:
    return authenticated(request)


WEBHOOKS = provides("webhooks", _provide, _principal)
"""The dependencies of the webhook controller: ``webhooks: WebhooksDep`` and ``principal``."""
