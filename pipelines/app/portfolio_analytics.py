"""/api/analytics/performance and /api/analytics/risk of a user's paper portfolio: the daily
snapshots as the equity series, the closed trades, the open positions and the stored daily bars,
fed to :mod:`pipelines.trading.analytics` (which defines every metric)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import select

from pipelines.app.portfolio import current_portfolio, value_series
from pipelines.app.trades import TradeDesk
from pipelines.data.ingest import open_store
from pipelines.data.market import source_for
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import parse_symbol
from pipelines.db.trading_models import TradeRow
from pipelines.errors import InvalidParameterError
from pipelines.settings import Settings
from pipelines.trading import analytics
from pipelines.trading.records import TradeStatus

__all__ = ["RISK_DAYS", "daily_bars", "performance_view", "risk_view"]

RISK_DAYS = 365  # the risk figures look at the last year of portfolio values and closes


def daily_bars(settings: Settings, symbol: str, since: dt.date) -> pd.DataFrame:
    """Daily bars (``timestamp``, ``close``, ``volume``) of ``symbol`` from ``since``: the stored 1d
    series, else the paper timeframe's bars rolled up by UTC day (last close, summed volume)."""
    sym = parse_symbol(symbol)
    store = open_store(settings)
    start = pd.Timestamp(since, tz="UTC")
    source = source_for(settings, sym)
    frame = store.read(SeriesKey(source, "1d", sym.name), start)
    if frame.empty:
        fine = store.read(SeriesKey(source, settings.paper.paper_timeframe, sym.name), start)
        if fine.empty:
            return frame[["timestamp", "close", "volume"]]
        grouped = fine.set_index("timestamp").resample("1D")
        frame = pd.DataFrame({"close": grouped["close"].last(), "volume": grouped["volume"].sum()})
        frame = frame.dropna().reset_index()
    return frame[["timestamp", "close", "volume"]].reset_index(drop=True)


def _closes(bars: pd.DataFrame) -> pd.Series:
    return pd.Series(bars["close"].to_numpy(dtype=float), index=pd.DatetimeIndex(bars["timestamp"]))


def _crypto_only(desk: TradeDesk, user_id: str) -> bool:
    with desk.database.session() as session:
        symbols = session.scalars(select(TradeRow.symbol).distinct().where(TradeRow.user_id == user_id)).all()
    return bool(symbols) and all(parse_symbol(s).is_crypto for s in symbols)


def performance_view(
    desk: TradeDesk, user_id: str, period: str = "30d", symbol: str | None = None
) -> dict[str, Any]:
    """The performance over ``period`` (one of ``analytics.PERIODS``) ending today: returns from the
    daily snapshots, trade statistics from the trades closed in it (only ``symbol``'s when given)."""
    if period not in analytics.PERIODS:
        raise InvalidParameterError(
            f"unknown period {period!r}; expected one of {', '.join(analytics.PERIODS)}"
        )
    name = None if symbol is None else parse_symbol(symbol).name
    today = desk.clock().astimezone(dt.UTC).date()
    first = analytics.period_window(period, today)
    equity = value_series(desk, user_id, first)
    query = select(TradeRow).where(TradeRow.user_id == user_id, TradeRow.status == TradeStatus.CLOSED.value)
    if first is not None:
        query = query.where(TradeRow.closed_at >= dt.datetime.combine(first, dt.time(), dt.UTC))
    if name is not None:
        query = query.where(TradeRow.symbol == name)
    with desk.database.session() as session:
        rows = session.scalars(query).all()
    trades = [
        analytics.ClosedTrade(
            row.closed_at or row.created_at,
            row.realized_pnl,
            float(row.realized_pnl / (row.entry_price * row.quantity))
            if row.entry_price and row.quantity
            else 0.0,
            row.symbol,
        )
        for row in rows
    ]
    result = analytics.performance(
        period, equity, trades, crypto_only=_crypto_only(desk, user_id), as_of=today
    )
    return {**result, "symbol": name}


def risk_view(desk: TradeDesk, user_id: str) -> dict[str, Any]:
    """VaR, beta against the benchmark symbol, correlations, concentration and liquidity of the
    user's portfolio over the last :data:`RISK_DAYS` days."""
    settings = desk.bars.settings
    today = desk.clock().astimezone(dt.UTC).date()
    since = today - dt.timedelta(days=RISK_DAYS)
    equity = value_series(desk, user_id, since)
    state = current_portfolio(desk, user_id, day=today)
    quantity: dict[str, Decimal] = defaultdict(Decimal)
    price: dict[str, Decimal] = {}
    for h in state.positions:
        quantity[h.symbol] += h.quantity if h.side == "long" else -h.quantity
        price[h.symbol] = h.current_price
    positions = [analytics.Position(s, q, price[s]) for s, q in quantity.items()]
    bars = {s: daily_bars(settings, s, since) for s in quantity}
    benchmark = daily_bars(settings, settings.data.benchmark_symbol, since)
    return analytics.risk(
        equity,
        positions,
        {s: _closes(b) for s, b in bars.items() if not b.empty},
        benchmark=_closes(benchmark) if not benchmark.empty else None,
        traded_value={s: analytics.average_traded_value(b) for s, b in bars.items()},
    )
