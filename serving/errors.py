"""The one error envelope (DESIGN.md, "API rules") for every error the app answers.

``{"status": "error", "error": {"code", "message", "details"}, "detail": message, "status_code",
"request_id", "timestamp"}``: domain errors keep their code (``TradeforgeError.code``), Litestar's
validation errors become VALIDATION_ERROR with the offending fields in ``details``, unknown routes
NOT_FOUND, and anything unexpected INTERNAL_ERROR with no internals leaked.
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from pipelines.errors import (
    AuthenticationError,
    BusyError,
    ConflictError,
    DataNotFoundError,
    InvalidFieldsError,
    InvalidRequestError,
    ModelError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProviderError,
    RateLimitedError,
    TradeforgeError,
    UnknownSymbolError,
)
from serving.context import request_id_of, user_id_of
from serving.responses import now_stamp

__all__ = ["ApiError", "envelope", "exception_handlers", "status_for"]

log = logging.getLogger("tradeforge.serving")

_STATUS: list[tuple[type[TradeforgeError], int]] = [
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (DataNotFoundError, 404),
    (ConflictError, 409),
    (RateLimitedError, 429),
    (UnknownSymbolError, 404),
    (PayloadTooLargeError, 413),
    (InvalidRequestError, 400),
    (ProviderError, 503),
    (BusyError, 503),
    (ModelError, 500),
]
_HTTP_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "RATE_LIMITED",
    503: "SERVICE_UNAVAILABLE",
}


class ApiError(Exception):
    """An error raised by the serving layer itself, with its code, status and details."""

    def __init__(self, status_code: int, code: str, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.details = details or {}


def status_for(exc: TradeforgeError) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def envelope(status: int, code: str, message: str, details: Any, request_id: str) -> dict[str, Any]:
    return {
        "status": "error",
        "error": {"code": code, "message": message, "details": details if details is not None else {}},
        "detail": message,
        "status_code": status,
        "request_id": request_id,
        "timestamp": now_stamp(),
    }


def _classify(exc: Exception) -> tuple[int, str, str, Any, dict[str, str]]:
    """(status, code, message, details, extra headers) of any exception."""
    if isinstance(exc, ApiError):
        return exc.status_code, exc.code, exc.message, exc.details, {}
    if isinstance(exc, TradeforgeError):
        status = status_for(exc)
        details = dict(getattr(exc, "details", None) or {})
        message = (
            str(exc)
            if status < 500 or isinstance(exc, ProviderError | BusyError)
            else "model computation failed"
        )
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if isinstance(retry_after, int) else {}
        return status, exc.code, message, details, headers
    if isinstance(exc, ValidationException):
        fields = exc.extra if isinstance(exc.extra, list) else ([exc.extra] if exc.extra else [])
        message = _validation_message(str(exc.detail), fields)
        return 400, "VALIDATION_ERROR", message, {"errors": fields}, {}
    if isinstance(exc, NotFoundException):
        return 404, "NOT_FOUND", str(exc.detail) or "Not Found", {}, {}
    if isinstance(exc, MethodNotAllowedException):
        return 405, "METHOD_NOT_ALLOWED", str(exc.detail), {}, dict(exc.headers or {})
    if isinstance(exc, NotAuthorizedException):
        return 401, "UNAUTHORIZED", str(exc.detail), {}, {}
    if isinstance(exc, PermissionDeniedException):
        return 403, "FORBIDDEN", str(exc.detail), {}, {}
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(
            exc.status_code, "INVALID_REQUEST" if exc.status_code < 500 else "INTERNAL_ERROR"
        )
        return exc.status_code, code, str(exc.detail), exc.extra or {}, dict(exc.headers or {})
    return HTTP_500_INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", "internal server error", {}, {}


def _validation_message(detail: str, fields: list[Any]) -> str:
    parts = []
    for item in fields:
        if isinstance(item, dict) and item.get("message"):
            key = item.get("key")
            parts.append(f"{key}: {item['message']}" if key else str(item["message"]))
    return "; ".join(parts) if parts else detail


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, code, message, details, headers = _classify(exc)
    request_id = request_id_of(request.scope)
    if isinstance(exc, ProviderError | BusyError):
        # A provider failing (the outside world) or the job queue being full is answered as
        # documented, and the answer says why: one line, no traceback.
        log.warning("request %s failed: %s: %s", request_id, code, message)
    elif status >= 500:
        log.error("request %s failed: %s", request_id, type(exc).__name__, exc_info=exc)
    container = getattr(request.app.state, "container", None)
    if container is not None:
        container.observer.record_error(
            request_id=request_id,
            user_id=user_id_of(request.scope),
            method=request.method,
            path=request.url.path,
            status_code=status,
            code=code,
            message=message,
        )
    body = envelope(status, code, message, details, request_id)
    fields = getattr(exc, "fields", None)
    if isinstance(exc, InvalidFieldsError) and isinstance(fields, list):
        body["details"] = fields  # the rejected fields as a list of {"field", "message"}
    return Response(
        body,
        status_code=status,
        media_type=MediaType.JSON,
        headers={**headers, "X-Request-ID": request_id},
    )


exception_handlers: dict[type[Exception] | int, Any] = {Exception: handle}
