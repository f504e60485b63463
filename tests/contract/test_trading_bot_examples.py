"""Trading-bot-style clients (/api/market/data, /api/market/symbols, /api/models/): each example
request answers the plain bodies such a client reads, anonymous callers included; bad input is a 4xx
whose ``detail`` names the problem and leaves the market store as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.app.train import train_model
from pipelines.data.ingest import ingest, plan_ingest
from pipelines.models.tracking import open_tracker
from pipelines.models.training import plan_training
from pipelines.settings import Settings
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

MULTI = "ETH_USDT_1h_3steps_multi_ohlc"
CANDLE_KEYS = {"timestamp", "open", "high", "low", "close", "volume"}
MODEL_KEYS = {
    "name",
    "type",
    "symbol",
    "timeframe",
    "n_steps_ahead",
    "model_size_kb",
    "trained_at",
    "performance",
}
PERFORMANCE_KEYS = {"train_r2", "val_r2", "train_mae", "val_mae", "train_rmse", "val_rmse"}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A home whose providers never retry, with one multi_ohlc model and a few stored series beyond
    the universe (an index, a forex pair, a crypto pair)."""
    settings = served_settings(
        tmp_path_factory.mktemp("tradingbot") / "home", provider_max_retries=0, provider_backoff_seconds=0
    )
    for symbol in ("^GSPC", "EURUSD=X", "SOL/USDT"):
        plan = plan_ingest(
            settings,
            source="synthetic",
            symbols=[symbol],
            timeframe="1d",
            start="2024-01-01",
            end="2024-02-01",
        )
        assert not ingest(settings, plan).failed
    request = plan_training(
        settings,
        model_type="multi_ohlc",
        model_name=MULTI,
        symbol="ETH/USDT",
        timeframe="1h",
        start="2024-01-01",
        end="2024-03-01",
        params={"n_steps": 3, "n_estimators": 20, "num_leaves": 7, "target_components": 2},
    )
    train_model(settings, request, open_tracker(settings))
    return settings


@pytest.fixture(scope="module")
def bot(home: Settings) -> Iterator[Any]:
    with app_client(home) as c:
        yield c


def _market(settings: Settings) -> dict[str, tuple[int, int]]:
    """Every file under the market folder with its size and modification time (the store's state)."""
    root = settings.market_dir
    files = [p for p in root.rglob("*") if p.is_file()]
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in files}


def _stamps(candles: list[dict[str, Any]]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(c["timestamp"]) for c in candles])


def test_market_data_example(bot: Any, home: Settings) -> None:
    query = "symbol=ETH_USDT&timeframe=1h&start=2025-01-01T00:00:00Z&end=2025-01-15T00:00:00Z"
    answer = bot.get(f"/api/market/data?{query}")
    assert answer.status_code == 200, answer.text
    candles = answer.json()
    assert isinstance(candles, list) and all(set(c) == CANDLE_KEYS for c in candles)
    stamps = _stamps(candles)
    # Crypto trades 24/7: every hour of [start, end], both ends included, ascending.
    expected = pd.date_range("2025-01-01", "2025-01-15", freq="1h", tz="UTC")
    assert stamps.equals(expected)
    assert candles[0]["timestamp"] == "2025-01-01T00:00:00Z"
    for c in candles:
        assert c["low"] <= min(c["open"], c["close"]) <= max(c["open"], c["close"]) <= c["high"], c
        assert c["volume"] >= 0
    stored = _market(home)
    again = bot.get(f"/api/market/data?{query}")  # now served from the store as it is: nothing fetched
    assert again.json() == candles and _market(home) == stored


def test_pair_spellings_and_stocks_are_detected_by_form(bot: Any) -> None:
    window = {"timeframe": "1d", "start": "2024-03-01", "end": "2024-03-31"}
    bodies = [
        bot.get("/api/market/data", params={"symbol": s, **window}).json()
        for s in ("BTC_USDT", "BTCUSDT", "BTC/USDT")
    ]
    assert bodies[0] == bodies[1] == bodies[2] and len(bodies[0]) == 31
    stock = bot.get("/api/market/data", params={"symbol": "AAPL", **window})
    assert stock.status_code == 200, stock.text
    days = _stamps(stock.json())
    # A stock trades on NYSE sessions only: March 2024's 21 weekdays less Good Friday, inside the range.
    assert len(days) == 20 and not (days.day_of_week >= 5).any()
    first, last = pd.Timestamp("2024-03-01", tz="UTC"), pd.Timestamp("2024-03-31", tz="UTC")
    assert first <= days.min() <= days.max() <= last


def test_a_caller_is_optional_but_recognised_and_rate_limited(bot: Any) -> None:
    url = "/api/market/data?symbol=BTC_USDT&timeframe=1d&start=2024-03-01&end=2024-03-05"
    anonymous = bot.get(url)
    assert anonymous.status_code == 200 and anonymous.headers["x-ratelimit-limit"] == "100"  # free tier
    user = make_user(bot)  # enterprise tier: unlimited
    known = bot.get(url, headers=user["headers"])
    assert known.status_code == 200 and known.headers["x-ratelimit-limit"] == "unlimited"
    assert known.json() == anonymous.json()
    bad = bot.get(url, headers={"Authorization": "Bearer not-a-token"})
    assert_envelope(bad, 401, "UNAUTHORIZED")
    for path in ("/api/market/symbols", "/api/models/", f"/api/models/{MULTI}"):
        assert bot.get(path).status_code == 200, path
        assert bot.get(path, headers=user["headers"]).headers["x-ratelimit-limit"] == "unlimited"


