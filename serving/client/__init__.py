"""Python client of the Tradeforge API (httpx, synchronous). Needs only httpx, not the server.

    with Client("http://localhost:8000", api_key="tf_...") as client:
        client.predict("AAPL", model="ensemble_spy")

Every non-2xx answer raises a :class:`TradeforgeAPIError` subclass carrying the envelope's ``code``,
``message``, ``details`` and ``request_id``; transport failures raise :class:`ConnectionFailed`.
Credentials never appear in exception messages or reprs.
"""

from __future__ import annotations

from serving.client.api import Client
from serving.client.errors import (
    AuthenticationFailed,
    Conflict,
    ConnectionFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    ServerError,
    TradeforgeAPIError,
)

__all__ = [
    "AuthenticationFailed",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TradeforgeAPIError",
]
