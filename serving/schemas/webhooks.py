"""Examples of the /api/v1/webhooks routes, and the annotated request body."""

from __future__ import annotations

from typing import Annotated, Any

from litestar.openapi.spec import Example
from litestar.params import Body

from serving import dto
from serving.schemas.admin_examples import NOW, USER_ID

__all__ = [
    "DELETED", "DELIVERIES", "NEW_WEBHOOK", "WEBHOOK", "WEBHOOKS", "WEBHOOK_CREATE", "WebhookCreateBody",
]  # fmt: skip


_ID = "5c0e2d1f-8a47-4c3e-9b0e-2f6d7a1c9e42"
_CREATED = "2024-07-10T15:30:00.123456+00:00"
WEBHOOK_CREATE: dict[str, Any] = {
    "url": "https://your-app.com/webhooks/tradeforge",
    "events": ["prediction.completed", "training.finished"],
}
WEBHOOK: dict[str, Any] = {
    **WEBHOOK_CREATE,
    "id": _ID,
    "active": True,
    "user_id": USER_ID,
    "created_at": _CREATED,
}
NEW_WEBHOOK: dict[str, Any] = {
    **WEBHOOK,
    "secret": "whsec_6f1d0c8e2b7a4f3e9d5c1b0a8f7e6d5c",
    "signature_header": "X-Tradeforge-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
    "note": "store the secret now: it is not shown again",
}
WEBHOOKS: dict[str, Any] = {
    "webhooks": [WEBHOOK],
    "count": 1,
    "events": ["prediction.completed", "training.started", "training.finished", "backtest.completed"],
}
DELETED: dict[str, Any] = {"status": "deleted", "id": _ID}
DELIVERIES: dict[str, Any] = {
    "webhook_id": _ID,
    "deliveries": [
        {
            "id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "event": "training.finished",
            "status": "delivered",
            "attempts": 1,
            "last_status_code": 200,
            "last_error": None,
            "next_attempt_at": None,
            "created_at": _CREATED,
            "delivered_at": "2024-07-10T15:30:00.412000+00:00",
            "payload": {
                "model_type": "ensemble",
                "model_name": "ensemble_spy",
                "version": "3",
                "at": NOW,
            },
        }
    ],
    "count": 1,
}

WebhookCreateBody = Annotated[
    dto.WebhookCreate, Body(examples=[Example(summary="a webhook", value=WEBHOOK_CREATE)])
]
