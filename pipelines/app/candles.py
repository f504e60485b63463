"""The candles and symbols of the market-data routes (``/api/market/data``, ``/api/market/symbols``):
a window checked against the limits before anything is read, bars ingested only where the store
lacks them, symbols from the universe and the store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.app.ingest import ingest_missing
from pipelines.data.default_source import default_source
from pipelines.data.ingest import open_store, plan_ingest
from pipelines.data.limits import check_bar_span
from pipelines.data.schema import PRICE_COLUMNS
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.data.timeutil import parse_time, utc_now
from pipelines.errors import DataNotFoundError, InvalidRequestError, TradeforgeError
from pipelines.settings import Settings

__all__ = ["ASSET_TYPES", "Candles", "asset_type_of", "available_symbols", "candle_window", "market_candles"]

DEFAULT_CANDLES = 1000  # bars before ``end`` a request without ``start`` covers
ASSET_TYPES = ("all", "crypto", "forex", "indices", "stocks")


@dataclass(frozen=True)
class Candles:
    """Stored bars of one series inside ``[start, end]``, ascending (``bars``: the store's columns)."""

    symbol: str
    timeframe: str
    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    bars: pa.Table | None  # None: nothing stored in the range

    def columns(self) -> tuple[list[str], list[float], list[float], list[float], list[float], list[float]]:
        """Timestamps (``2025-01-01T00:00:00Z``), open, high, low, close and volume as plain lists."""
        if self.bars is None:
            return [], [], [], [], [], []
        ts = self.bars.column("timestamp").to_numpy().astype("datetime64[s]")
        stamps: list[str] = np.datetime_as_string(ts, unit="s", timezone="UTC").tolist()
        prices = [self.bars.column(c).to_numpy().tolist() for c in PRICE_COLUMNS]
        return stamps, prices[0], prices[1], prices[2], prices[3], prices[4]


def candle_window(
    settings: Settings, timeframe: Timeframe, start: Any, end: Any, *, crypto: bool
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """``[start, end]`` checked before anything is fetched: real times, start not after end, and at
    most ``max_bars_per_request`` bars. Defaults: end now, start ``DEFAULT_CANDLES`` bars earlier."""
    end_ts = parse_time(end, name="end") if end is not None else utc_now()
    if start is not None:
        start_ts = parse_time(start, name="start")
    else:
        start_ts = end_ts - pd.Timedelta(seconds=timeframe.seconds * DEFAULT_CANDLES)
    if start_ts > end_ts:
        raise InvalidRequestError(f"start {start_ts.isoformat()} is after end {end_ts.isoformat()}")
    check_bar_span(settings, timeframe, start_ts, end_ts, crypto=crypto, names=("start", "end"))
    return start_ts, end_ts


def market_candles(
    settings: Settings, symbol: str, timeframe: str, start: Any = None, end: Any = None
) -> Candles:
    """The candles of ``symbol`` at ``timeframe`` inside ``[start, end]`` from the store, the part the
    store lacks ingested first (:func:`pipelines.app.ingest.ingest_missing`). The source is the one
    :func:`pipelines.data.default_source.default_source` picks; for a symbol outside the universe its
    real provider is probed on this very window. Bad input is refused before any fetch."""
    sym = parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    first, last = candle_window(settings, tf, start, end, crypto=sym.is_crypto)
    stop = last + pd.Timedelta(1, "ns")  # the store reads [first, stop): ``last`` itself is included

    def stored(source: str) -> SeriesKey:
        plan = plan_ingest(
            settings, source=source, symbols=[sym.name], timeframe=tf.name, start=first, end=stop
        )
        key = ingest_missing(settings, plan)
        if open_store(settings).bounds(key) is None:
            raise DataNotFoundError(f"{source} has no {tf.name} bars of {sym.name} in that range")
        return key

    key = stored(default_source(settings, sym, tf.name, probe=stored))
    bars = open_store(settings).read_table(key, first, stop)
    return Candles(sym.name, tf.name, key.source, first, last, bars)


def asset_type_of(symbol: Symbol) -> str:
    """``crypto`` for pairs; among tickers ``forex`` (``EURUSD=X``), ``indices`` (``^GSPC``), ``stocks``."""
    if symbol.is_crypto:
        return "crypto"
    if symbol.name.endswith("=X"):
        return "forex"
    return "indices" if symbol.name.startswith("^") else "stocks"


def available_symbols(settings: Settings, asset_type: str = "all") -> dict[str, Any]:
    """The symbols the platform serves (the configured universe and every stored series) of
    ``asset_type``, sorted, pairs written ``BTC_USDT``."""
    if asset_type not in ASSET_TYPES:
        raise InvalidRequestError(
            f"unknown asset_type {asset_type!r}; expected one of {', '.join(ASSET_TYPES)}"
        )
    names = [entry.symbol for entry in settings.data.universe]
    names += [bounds.key.symbol for bounds in open_store(settings).datasets()]
    found: set[str] = set()
    for name in names:
        try:
            sym = parse_symbol(name)
        except TradeforgeError:
            continue
        if asset_type in ("all", asset_type_of(sym)):
            found.add(sym.name.replace("/", "_"))
    return {"symbols": sorted(found), "asset_type": asset_type}
