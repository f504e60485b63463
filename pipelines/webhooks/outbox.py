"""Recording events for delivery: one pending delivery row per subscribed webhook (a transactional outbox).

``enqueue`` only writes rows, in the caller's transaction, so any process can publish (a job
worker, the API) and the event is sent if and only if that transaction commits; a running
``WebhookDispatcher`` (in this process or another one on the same database) sends them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipelines.db.types import isoformat_utc
from pipelines.db.webhook_models import Webhook, WebhookDelivery
from pipelines.errors import InvalidRequestError
from pipelines.webhooks.events import check_event

__all__ = ["enqueue", "jsonable"]


def enqueue(session: Session, event: str, payload: Mapping[str, Any], user_id: str) -> list[str]:
    """Pending deliveries of ``event`` to each active webhook of ``user_id`` subscribed to it; their ids."""
    check_event(event)
    if not isinstance(payload, Mapping):
        raise InvalidRequestError(f"a webhook payload must be a JSON object, got {type(payload).__name__}")
    data = jsonable(payload)
    hooks = session.scalars(
        select(Webhook).where(Webhook.user_id == user_id, Webhook.active.is_(True)).order_by(Webhook.id)
    ).all()
    rows = [WebhookDelivery(webhook_id=h.id, event=event, payload=data) for h in hooks if event in h.events]
    if not rows:
        return []
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON values: times in ISO 8601 (UTC), NaN and infinities as null, numpy scalars
    as numbers. Anything else that JSON cannot carry is an InvalidRequestError."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise InvalidRequestError("webhook payload keys must be strings")
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        return isoformat_utc(value) if value.tzinfo is not None else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    item = getattr(value, "item", None)  # numpy scalars
    if callable(item) and getattr(value, "shape", None) == ():
        return jsonable(item())
    raise InvalidRequestError(f"webhook payload value of type {type(value).__name__} is not JSON")