@pytest.mark.parametrize(
    ("params", "status", "code", "words"),
    [
        ({"symbol": "ETH_USDT", "timeframe": "2h"}, 400, "INVALID_REQUEST", ["timeframe '2h'", "1h"]),
        ({"symbol": "ETH$USDT", "timeframe": "1h"}, 400, "INVALID_SYMBOL", ["ETH$USDT"]),
        (
            {"symbol": "ETH_USDT", "timeframe": "1h", "start": "2025-02-01", "end": "2025-01-01"},
            400,
            "INVALID_REQUEST",
            ["start 2025-02-01", "after end 2025-01-01"],
        ),
        (
            {"symbol": "ETH_USDT", "timeframe": "1m", "start": "2020-01-01", "end": "2025-01-01"},
            400,
            "INVALID_REQUEST",
            ["start 2020-01-01 to end 2025-01-01", "max_bars_per_request"],
        ),
        ({"symbol": "ETH_USDT", "timeframe": "1h", "start": "yesterday"}, 400, "INVALID_REQUEST", ["start"]),
        ({"timeframe": "1h"}, 400, "VALIDATION_ERROR", ["symbol"]),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem_and_stores_nothing(
    bot: Any, home: Settings, params: dict[str, str], status: int, code: str, words: list[str]
) -> None:
    before = _market(home)
    body = assert_envelope(bot.get("/api/market/data", params=params), status, code)
    assert all(w in body["detail"] for w in words), body["detail"]
    assert _market(home) == before


def test_an_unknown_symbol_is_a_404_naming_the_sources_tried(
    bot: Any, home: Settings, offline_yahoo: list[str]
) -> None:
    before = _market(home)
    answer = bot.get("/api/market/data?symbol=ZZZZ&timeframe=1d&start=2024-01-01&end=2024-02-01")
    body = assert_envelope(answer, 404, "NOT_FOUND")
    assert "ZZZZ" in body["detail"] and "synthetic" in body["detail"] and "yfinance" in body["detail"]
    assert offline_yahoo == ["ZZZZ"]
    assert _market(home) == before


def test_symbols_examples(bot: Any) -> None:
    everything = bot.get("/api/market/symbols").json()
    assert everything["asset_type"] == "all"
    universe = {"AAPL", "MSFT", "SPY", "BTC_USDT", "ETH_USDT"}
    assert universe | {"^GSPC", "EURUSD=X", "SOL_USDT"} <= set(everything["symbols"])
    assert everything["symbols"] == sorted(everything["symbols"])
    crypto = bot.get("/api/market/symbols?asset_type=crypto").json()
    assert crypto == {"symbols": ["BTC_USDT", "ETH_USDT", "SOL_USDT"], "asset_type": "crypto"}
    assert bot.get("/api/market/symbols?asset_type=forex").json()["symbols"] == ["EURUSD=X"]
    assert bot.get("/api/market/symbols?asset_type=indices").json()["symbols"] == ["^GSPC"]
    stocks = bot.get("/api/market/symbols?asset_type=stocks").json()["symbols"]
    assert stocks == ["AAPL", "MSFT", "SPY"]
    body = assert_envelope(bot.get("/api/market/symbols?asset_type=bonds"), 400, "INVALID_REQUEST")
    assert "asset_type 'bonds'" in body["detail"] and "crypto" in body["detail"]


def _artifact_kb(source: str) -> float:
    folder = Path(source.removeprefix("file://"))
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024


def test_models_examples(bot: Any, home: Settings) -> None:
    listed = bot.get("/api/models/")
    assert listed.status_code == 200, listed.text
    rows = listed.json()
    assert [r["name"] for r in rows] == [MULTI]
    row = rows[0]
    assert set(row) == MODEL_KEYS and set(row["performance"]) == PERFORMANCE_KEYS
    assert (row["type"], row["symbol"], row["timeframe"], row["n_steps_ahead"]) == (
        "multi_ohlc",
        "ETH_USDT",
        "1h",
        3,
    )
    version = open_tracker(home).alias_version(MULTI, "champion")
    assert version is not None
    assert row["model_size_kb"] == pytest.approx(_artifact_kb(version.source), abs=0.01)
    assert row["model_size_kb"] > 1
    assert row["performance"]["val_r2"] == pytest.approx(version.metrics["val_r2"])
    assert row["performance"]["train_rmse"] == pytest.approx(version.metrics["train_rmse"])
    trained = pd.Timestamp(row["trained_at"])
    assert row["trained_at"].endswith("Z") and trained.value // 10**9 == version.created_ms // 1000
    one = bot.get(f"/api/models/{MULTI}")
    assert one.status_code == 200 and one.json() == row
    body = assert_envelope(bot.get("/api/models/ETH_USDT_1m_300steps_multi_ohlc"), 404, "NOT_FOUND")
    assert "ETH_USDT_1m_300steps_multi_ohlc" in body["detail"] and MULTI in body["detail"]
