from __future__ import annotations

import pytest

from pipelines.data.symbols import AssetClass, parse_symbol, path_safe
from pipelines.data.timeframes import TIMEFRAMES, parse_timeframe
from pipelines.errors import InvalidRequestError, InvalidSymbolError


@pytest.mark.parametrize("raw", ["BTC/USDT", "BTC_USDT", "BTCUSDT", "btc/usdt"])
def test_crypto_forms_normalise_to_ccxt(raw: str) -> None:
    sym = parse_symbol(raw)
    assert sym.name == "BTC/USDT"
    assert sym.asset_class is AssetClass.CRYPTO
    assert sym.path_name == "BTC-USDT"


@pytest.mark.parametrize("raw", ["AAPL", "SPY", "^GSPC", "EURUSD=X", "BRK-B", "BRK.B"])
def test_stock_forms(raw: str) -> None:
    sym = parse_symbol(raw)
    assert sym.name == raw.upper()
    assert not sym.is_crypto
    assert "/" not in sym.path_name and "=" not in sym.path_name


def test_source_forces_asset_class() -> None:
    assert parse_symbol("ETHBTC", crypto=True).name == "ETH/BTC"
    with pytest.raises(InvalidSymbolError, match="crypto pair"):
        parse_symbol("BTC/USDT", crypto=False)
    with pytest.raises(InvalidSymbolError, match="BASE/QUOTE"):
        parse_symbol("AAPL", crypto=True)


@pytest.mark.parametrize("raw", ["", "   ", "AA PL", "BTC/", "/USDT", "A$B", "X" * 30, "BTC/US-DT"])
def test_malformed_symbols_are_rejected(raw: str) -> None:
    with pytest.raises(InvalidSymbolError):
        parse_symbol(raw)


def test_path_safe_matches_symbol() -> None:
    assert path_safe("BTC/USDT") == parse_symbol("BTC/USDT").path_name == "BTC-USDT"


def test_timeframes_and_aliases() -> None:
    assert list(TIMEFRAMES) == ["1m", "2m", "5m", "15m", "30m", "1h", "4h", "1d", "1wk", "1mo"]
    assert parse_timeframe("60m").name == "1h"
    assert parse_timeframe("1w").name == "1wk"
    assert parse_timeframe("1h").seconds == 3600
    assert parse_timeframe("1d").bars_per_year(crypto=False) == 252
    assert parse_timeframe("1d").bars_per_year(crypto=True) == 365
    assert parse_timeframe("1h").bars_per_year(crypto=False) == 252 * 7
    with pytest.raises(InvalidRequestError, match="expected one of 1m"):
        parse_timeframe("3h")
