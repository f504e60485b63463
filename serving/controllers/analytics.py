"""/api/analytics/market: a symbol's latest candles with RSI, MACD and Bollinger bands of the latest
one; /api/analytics/performance and /api/analytics/risk: the caller's paper portfolio. All in the
``status``/``data``/``timestamp`` envelope."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from pipelines.app.market_analytics import (
    DEFAULT_LIMIT,
    INDICATOR_BARS,
    MARKET_TIMEFRAMES,
    MAX_LIMIT,
    decimal_string,
    market_view,
)
from pipelines.app.portfolio_analytics import RISK_DAYS, performance_view, risk_view
from pipelines.data.symbols import as_spelled
from pipelines.trading.analytics import MIN_VAR_RETURNS, PERIODS
from serving.context import PrincipalDep
from serving.providers.analysis import ANALYSIS, AnalysisDep
from serving.providers.trades import TRADES, TradesDep
from serving.responses import analytics as a
from serving.responses import portfolio as pr
from serving.responses import shaped, success
from serving.schemas import analytics_examples as ex
from serving.schemas import doc

__all__ = ["AnalyticsController"]

_MARKET = (
    "The last `limit` candles of `symbol` at `timeframe` with `start_date <= timestamp <= end_date` "
    "(`end_date` defaults to now), ascending, prices and volumes as decimal strings; the part of the "
    "range the store lacks is ingested first, as for /api/market/data. `indicators` are RSI(14), "
    "MACD(12, 26, 9) and the Bollinger bands (20, 2) of the latest candle, with the definitions the "
    f"models train on, computed over the {INDICATOR_BARS} bars ending at it (null without enough bars "
    "or candles). Pairs are accepted as `BTC_USDT`, `BTCUSDT` or `BTC/USDT`, and `symbol` is answered "
    "in the caller's spelling. A malformed symbol is a "
    "400 INVALID_SYMBOL; an unknown timeframe, a bad date, a start after the end or a limit out of "
    "range a 400 VALIDATION_ERROR; a symbol no source has a 404 NOT_FOUND."
)


_DESK = {"trades": TRADES["trades"]}  # the paper trading desk, beside the analysis provider
_PERFORMANCE = (
    "Your paper portfolio over `period` ending today (UTC): returns, Sharpe ratio (annualized over 365 "
    "days when every traded symbol is crypto, else 252) and maximum drawdown from its daily snapshots "
    "(today's taken when missing); win rate, average win and loss (fractions of each trade's entry "
    "notional), profit factor and counts from the trades closed in the period, only `symbol`'s when "
    "given. Undefined ratios are null. An unknown period or a bad symbol is a 400 VALIDATION_ERROR / "
    "INVALID_SYMBOL. Needs a caller; each user sees only their own portfolio."
)
_RISK = (
    f"Your paper portfolio over the last {RISK_DAYS} days: historical VaR at 95% and 99% of its daily "
    f"returns (null under {MIN_VAR_RETURNS} returns) and the risk level from the 95% VaR (below 2% low, "
    "below 5% medium, else high), beta against the benchmark symbol's daily closes, correlations of the "
    "held symbols' daily returns, concentration (the largest position's share of the open notional) "
    "and liquidity (the worst position's notional against its symbol's average daily traded value). "
    "`notes` says why a value is null. Needs a caller; each user sees only their own portfolio."
)


def _price(value: float | None) -> str | None:
    return None if value is None else decimal_string(value)


class AnalyticsController(Controller):
    path = "/api/analytics"
    tags = ["analytics"]
    dependencies = ANALYSIS

    @get(
        "/market",
        summary="A symbol's latest candles with RSI, MACD and Bollinger bands",
        description=_MARKET,
        responses=doc(ex.MARKET, 400, 401, 404, 503),
        sync_to_thread=True,
    )
    def market(
        self,
        analysis: AnalysisDep,
        principal: PrincipalDep,
        symbol: Annotated[
            str, Parameter(max_length=40, description="Ticker (AAPL) or pair (BTCUSDT, BTC_USDT, BTC/USDT)")
        ],
        timeframe: Annotated[str, Parameter(description=f"One of {', '.join(MARKET_TIMEFRAMES)}")] = "1h",
        start_date: Annotated[str | None, Parameter(max_length=40, description="ISO 8601, inclusive")] = None,
        end_date: Annotated[str | None, Parameter(max_length=40, description="ISO 8601, inclusive")] = None,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_LIMIT, description=f"Most candles answered (1 to {MAX_LIMIT})")
        ] = DEFAULT_LIMIT,
    ) -> a.MarketAnswer:
        view = market_view(analysis.settings, symbol, timeframe, start_date, end_date, limit)
        bars = view.candles
        stamps = bars["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").tolist()
        columns = [
            [decimal_string(v) for v in bars[c].tolist()] for c in ("open", "high", "low", "close", "volume")
        ]
        candles = [
            {"timestamp": ts, "open": o, "high": h, "low": lo, "close": c, "volume": v}
            for ts, o, h, lo, c, v in zip(stamps, *columns, strict=True)
        ]
        ind = view.indicators
        indicators = {
            "rsi": ind["rsi"],
            "macd": ind["macd"],
            "bollinger_upper": _price(ind["bollinger_upper"]),
            "bollinger_lower": _price(ind["bollinger_lower"]),
            "bollinger_middle": _price(ind["bollinger_middle"]),
        }
        data = {
            "symbol": as_spelled(symbol),
            "timeframe": view.timeframe,
            "candles": candles,
            "indicators": indicators,
        }
        return shaped(a.MarketAnswer, success(data))

    @get(
        "/performance",
        summary="Performance of your paper portfolio over a period",
        description=_PERFORMANCE,
        responses=doc(ex.PERFORMANCE, 400, 401),
        dependencies=_DESK,
        sync_to_thread=True,
    )
    def performance(
        self,
        trades: TradesDep,
        principal: PrincipalDep,
        period: Annotated[str, Parameter(max_length=8, description=f"One of {', '.join(PERIODS)}")] = "30d",
        symbol: Annotated[
            str | None, Parameter(max_length=40, description="Only this pair's trades: BTCUSDT, BTC/USDT")
        ] = None,
    ) -> pr.PerformanceAnswer:
        data = performance_view(trades, principal.user_id, period, symbol)
        return shaped(pr.PerformanceAnswer, success(data))

    @get(
        "/risk",
        summary="Risk of your paper portfolio: VaR, beta, correlations, concentration, liquidity",
        description=_RISK,
        responses=doc(ex.RISK, 401),
        dependencies=_DESK,
        sync_to_thread=True,
    )
    def risk(self, trades: TradesDep, principal: PrincipalDep) -> pr.RiskAnswer:
        data = risk_view(trades, principal.user_id)
        return shaped(pr.RiskAnswer, success(data))
