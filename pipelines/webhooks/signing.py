"""Signatures of webhook deliveries, and their verification by a receiver.

Every delivery carries ``X-Tradeforge-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is
HMAC-SHA256 keyed with the webhook's secret over ``f"{t}.{body}"`` (the raw request body, as
bytes). Binding the time into the MAC lets a receiver refuse replays of an old delivery. A receiver
in Python::

    from pipelines.webhooks import WebhookSignatureError, verify_signature

    try:
        verify_signature(secret, request.headers["X-Tradeforge-Signature"], raw_body)
    except WebhookSignatureError:
        return 400  # forged, altered, or older than five minutes

Elsewhere: split the header on ``,`` then ``=``, recompute the HMAC, compare in constant time and
check that ``t`` is within a few minutes of your clock. ``X-Tradeforge-Delivery`` (the delivery id)
is the same on every retry of one delivery: use it to ignore duplicates (delivery is at least once).
"""

from __future__ import annotations

import hashlib
import hmac
import time

from pipelines.errors import AuthenticationError

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "WebhookSignatureError",
    "sign",
    "signature_header",
    "verify_signature",
]

SIGNATURE_HEADER = "X-Tradeforge-Signature"
EVENT_HEADER = "X-Tradeforge-Event"
DELIVERY_HEADER = "X-Tradeforge-Delivery"
SCHEME = "v1"


class WebhookSignatureError(AuthenticationError):
    """The signature header is missing, malformed, wrong for this body, or too old."""


def _as_bytes(value: str | bytes) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else value


def sign(secret: str, body: str | bytes, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}.{body}"`` under ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + _as_bytes(body)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, body: str | bytes, timestamp: int | None = None) -> str:
    """The ``X-Tradeforge-Signature`` value for ``body`` sent at ``timestamp`` (default now)."""
    moment = int(time.time()) if timestamp is None else timestamp
    return f"t={moment},{SCHEME}={sign(secret, body, moment)}"


def verify_signature(
    secret: str, header: str | None, body: str | bytes, tolerance_s: float = 300, *, now: float | None = None
) -> None:
    """Check a delivery's signature header against its raw body; WebhookSignatureError if it fails.

    The header's time must be within ``tolerance_s`` seconds of ``now`` (either side), so that a
    captured delivery cannot be replayed later. Several ``v1`` values are accepted (any may match).
    """
    if not header:
        raise WebhookSignatureError(f"missing {SIGNATURE_HEADER} header")
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookSignatureError(f"malformed {SIGNATURE_HEADER} header")
        if key == "t":
            try:
                timestamp = int(value)
            except ValueError:
                raise WebhookSignatureError(f"malformed timestamp in {SIGNATURE_HEADER}") from None
        elif key == SCHEME:
            candidates.append(value)
    if timestamp is None or not candidates:
        raise WebhookSignatureError(f"{SIGNATURE_HEADER} needs a t= timestamp and a {SCHEME}= signature")
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        raise WebhookSignatureError(
            f"signature timestamp is {abs(current - timestamp):.0f} s from now (tolerance {tolerance_s:g} s)"
        )
    expected = sign(secret, body, timestamp).encode("ascii")
    if not any(hmac.compare_digest(expected, c.encode("utf-8", "replace")) for c in candidates):
        raise WebhookSignatureError("signature does not match the body")
