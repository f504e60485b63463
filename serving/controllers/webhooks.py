"""/api/v1/webhooks: a user's endpoints for event notifications and their delivery log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from litestar import Controller, delete, get, post
from litestar.params import FromPath, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from pipelines.db.webhook_models import DELIVERY_STATUSES
from pipelines.webhooks import EVENTS
from serving.context import PrincipalDep
from serving.dto import one_of
from serving.providers.webhooks import WEBHOOKS, WebhooksDep
from serving.responses import shaped
from serving.responses import webhooks as wr
from serving.schemas import doc
from serving.schemas import webhooks as w

__all__ = ["WebhookController"]

if TYPE_CHECKING:
    DeliveryStatus: TypeAlias = str
else:
    DeliveryStatus = one_of(DELIVERY_STATUSES)  # the spec lists what the server accepts

SIGNATURE_FORMAT = "X-Tradeforge-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>"


class WebhookController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]
    dependencies = WEBHOOKS

    @post(
        "/",
        status_code=HTTP_201_CREATED,
        summary="Register a webhook (secret shown once)",
        responses=doc(w.NEW_WEBHOOK, 400, 401, 404, 409, status=201, description="The new webhook"),
        sync_to_thread=True,
    )
    def create(
        self, webhooks: WebhooksDep, principal: PrincipalDep, data: w.WebhookCreateBody
    ) -> wr.NewWebhook:
        body, secret = webhooks.create(principal, data.url, data.events, data.secret)
        return shaped(
            wr.NewWebhook,
            {
                **body,
                "secret": secret,
                "signature_header": SIGNATURE_FORMAT,
                "note": "store the secret now: it is not shown again",
            },
        )

    @get(
        "/",
        summary="Your webhooks (an admin sees all)",
        responses=doc(w.WEBHOOKS, 401),
        sync_to_thread=True,
    )
    def list_hooks(self, webhooks: WebhooksDep, principal: PrincipalDep) -> wr.WebhookList:
        hooks = webhooks.hooks(principal)
        return shaped(wr.WebhookList, {"webhooks": hooks, "count": len(hooks), "events": list(EVENTS)})

    @delete(
        "/{webhook_id:str}",
        status_code=HTTP_200_OK,
        summary="Delete a webhook",
        responses=doc(w.DELETED, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def delete_hook(
        self, webhooks: WebhooksDep, principal: PrincipalDep, webhook_id: FromPath[str]
    ) -> wr.WebhookDeleted:
        webhooks.delete(principal, webhook_id)
        return shaped(wr.WebhookDeleted, {"status": "deleted", "id": webhook_id})

    @get(
        "/{webhook_id:str}/deliveries",
        summary="The webhook's delivery log",
        responses=doc(w.DELIVERIES, 400, 401, 403, 404),
        sync_to_thread=True,
    )
    def deliveries(
        self,
        webhooks: WebhooksDep,
        principal: PrincipalDep,
        webhook_id: FromPath[str],
        status: Annotated[DeliveryStatus | None, Parameter()] = None,
        limit: int = Parameter(default=100, ge=1, le=500),
    ) -> wr.DeliveryLog:
        out = webhooks.deliveries(principal, webhook_id, status=status, limit=limit)
        return shaped(wr.DeliveryLog, {"webhook_id": webhook_id, "deliveries": out, "count": len(out)})
