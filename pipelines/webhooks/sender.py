"""One delivery attempt over HTTP: the signed POST, pinned to the address that passed the URL policy."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

import httpx

from pipelines.webhooks.signing import DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signature_header
from pipelines.webhooks.urls import Target

__all__ = ["Attempt", "is_retryable_status", "render_body", "send"]

USER_AGENT = "Tradeforge-Webhooks/1"
# Enough of a failing receiver's answer to tell what went wrong, without reading a huge body.
MAX_ERROR_BODY = 512


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt got: a status code, or the error that prevented one."""

    status_code: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        return self.status_code is None or is_retryable_status(self.status_code)


def is_retryable_status(status_code: int) -> bool:
    """Any answer but a 2xx is retried, except a 4xx other than 408 and 429 (the receiver refuses)."""
    if 200 <= status_code < 300:
        return False
    return not (400 <= status_code < 500) or status_code in (408, 429)


def render_body(delivery_id: str, event: str, timestamp: str, data: dict[str, Any]) -> bytes:
    """The request body (id, event, timestamp and data); the same on every retry."""
    document = {"id": delivery_id, "event": event, "timestamp": timestamp, "data": data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


def send(
    client: httpx.Client, target: Target, *, secret: str, delivery_id: str, event: str, body: bytes
) -> Attempt:
    """POST ``body`` to ``target``'s first checked address (Host and TLS name of the URL's host)."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: event,
        DELIVERY_HEADER: delivery_id,
        SIGNATURE_HEADER: signature_header(secret, body, int(time.time())),
    }
    try:
        url = httpx.URL(target.url)
        headers["Host"] = url.netloc.decode("ascii")
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = client.build_request(
            "POST",
            url.copy_with(host=str(target.addresses[0])),
            headers=headers,
            content=body,
            extensions=extensions,
        )
        response = client.send(request, stream=True)
        try:
            if 200 <= response.status_code < 300:
                return Attempt(status_code=response.status_code, error=None)
            return Attempt(status_code=response.status_code, error=_describe(response))
        finally:
            response.close()
    except httpx.HTTPError as exc:
        return Attempt(status_code=None, error=f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__)


def _describe(response: httpx.Response) -> str:
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) >= MAX_ERROR_BODY:
            break
    text = bytes(received[:MAX_ERROR_BODY]).decode("utf-8", "replace").strip()
    reason = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return f"{reason}: {text}" if text else reason
