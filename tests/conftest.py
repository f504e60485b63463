"""Shared fixtures. Tests build their own Settings on a temp home; nothing reaches the network."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.settings import Settings, UniverseEntry, get_settings

_real_connect = socket.socket.connect


def _loopback_only(self: socket.socket, address: object) -> None:
    host = address[0] if isinstance(address, tuple) else None
    if host is not None:
        try:
            if not ipaddress.ip_address(host).is_loopback:
                raise OSError(f"tests may not reach the network ({host})")
        except ValueError:
            if host != "localhost":
                raise OSError(f"tests may not reach the network ({host})") from None
    _real_connect(self, address)  # type: ignore[arg-type]


# The files that take minutes, longest first. ``make test`` (``--dist loadfile --no-loadscope-reorder``)
# hands files to its workers in collection order: these start at once, one per worker, then the other
# slow files, and the many short files fill in behind them, so no worker ends the run alone on one.
LONGEST_FILES = (
    "tests/serving/test_fuzz_openapi.py",
    "tests/cluster/test_cluster.py",
    "tests/test_readme_tour.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        if path in LONGEST_FILES:
            return LONGEST_FILES.index(path)
        return len(LONGEST_FILES) + (item.get_closest_marker("slow") is None)

    items.sort(key=rank)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _loopback_only)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """A small universe on a fresh home under the test's temp folder."""
    return Settings(
        home=tmp_path / "home",
        history_start="2024-01-01",
        universe=[
            UniverseEntry(symbol="AAPL", timeframes=["1d"]),
            UniverseEntry(symbol="BTC/USDT", timeframes=["1d", "1h"]),
        ],
    )


@pytest.fixture
def env_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """TRADEFORGE_HOME set for code that reads settings from the environment (the CLI)."""
    home = tmp_path / "envhome"
    monkeypatch.setenv("TRADEFORGE_HOME", str(home))
    monkeypatch.setenv("TRADEFORGE_HISTORY_START", "2024-01-01")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


FIXED_NOW = pd.Timestamp("2025-06-30T12:00", tz="UTC")


@pytest.fixture(scope="session")
def trained_home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home with lightgbm and xgboost champions of AAPL (trained once per session) for API tests."""
    from tests.serving_support import served_settings, train_models

    settings = served_settings(tmp_path_factory.mktemp("served") / "home")
    train_models(settings)
    return settings


@pytest.fixture(scope="module")
def client(trained_home: Settings) -> Iterator[Any]:
    """Litestar's test client over the real app on ``trained_home`` (one app per test module)."""
    from tests.serving_support import app_client

    with app_client(trained_home) as c:
        yield c


@pytest.fixture
def offline_yahoo(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """``yfinance.Ticker.history`` fails as without a network; yields the tickers asked for."""
    # Imported here, not for every test: yfinance and curl_cffi.
    import curl_cffi.requests.exceptions as curl_errors
    import yfinance as yf

    asked: list[str] = []

    def history(self: yf.Ticker, *args: Any, **kwargs: Any) -> Any:
        asked.append(self.ticker)
        raise curl_errors.ConnectionError("Could not resolve host: query2.finance.yahoo.com")

    monkeypatch.setattr(yf.Ticker, "history", history)
    yield asked
