"""GET /api/analytics/market over the real app on the synthetic market: candles as decimal strings,
indicators equal to the feature definitions' values for the same stored bars, limits, and bad input
answered in the error envelope without storing anything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.app.market_analytics import INDICATOR_BARS, indicator_values
from pipelines.data.ingest import open_store
from pipelines.data.store import SeriesKey
from pipelines.features import compute_features
from pipelines.settings import Settings
from tests.serving_support import app_client, assert_envelope, make_user, served_settings

URL = "/api/analytics/market"
END = "2025-01-15T00:00:00Z"


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return served_settings(
        tmp_path_factory.mktemp("analytics") / "home", provider_max_retries=0, provider_backoff_seconds=0
    )


@pytest.fixture(scope="module")
def client(home: Settings) -> Iterator[Any]:
    with app_client(home) as c:
        yield c


@pytest.fixture(scope="module")
def user(client: Any) -> dict[str, Any]:
    made = make_user(client)
    created = client.post("/api/v1/auth/keys", json={"name": "analytics"}, headers=made["headers"])
    assert created.status_code == 201, created.text
    return {**made, "key_headers": {"X-API-Key": created.json()["key"]}}


def _data(answer: Any) -> dict[str, Any]:
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    assert body["status"] == "success" and body["timestamp"].endswith("Z")
    return body["data"]  # type: ignore[no-any-return]


def _market(settings: Settings) -> dict[str, tuple[int, int]]:
    root = settings.market_dir
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in root.rglob("*")
        if p.is_file()
    }


def _stored(settings: Settings, symbol: str, timeframe: str, last: str, bars: int) -> pd.DataFrame:
    """The ``bars`` stored bars ending at ``last`` (inclusive)."""
    key = SeriesKey("synthetic", timeframe, symbol)
    table = open_store(settings).read_table(key, None, pd.Timestamp(last) + pd.Timedelta(1, "ns"))
    assert table is not None
    frame: pd.DataFrame = table.to_pandas().tail(bars).reset_index(drop=True)
    return frame


def test_candles_and_indicators_match_the_store_and_the_features(
    client: Any, user: dict[str, Any], home: Settings
) -> None:
    params = {"symbol": "BTCUSDT", "timeframe": "1h", "end_date": END, "limit": 5}
    data = _data(client.get(URL, params=params, headers=user["headers"]))
    assert (data["symbol"], data["timeframe"]) == ("BTCUSDT", "1h")  # the caller's spelling
    stamps = [c["timestamp"] for c in data["candles"]]
    assert stamps == [f"2025-01-14T{h}:00:00Z" for h in (20, 21, 22, 23)] + [END]
    history = _stored(home, "BTC/USDT", "1h", END, INDICATOR_BARS)
    assert len(history) == INDICATOR_BARS
    for candle, (_, bar) in zip(data["candles"], history.tail(5).iterrows(), strict=True):
        for column in ("open", "high", "low", "close", "volume"):
            assert isinstance(candle[column], str) and "." in candle[column]
            assert float(candle[column]) == bar[column]
    # The latest candle's indicators are the default feature set's over the bars ending at it.
    row = compute_features(history, "default").iloc[-1]
    ind = data["indicators"]
    assert ind["rsi"] == pytest.approx(row["rsi_14"], rel=1e-12) and 0 < ind["rsi"] < 100
    assert ind["macd"] == pytest.approx(row["macd_12_26_9"], rel=1e-12)
    for name, column in (
        ("upper", "bb_upper_20_2"),
        ("middle", "bb_middle_20_2"),
        ("lower", "bb_lower_20_2"),
    ):
        assert float(ind[f"bollinger_{name}"]) == pytest.approx(row[column], rel=1e-12)
    assert float(ind["bollinger_lower"]) < float(ind["bollinger_middle"]) < float(ind["bollinger_upper"])
    # The same answer for every spelling of the pair (each echoed as sent) and for an API key; a
    # start cuts the candles but not the indicators' warm-up.
    for symbol, headers in (("BTC_USDT", user["headers"]), ("btc/usdt", user["key_headers"])):
        other = _data(client.get(URL, params={**params, "symbol": symbol}, headers=headers))
        assert other == {**data, "symbol": symbol.upper()}
    start = {**params, "start_date": "2025-01-14T22:00:00Z"}
    cut = _data(client.get(URL, params=start, headers=user["headers"]))
    assert cut["candles"] == data["candles"][2:] and cut["indicators"] == data["indicators"]


def test_limits_and_stocks(client: Any, user: dict[str, Any]) -> None:
    h = user["headers"]
    default = _data(client.get(URL, params={"symbol": "ETH/USDT", "end_date": END}, headers=h))
    assert len(default["candles"]) == 100 and default["timeframe"] == "1h"
    assert default["candles"][-1]["timestamp"] == END
    most = _data(
        client.get(
            URL, params={"symbol": "ETH/USDT", "timeframe": "4h", "end_date": END, "limit": 1000}, headers=h
        )
    )
    times = pd.to_datetime([c["timestamp"] for c in most["candles"]])
    assert len(times) == 1000 and (times.to_series().diff().dropna() == pd.Timedelta(hours=4)).all()
    stock = _data(
        client.get(
            URL,
            params={"symbol": "AAPL", "timeframe": "1d", "end_date": "2025-01-15", "limit": 10},
            headers=h,
        )
    )
    days = pd.to_datetime([c["timestamp"] for c in stock["candles"]])
    assert (
        len(days) == 10
        and not (days.day_of_week >= 5).any()
        and days[-1] <= pd.Timestamp("2025-01-15", tz="UTC")
    )
    assert stock["indicators"]["rsi"] is not None  # warmed up on the bars before the window
    empty = _data(
        client.get(
            URL,
            params={
                "symbol": "AAPL",
                "timeframe": "1d",
                "start_date": "2025-01-04",
                "end_date": "2025-01-05",
            },
            headers=h,
        )
    )
    assert empty["candles"] == [] and set(empty["indicators"].values()) == {None}  # a weekend


def test_too_few_bars_give_null_indicators() -> None:
    bars = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=22, freq="D", tz="UTC"),
            **{c: [100.0 + i for i in range(22)] for c in ("open", "high", "low", "close")},
            "volume": [1.0] * 22,
        }
    )
    values = indicator_values(bars)
    assert values["bollinger_middle"] == pytest.approx(sum(100.0 + i for i in range(2, 22)) / 20)
    assert values["rsi"] == pytest.approx(100.0) and values["macd"] is None  # MACD needs 34 bars
    assert set(indicator_values(bars.iloc[:0]).values()) == {None}


@pytest.mark.parametrize(
    ("params", "status", "code", "words"),
    [
        ({"symbol": "ETH$USDT"}, 400, "INVALID_SYMBOL", ["ETH$USDT"]),
        (
            {"symbol": "ETHUSDT", "timeframe": "30m"},
            400,
            "VALIDATION_ERROR",
            ["'30m'", "1m, 5m, 15m, 1h, 4h, 1d"],
        ),
        (
            {"symbol": "ETHUSDT", "start_date": "yesterday"},
            400,
            "VALIDATION_ERROR",
            ["start_date 'yesterday'"],
        ),
        (
            {"symbol": "ETHUSDT", "start_date": "2025-02-01", "end_date": "2025-01-01"},
            400,
            "VALIDATION_ERROR",
            ["start_date 2025-02-01", "after end_date 2025-01-01"],
        ),
        ({"symbol": "ETHUSDT", "limit": "1001"}, 400, "VALIDATION_ERROR", ["limit"]),
        ({"symbol": "ETHUSDT", "limit": "0"}, 400, "VALIDATION_ERROR", ["limit"]),
        ({"timeframe": "1h"}, 400, "VALIDATION_ERROR", ["symbol"]),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem_and_stores_nothing(
    client: Any,
    user: dict[str, Any],
    home: Settings,
    params: dict[str, str],
    status: int,
    code: str,
    words: list[str],
) -> None:
    before = _market(home)
    body = assert_envelope(client.get(URL, params=params, headers=user["headers"]), status, code)
    assert all(w in body["error"]["message"] for w in words), body["error"]["message"]
    assert _market(home) == before


def test_callers_and_unknown_symbols(
    client: Any, user: dict[str, Any], offline_yahoo: list[str], tmp_path: Path
) -> None:
    assert_envelope(client.get(URL, params={"symbol": "BTCUSDT", "end_date": END}), 401, "UNAUTHORIZED")
    bad = {"Authorization": "Bearer not-a-token"}
    assert_envelope(client.get(URL, params={"symbol": "BTCUSDT"}, headers=bad), 401, "UNAUTHORIZED")
    answer = client.get(
        URL, params={"symbol": "ZZZZ", "timeframe": "1d", "end_date": END}, headers=user["headers"]
    )
    body = assert_envelope(answer, 404, "NOT_FOUND")
    assert "ZZZZ" in body["error"]["message"] and offline_yahoo
