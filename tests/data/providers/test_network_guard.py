"""The autouse ``no_network`` fixture really blocks the network for ccxt, yfinance and raw sockets."""

from __future__ import annotations

import socket

import ccxt
import pytest
from curl_cffi import requests as curl_requests


def test_socket_connect_is_refused(no_network: list[str]) -> None:
    with pytest.raises(BaseException, match="must not touch the network"):
        socket.create_connection(("example.com", 443), timeout=1)
    assert len(no_network) == 1
    no_network.clear()  # the attempt was the point of this test


def test_unpatched_ccxt_is_refused(no_network: list[str]) -> None:
    with pytest.raises(BaseException, match="must not touch the network"):
        ccxt.binance({"enableRateLimit": True}).fetch_ohlcv("BTC/USDT", "1h", limit=1)
    assert no_network
    no_network.clear()


def test_curl_cffi_used_by_yfinance_is_refused(no_network: list[str]) -> None:
    with pytest.raises(BaseException, match="must not touch the network"):
        curl_requests.get("https://query2.finance.yahoo.com/v8/finance/chart/AAPL", timeout=1)
    assert no_network
    no_network.clear()
