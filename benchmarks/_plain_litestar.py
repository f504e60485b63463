"""The peer of bench_health.py and bench_predict_split.py: a plain Litestar app with two trivial
routes (``GET /health/live``, ``POST /predict``), no middleware, served by uvicorn the same way as
``tradeforge serve`` (one worker, no access log). Its requests/s are the ceiling of any Litestar
route on this machine."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get, post


@get("/health/live", sync_to_thread=False)
def live() -> dict[str, Any]:
    return {"status": "alive"}


@post("/predict", status_code=200, sync_to_thread=False)
def predict(data: dict[str, Any]) -> dict[str, Any]:
    """The null prediction route of bench_predict_split.py: a JSON body in, a JSON answer out."""
    return {"model_name": data.get("model_name"), "signal": 0.5, "recommendation": "HOLD"}


app = Litestar(route_handlers=[live, predict])
