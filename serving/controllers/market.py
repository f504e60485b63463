"""/api/v1/market: quote and history (by period and interval)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, TypeAlias

from litestar import Controller, get
from litestar.params import FromPath, Parameter

from pipelines.data.market import INTERVALS, PERIODS, history, quote
from serving.dto import one_of
from serving.providers.analysis import ANALYSIS, AnalysisDep
from serving.responses import shaped
from serving.responses import trading as t
from serving.schemas import doc
from serving.schemas import trading_examples as tx

__all__ = ["MarketController"]

if TYPE_CHECKING:
    Period: TypeAlias = str
    Interval: TypeAlias = str
else:
    Period = one_of(PERIODS)  # the spec lists what the server accepts
    Interval = one_of(INTERVALS)


class MarketController(Controller):
    path = "/api/v1/market"
    tags = ["market"]
    dependencies = ANALYSIS

    @get(
        "/quote/{symbol:str}",
        summary="Latest quote of a symbol",
        responses=doc(tx.QUOTE, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_quote(self, analysis: AnalysisDep, symbol: FromPath[str]) -> t.Quote:
        return shaped(t.Quote, quote(analysis.settings, symbol))

    @get(
        "/history/{symbol:str}",
        summary="Historical bars of a symbol",
        responses=doc(tx.HISTORY, 400, 401, 404),
        sync_to_thread=True,
    )
    def get_history(
        self,
        analysis: AnalysisDep,
        symbol: FromPath[str],
        period: Annotated[Period, Parameter(description="How far back")] = "1mo",
        interval: Annotated[Interval, Parameter(description="Bar length")] = "1d",
    ) -> t.History:
        return shaped(t.History, history(analysis.settings, symbol, period=period, interval=interval))
