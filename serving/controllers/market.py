"""/api/v1/market: quote and history (000 document's periods and intervals)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath, Parameter

from pipelines.data.market import history, quote
from serving.schemas import doc
from serving.schemas import trading as t
from serving.schemas import trading_examples as tx
from serving.services import ServicesDep

__all__ = ["MarketController"]


class MarketController(Controller):
    path = "/api/v1/market"
    tags = ["market"]

    @get(
        "/quote/{symbol:str}",
        summary="Latest quote of a symbol",
        responses=doc(t.Quote, tx.QUOTE, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_quote(self, services: ServicesDep, symbol: FromPath[str]) -> dict[str, Any]:
        return quote(services.settings, symbol)

    @get(
        "/history/{symbol:str}",
        summary="Historical bars of a symbol",
        responses=doc(t.History, tx.HISTORY, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_history(
        self,
        services: ServicesDep,
        symbol: FromPath[str],
        period: str = Parameter(default="1mo", description="1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max"),
        interval: str = Parameter(default="1d", description="1m 2m 5m 15m 30m 60m 90m 1h 1d 5d 1wk 1mo 3mo"),
    ) -> dict[str, Any]:
        return history(services.settings, symbol, period=period, interval=interval)
