"""The peer of bench_health.py: a plain Litestar app with one trivial route, no middleware, served
by uvicorn the same way as ``tradeforge serve`` (one worker, no access log). Its requests/s are the
ceiling of any Litestar route on this machine."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get


@get("/health/live", sync_to_thread=False)
def live() -> dict[str, Any]:
    return {"status": "alive"}


app = Litestar(route_handlers=[live])
