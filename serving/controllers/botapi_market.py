"""/api/market/data and /api/market/symbols: candles of a symbol over a time range, and the symbols
served, as plain JSON bodies.

Anonymous callers are served; credentials, when sent, are still checked and the caller recorded, and
every call counts against the caller's (or the address's) rate limit.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from pipelines.app.candles import ASSET_TYPES, market_candles
from pipelines.app.candles import available_symbols as symbols_of
from pipelines.data.timeframes import TIMEFRAMES
from serving.providers.analysis import ANALYSIS, AnalysisDep
from serving.responses import botapi as b
from serving.responses import shaped
from serving.responses import trading as t
from serving.schemas import botapi_examples as bx
from serving.schemas import doc

__all__ = ["BotMarketController"]

_PUBLIC = {"public": True}
_DATA = (
    "Candles of `symbol` at `timeframe` with `start <= timestamp <= end`, ascending, from the store; "
    "the part of the range the store lacks is ingested first (from the synthetic source for the "
    "configured universe, else from the symbol's real provider: yfinance for tickers, ccxt for pairs). "
    "Pairs are accepted as `BTC_USDT`, `BTCUSDT` or `BTC/USDT`. `start` defaults to 1000 bars before "
    "`end`, `end` to now. A range over the bars-per-request limit, a start after the end, an unknown "
    "timeframe or a malformed symbol is a 400 and fetches nothing; a symbol no source has is a 404 "
    "naming the sources tried."
)


class BotMarketController(Controller):
    path = "/api/market"
    tags = ["market"]
    dependencies = ANALYSIS

    @get(
        "/data",
        opt=_PUBLIC,
        summary="Historical OHLCV candles of a symbol",
        description=_DATA,
        responses=doc(bx.CANDLES, 400, 401, 404, 503),
        sync_to_thread=True,
    )
    def get_candles(
        self,
        analysis: AnalysisDep,
        symbol: Annotated[str, Parameter(description="Ticker (AAPL) or pair (ETH_USDT, ETHUSDT, ETH/USDT)")],
        timeframe: Annotated[str, Parameter(description=f"Bar length: {', '.join(TIMEFRAMES)}")],
        start: Annotated[str | None, Parameter(description="First time, ISO 8601 (inclusive)")] = None,
        end: Annotated[str | None, Parameter(description="Last time, ISO 8601 (inclusive)")] = None,
    ) -> list[t.Bar]:
        candles = market_candles(analysis.settings, symbol, timeframe, start, end)
        return [
            t.Bar(timestamp=ts, open=o, high=h, low=lo, close=c, volume=v)
            for ts, o, h, lo, c, v in zip(*candles.columns(), strict=True)
        ]

    @get(
        "/symbols",
        opt=_PUBLIC,
        summary="Symbols the platform serves",
        description="The configured universe and every stored series, pairs written `BTC_USDT`; "
        f"`asset_type` one of {', '.join(ASSET_TYPES)} (default all).",
        responses=doc(bx.SYMBOLS, 400, 401),
        sync_to_thread=True,
    )
    def get_symbols(
        self,
        analysis: AnalysisDep,
        asset_type: Annotated[str, Parameter(description=f"One of {', '.join(ASSET_TYPES)}")] = "all",
    ) -> b.SymbolList:
        return shaped(b.SymbolList, symbols_of(analysis.settings, asset_type))
