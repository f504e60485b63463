"""OpenAPI at /openapi.json, Swagger UI at /docs, ReDoc at /redoc (public, outside the schema)."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, get
from litestar.openapi.plugins import RedocRenderPlugin, SwaggerRenderPlugin

__all__ = ["docs_handlers"]

_PUBLIC = {"public": True}
_swagger = SwaggerRenderPlugin(path="/docs")
_redoc = RedocRenderPlugin(path="/redoc")


def _schema(request: Request[Any, Any, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = request.app.openapi_schema.to_schema()
    return schema


@get("/openapi.json", include_in_schema=False, opt=_PUBLIC, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return _schema(request)


@get("/docs", include_in_schema=False, media_type=MediaType.HTML, opt=_PUBLIC, sync_to_thread=False)
def swagger_ui(request: Request[Any, Any, Any]) -> bytes:
    return _swagger.render(request, _schema(request))


@get("/redoc", include_in_schema=False, media_type=MediaType.HTML, opt=_PUBLIC, sync_to_thread=False)
def redoc_ui(request: Request[Any, Any, Any]) -> bytes:
    return _redoc.render(request, _schema(request))


docs_handlers = [openapi_json, swagger_ui, redoc_ui]
