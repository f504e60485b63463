"""OpenAPI at /openapi.json, Swagger UI at /docs, ReDoc at /redoc (public and never rate-limited,
outside the schema). Each page is rendered once per app and then served from memory: rendering the
schema costs over 100 ms, which an unthrottled route must not spend per call.

The pages load Swagger UI and ReDoc from the installed ``openapi-ui-bundles`` package, served under
``/docs/static/``, never from a CDN: the docs work on a machine without internet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from litestar import MediaType, Request, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router
from openapi_ui_bundles import redoc as redoc_bundle
from openapi_ui_bundles import swagger_ui as swagger_bundle

__all__ = ["docs_handlers", "redoc_plugin", "swagger_plugin"]

_PUBLIC = {"public": True, "probe": True}
_SWAGGER_STATIC = "/docs/static/swagger-ui"
_REDOC_STATIC = "/docs/static/redoc"


def swagger_plugin(path: str) -> SwaggerRenderPlugin:
    """Swagger UI at ``path``, its script, style and icon served by this app."""
    return SwaggerRenderPlugin(
        path=path,
        js_url=f"{_SWAGGER_STATIC}/swagger-ui-bundle.js",
        css_url=f"{_SWAGGER_STATIC}/swagger-ui.css",
        standalone_preset_js_url=f"{_SWAGGER_STATIC}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{_SWAGGER_STATIC}/favicon-32x32.png'>",
    )


def redoc_plugin(path: str) -> RedocRenderPlugin:
    """ReDoc at ``path``, its script and icon served by this app (and no web fonts)."""
    return RedocRenderPlugin(
        path=path,
        js_url=f"{_REDOC_STATIC}/redoc.standalone.js",
        google_fonts=False,
        favicon=f"<link rel='icon' type='image/svg+xml' href='{_REDOC_STATIC}/logo-mini.svg'>",
    )


def _static(path: str, directory: Path, name: str) -> Router:
    return create_static_files_router(
        path=path,
        directories=[directory],
        name=name,
        opt=_PUBLIC,
        cache_control=CacheControlHeader(public=True, max_age=3600),
    )


_swagger = swagger_plugin("/docs")
_redoc = redoc_plugin("/redoc")


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


docs_handlers: list[Any] = [
    openapi_json,
    swagger_ui,
    redoc_ui,
    _static(_SWAGGER_STATIC, swagger_bundle.static_path, "docs_swagger_ui_static"),
    _static(_REDOC_STATIC, redoc_bundle.static_path, "docs_redoc_static"),
]
