"""OpenAPI at /openapi.json, Swagger UI at /docs, ReDoc at /redoc (public and never rate-limited,
outside the schema). Each page is rendered once per app and then served from memory: rendering the
schema costs over 100 ms, which an unthrottled route must not spend per call."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from litestar import MediaType, Request, get
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

__all__ = ["docs_handlers"]

_PUBLIC = {"public": True, "probe": True}
_swagger = SwaggerRenderPlugin(path="/docs")
_redoc = RedocRenderPlugin(path="/redoc")


def _rendered(request: Request[Any, Any, Any], page: str, render: Callable[[dict[str, Any]], bytes]) -> bytes:
    """``page`` of this app, rendered from its schema on first use and kept in the app's state."""
    cache: dict[str, bytes] = request.app.state.setdefault("rendered_docs", {})
    body = cache.get(page)
    if body is None:
        body = cache[page] = render(request.app.openapi_schema.to_schema())
    return body


@get("/openapi.json", include_in_schema=False, media_type=MediaType.JSON, opt=_PUBLIC, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> bytes:
    return _rendered(request, "json", lambda schema: json.dumps(schema).encode())


@get("/docs", include_in_schema=False, media_type=MediaType.HTML, opt=_PUBLIC, sync_to_thread=False)
def swagger_ui(request: Request[Any, Any, Any]) -> bytes:
    return _rendered(request, "swagger", lambda schema: _swagger.render(request, schema))


@get("/redoc", include_in_schema=False, media_type=MediaType.HTML, opt=_PUBLIC, sync_to_thread=False)
def redoc_ui(request: Request[Any, Any, Any]) -> bytes:
    return _rendered(request, "redoc", lambda schema: _redoc.render(request, schema))


docs_handlers = [openapi_json, swagger_ui, redoc_ui]
