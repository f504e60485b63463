"""What the types of the API cannot say: examples of its answers and request bodies, and the error
envelope at each status a route can answer.

A handler's answer is the Struct of its return annotation (``serving/responses/``); Litestar generates
the success schema from it. ``responses=doc(EXAMPLE, *error_statuses)`` adds a realistic example
(``*_examples``) to that schema and the error envelope with an example at each error status;
:func:`document_answers` puts the handler's return type under the example when the app is built. The
request bodies are annotated with example requests (``data: PredictBody``: the same type at runtime).
tests/serving/test_openapi.py checks that every example and the app's real answers decode as the
documented shapes.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Union, get_args, get_origin

from litestar import Litestar, Response
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example

from serving.responses import Shape
from serving.responses.admin import ErrorEnvelope
from serving.schemas import admin_examples as ex

__all__ = ["ERROR_DESCRIPTIONS", "FromReturnAnnotation", "doc", "doc_text", "document_answers"]


class FromReturnAnnotation:
    """Placeholder shape of a success answer documented by :func:`doc`: :func:`document_answers`
    replaces it with the handler's return type."""


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
    example: dict[str, Any] | list[Any], *errors: int, status: int = 200, description: str = "Success"
) -> dict[int, ResponseSpec]:
    """A handler's ``responses``: its return type with ``example`` at ``status``, and the error envelope
    with an example at each status of ``errors`` and at 429 (every route is rate-limited)."""
    success = ResponseSpec(
        data_container=FromReturnAnnotation,
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


def document_answers(app: Litestar) -> None:
    """Put each route's return type under the success example that :func:`doc` gave it, so the schema
    documented at that status is the one Litestar derives from the handler's annotation."""
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            responses = handler.responses or {}
            for status, spec in responses.items():
                if spec.data_container is FromReturnAnnotation:
                    shape = _success_shape(handler.parsed_fn_signature.return_type.annotation, responses)
                    responses[status] = dataclasses.replace(spec, data_container=shape)


def _success_shape(annotation: Any, responses: dict[int, ResponseSpec]) -> Any:
    """The Struct a handler answers with: its return annotation, inside ``Response[...]``; of a union
    (``Response[Backtest | JobAccepted]``), the one member no other status documents; a list of
    Structs (``list[Bar]``) as it is."""
    if get_origin(annotation) is Response:
        (annotation,) = get_args(annotation)
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if isinstance(item, type) and issubclass(item, Shape):
            return annotation
    members = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else (annotation,)
    others = {spec.data_container for spec in responses.values()}
    left = [m for m in members if isinstance(m, type) and issubclass(m, Shape) and m not in others]
    if len(left) != 1:
        raise TypeError(f"cannot document the answer of a handler returning {annotation!r}: return a Shape")
    return left[0]
