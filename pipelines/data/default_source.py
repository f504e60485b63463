"""The source that training and backtests read when the caller names none.

The configured source of the symbol's asset class, with one exception: synthetic bars are invented,
so they stand in only for the symbols of the configured universe (the demo's market) or when the
caller asks for ``synthetic`` explicitly. Any other symbol is read from what the store already holds
for it (synthetic or the real provider of its kind), else ingested from that real provider
(``yfinance`` for stocks, ``ccxt`` for crypto pairs); when that fails or returns nothing, the request
is refused with a DataNotFoundError naming the symbol and the sources tried, and nothing is stored.
"""

from __future__ import annotations

from collections.abc import Callable

from pipelines.data.ingest import open_store
from pipelines.data.market import ensure_stored, source_for
from pipelines.data.store import SeriesKey
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import DataNotFoundError, TradeforgeError
from pipelines.settings import Settings

__all__ = ["default_source", "in_universe", "real_source"]


def real_source(symbol: Symbol) -> str:
    """The provider of real bars for the symbol's asset class."""
    return "ccxt" if symbol.is_crypto else "yfinance"


def in_universe(settings: Settings, symbol: Symbol) -> bool:
    """Whether ``symbol`` is one of the configured universe's symbols."""
    names = set()
    for entry in settings.data.universe:
        try:
            names.add(parse_symbol(entry.symbol).name)
        except TradeforgeError:
            continue
    return symbol.name in names


def default_source(
    settings: Settings,
    symbol: str | Symbol,
    timeframe: str = "1d",
    *,
    probe: Callable[[str], object] | None = None,
) -> str:
    """The source to read ``symbol``'s ``timeframe`` bars from when the caller names none (see the
    module docstring). May ingest the symbol's bars from its real provider, the check that it exists:
    ``probe(source)`` when given (a caller that needs one window ingests just that window; it raises a
    TradeforgeError when the source has no bars), else its recent history (``ensure_stored``)."""
    sym = symbol if isinstance(symbol, Symbol) else parse_symbol(symbol)
    configured = source_for(settings, sym)
    if configured != "synthetic" or in_universe(settings, sym):
        return configured
    tf = parse_timeframe(timeframe)
    real = real_source(sym)
    store = open_store(settings)
    for stored in (configured, real):
        if store.bounds(SeriesKey(stored, tf.name, sym.name)) is not None:
            return stored
    try:
        if probe is None:
            ensure_stored(settings, sym, tf, store=store, source=real)
        else:
            probe(real)
    except TradeforgeError as exc:
        raise DataNotFoundError(
            f"no data for {sym.name}: not in the universe (synthetic is only used for it, or with "
            f"source 'synthetic'), {real}: {exc}"
        ) from exc
    return real
