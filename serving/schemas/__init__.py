"""OpenAPI documentation of the API's answers and request bodies.

The handlers return plain dicts (cheapest to encode); what they answer is described here instead: one
msgspec Struct per response shape (``admin``, ``monitoring``, ``trading``, ...) with a realistic
example (``*_examples``), attached per handler with ``responses=doc(Shape, EXAMPLE, *error_statuses)``,
and the request bodies annotated with example requests (``data: PredictBody``:
the same type at runtime).
tests/serving/test_openapi.py checks that every example and the app's real answers decode as the
documented shapes, so the documentation cannot drift from the handlers unnoticed.
"""

from __future__ import annotations

from typing import Any

from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from serving.schemas import admin_examples as ex
from serving.schemas.admin import ErrorEnvelope, Shape

__all__ = ["ERROR_DESCRIPTIONS", "doc", "doc_text"]

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "Invalid request: a field fails validation, or a value (symbol, period, strategy...) is unknown",
    401: "Missing, invalid or expired credentials (Bearer token or X-API-Key)",
    403: "Authenticated, but the caller's role may not do this",
    404: "Not found: an unknown model, symbol or key, or a symbol without data",
    409: "Conflict with the current state (a name taken, a training already running)",
    413: "The request body is larger than this route accepts (an upload over the size limit)",
    429: "Rate limit of the caller's tier exceeded (see the X-RateLimit-* headers)",
    503: "Not ready: a backing service (database, model registry, cache) does not answer",
}


def doc(
    shape: type[Shape], example: dict[str, Any], *errors: int, status: int = 200, description: str = "Success"
) -> dict[int, ResponseSpec]:
    """A handler's ``responses``: ``shape`` with ``example`` at ``status``, and the error envelope with
    an example at each status of ``errors`` and at 429 (every route is rate-limited)."""
    success = ResponseSpec(
        data_container=shape,
        description=description,
        generate_examples=False,
        examples=[Example(summary=description, value=example)],
    )
    return {status: success, **{code: _error(code) for code in sorted({*errors, 429})}}


def doc_text(media_type: str, example: str, description: str, *errors: int) -> dict[int, ResponseSpec]:
    """``responses`` of a plain-text route (the Prometheus metrics): text at 200, the error envelope
    at each status of ``errors``, and 429."""
    text = ResponseSpec(
        data_container=str,
        description=description,
        media_type=media_type,
        generate_examples=False,
        examples=[Example(summary=description, value=example)],
    )
    return {200: text, **{code: _error(code) for code in sorted({*errors, 429})}}


def _error(code: int) -> ResponseSpec:
    example = ex.ERRORS[code]
    return ResponseSpec(
        data_container=ErrorEnvelope,
        description=ERROR_DESCRIPTIONS[code],
        generate_examples=False,
        examples=[Example(summary=example["error"]["code"], value=example)],
    )
