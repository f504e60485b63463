"""/api/v1/webhooks: a user's endpoints for event notifications and their delivery log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

from litestar import Controller, delete, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from pipelines.db.webhook_models import DELIVERY_STATUSES
from pipelines.webhooks import EVENTS
from serving.context import PrincipalDep
from serving.dto import one_of
from serving.schemas import doc
from serving.schemas import webhooks as w
from serving.services import ServicesDep

__all__ = ["WebhookController"]

if TYPE_CHECKING:
    DeliveryStatus: TypeAlias = str
else:
    DeliveryStatus = one_of(DELIVERY_STATUSES)  # the spec lists what the server accepts

SIGNATURE_FORMAT = "X-Tradeforge-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>"


def _hook(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "url": record.url,
        "events": list(record.events),
        "active": record.active,
        "user_id": record.user_id,
        "created_at": record.created_at.isoformat(),
    }


def _delivery(row: Any) -> dict[str, Any]:
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


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register a webhook (secret shown once)",
        responses=doc(
            w.NewWebhook, w.NEW_WEBHOOK, 400, 401, 404, 409, status=201, description="The new webhook"
        ),
        sync_to_thread=True,
    )
    def create(
        self, services: ServicesDep, principal: PrincipalDep, data: w.WebhookCreateBody
    ) -> dict[str, Any]:
        with services.database.transaction() as session:
            new = services.webhooks.create(session, principal.user_id, data.url, data.events, data.secret)
            body = _hook(new.record)
        return {
            **body,
            "secret": new.secret,
            "signature_header": SIGNATURE_FORMAT,
            "note": "store the secret now: it is not shown again",
        }

    @get(
        "/",
        summary="Your webhooks (an admin sees all)",
        responses=doc(w.WebhookList, w.WEBHOOKS, 401),
        sync_to_thread=True,
    )
    def list_hooks(self, services: ServicesDep, principal: PrincipalDep) -> dict[str, Any]:
        with services.database.session() as session:
            hooks = [_hook(h) for h in services.webhooks.list(session, principal.scope_user_id)]
        return {"webhooks": hooks, "count": len(hooks), "events": list(EVENTS)}

    @delete(
        "/{webhook_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a webhook",
        responses=doc(w.WebhookDeleted, w.DELETED, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def delete_hook(
        self, services: ServicesDep, principal: PrincipalDep, webhook_id: FromPath[str]
    ) -> dict[str, Any]:
        with services.database.transaction() as session:
            services.webhooks.delete(
                session, webhook_id, user_id=principal.user_id, is_admin=principal.is_admin
            )
        return {"status": "deleted", "id": webhook_id}

    @get(
        "/{webhook_id:str}/deliveries",
        summary="The webhook's delivery log",
        responses=doc(w.DeliveryLog, w.DELIVERIES, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def deliveries(
        self,
        services: ServicesDep,
        principal: PrincipalDep,
        webhook_id: FromPath[str],
        status: Annotated[DeliveryStatus | None, Parameter()] = None,
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> dict[str, Any]:
        with services.database.session() as session:
            rows = services.webhooks.deliveries(
                session,
                webhook_id,
                user_id=principal.user_id,
                is_admin=principal.is_admin,
                status=status,
                limit=limit,
            )
            out = [_delivery(r) for r in rows]
        return {"webhook_id": webhook_id, "deliveries": out, "count": len(out)}
