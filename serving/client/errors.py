"""The client's exceptions and how an error answer (the API's envelope, or anything else) becomes one."""

from __future__ import annotations

import time
from collections.abc import Iterable
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

__all__ = [
    "AuthenticationFailed",
    "Conflict",
    "ConnectionFailed",
    "InvalidRequest",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServerError",
    "TradeforgeAPIError",
    "error_from_response",
    "safe_url",
    "scrub",
]

_DEFAULT_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}


class TradeforgeAPIError(Exception):
    """An error answer of the API (or, for :class:`ConnectionFailed`, no answer at all)."""

    def __init__(
        self,
        code: str,
        message: str,
        status_code: int | None,
        details: Any = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code
        self.details = details if details is not None else {}
        self.request_id = request_id

    def __str__(self) -> str:
        status = f" ({self.status_code})" if self.status_code is not None else ""
        request = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.code}{status}: {self.message}{request}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"status_code={self.status_code!r}, request_id={self.request_id!r})"
        )


class AuthenticationFailed(TradeforgeAPIError):
    """401: missing, bad, expired or revoked credentials."""


class PermissionDenied(TradeforgeAPIError):
    """403: authenticated, but not allowed."""


class NotFound(TradeforgeAPIError):
    """404: no such model, data, key, ..."""


class Conflict(TradeforgeAPIError):
    """409: the request would duplicate something unique."""


class InvalidRequest(TradeforgeAPIError):
    """400/422: INVALID_REQUEST, VALIDATION_ERROR, INVALID_SYMBOL."""


class RateLimited(TradeforgeAPIError):
    """429: the tier's quota is spent; retry after ``retry_after`` seconds, at ``reset`` (epoch seconds)."""

    def __init__(
        self,
        code: str,
        message: str,
        status_code: int | None,
        details: Any = None,
        request_id: str | None = None,
        *,
        retry_after: int | None = None,
        reset: int | None = None,
        limit: int | None = None,
    ) -> None:
        super().__init__(code, message, status_code, details, request_id)
        self.retry_after = retry_after
        self.reset = reset
        self.limit = limit


class ServerError(TradeforgeAPIError):
    """5xx: the server failed (MODEL_ERROR, SERVICE_UNAVAILABLE, INTERNAL_ERROR)."""


class ConnectionFailed(TradeforgeAPIError):
    """No HTTP answer: connection refused, DNS failure, timeout. ``url`` is the request's URL."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__("CONNECTION_FAILED", message, None)
        self.url = url


def safe_url(url: str) -> str:
    """``url`` without user info (``http://user:pass@host`` must not reach a message)."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every given secret replaced by ``***`` (a server may echo what it was sent)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(float(headers[name]))
    except (KeyError, ValueError):
        return None


def _retry_after(headers: httpx.Headers) -> int | None:
    """Seconds from ``Retry-After`` (delta or HTTP date), else until ``X-RateLimit-Reset``."""
    value = headers.get("Retry-After", "").strip()
    if value.isdigit():
        return int(value)
    if value:
        try:
            return max(0, round(parsedate_to_datetime(value).timestamp() - time.time()))
        except (TypeError, ValueError):
            pass
    reset = _int_header(headers, "X-RateLimit-Reset")
    return None if reset is None else max(0, reset - int(time.time()))


def _error_class(status: int) -> type[TradeforgeAPIError]:
    if status >= 500:
        return ServerError
    classes: dict[int, type[TradeforgeAPIError]] = {
        400: InvalidRequest,
        401: AuthenticationFailed,
        403: PermissionDenied,
        404: NotFound,
        409: Conflict,
        422: InvalidRequest,
        429: RateLimited,
    }
    return classes.get(status, TradeforgeAPIError)


def _parse(response: httpx.Response) -> tuple[str, str, Any, Any]:
    """(code, message, details, request_id) from the envelope, a plain ``{"error": "..."}`` or Litestar's."""
    code: str = _DEFAULT_CODES.get(response.status_code, f"HTTP_{response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        return code, "", None, None
    if not isinstance(body, dict):
        return code, "", None, None
    error, message, details = body.get("error"), "", None
    if isinstance(error, dict):
        code = str(error.get("code") or code)
        message = str(error.get("message") or "")
        details = error.get("details")
    elif isinstance(error, str):
        message = error
    message = message or str(body.get("detail") or body.get("message") or "")
    return code, message, details, body.get("request_id")


def error_from_response(response: httpx.Response, secrets: Iterable[str | None] = ()) -> TradeforgeAPIError:
    """The typed exception for a non-2xx ``response``; a body other than the envelope maps by status."""
    status = response.status_code
    code, message, details, request_id = _parse(response)
    if not message:
        text = response.text.strip()[:200]
        message = f"HTTP {status} {response.reason_phrase}" + (f": {text}" if text else "")
    request_id = str(request_id or response.headers.get("X-Request-ID") or "") or None
    cls = _error_class(status)
    args = (code, scrub(message, secrets), status, details, request_id)
    if cls is RateLimited:
        return RateLimited(
            *args,
            retry_after=_retry_after(response.headers),
            reset=_int_header(response.headers, "X-RateLimit-Reset"),
            limit=_int_header(response.headers, "X-RateLimit-Limit"),
        )
    return cls(*args)
