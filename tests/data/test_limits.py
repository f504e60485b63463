"""Request limits: bar estimates from timeframe and range, the dates a request may name, and bounded
ingest-on-demand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from pipelines.app.backtest_plan import plan_backtest, run_backtest_request
from pipelines.app.walk_forward_plan import plan_walk_forward
from pipelines.data.ingest import open_store
from pipelines.data.limits import check_bar_span, estimate_bars, latest_start
from pipelines.data.market import ensure_stored
from pipelines.data.store import SeriesKey
from pipelines.data.timeutil import parse_time
from pipelines.errors import InvalidRequestError
from pipelines.models.training import plan_training
from pipelines.settings import Settings

UTC = "UTC"


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz=UTC)


@pytest.mark.parametrize(
    ("timeframe", "crypto", "start", "end", "low", "high"),
    [
        ("1m", True, "2024-01-01", "2024-01-02", 1440, 1442),  # 24/7
        ("1h", True, "2024-01-01", "2025-01-01", 8784, 8786),
        ("1d", False, "2024-01-01", "2025-01-01", 252, 270),  # weekdays, holidays not subtracted
        ("1h", False, "2024-01-01", "2024-01-08", 35, 37),  # 5 sessions of 7 hourly bars
        ("1m", False, "2024-01-01", "2024-01-08", 1950, 1952),  # 5 sessions of 390 minutes
        ("1wk", True, "2020-01-01", "2021-01-01", 52, 55),
        ("1mo", False, "2020-01-01", "2021-01-01", 12, 16),
    ],
)
def test_estimate_is_a_close_upper_bound(
    timeframe: str, crypto: bool, start: str, end: str, low: int, high: int
) -> None:
    assert low <= estimate_bars(timeframe, _ts(start), _ts(end), crypto=crypto) <= high


def test_the_estimate_bounds_what_is_stored(settings: Settings) -> None:
    for symbol, tf in (("AAPL", "1h"), ("BTC/USDT", "15m")):
        bounds = ensure_stored(settings, symbol, tf, start=_ts("2025-03-01"))
        estimate = estimate_bars(tf, bounds.first, bounds.last, crypto="/" in symbol)
        assert bounds.rows <= estimate <= bounds.rows * 1.1 + 10


def test_over_the_limit_names_it_and_how_to_fit(settings: Settings) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        check_bar_span(settings, "1m", _ts("1900-01-01"), _ts("2025-01-01"), crypto=True)
    message = str(caught.value)
    assert "max_bars_per_request" in message and "1,000,000" in message
    assert "shorten the range to at most 694 days at 1m" in message and "(4h fits this range)" in message


@pytest.mark.parametrize("value", ["0001-01-01", "1899-12-31", "2201-01-01", dt.date(1, 1, 1)])
def test_dates_out_of_range_are_refused_by_name(value: object) -> None:
    with pytest.raises(InvalidRequestError, match=r"start_date .* is out of range: dates lie from 1900"):
        parse_time(value, name="start_date")  # type: ignore[arg-type]


def test_planners_check_bars_before_reading(settings: Settings) -> None:
    market = settings.market_dir
    cases = [
        lambda: plan_backtest(
            settings, strategy="sma_cross", symbol="SOL/USDT", timeframe="1m", start="1900-01-01"
        ),
        lambda: plan_training(
            settings,
            model_type="simple",
            model_name="m",
            symbol="SOL/USDT",
            timeframe="1m",
            start="2019-01-01",
        ),
        lambda: plan_walk_forward(
            settings, model_type="simple", symbol="SOL/USDT", timeframe="1m", start="2018-01-01"
        ),
    ]
    for plan in cases:
        with pytest.raises(InvalidRequestError, match="max_bars_per_request"):
            plan()
    assert not market.exists()  # nothing fetched, nothing stored


def test_walk_forward_folds_are_counted_before_any_work(settings: Settings) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        plan_walk_forward(
            settings,
            model_type="simple",
            symbol="SOL/USDT",
            timeframe="1h",
            start="2024-01-01",
            end="2025-01-01",
            train_window=300,
            test_window=2,
        )
    message = str(caught.value)
    assert (
        "max_walk_forward_folds" in message and "4,24" in message and "test_window of at least 17" in message
    )
    assert not settings.market_dir.exists()
    ok = plan_walk_forward(
        settings, model_type="simple", symbol="SOL/USDT", timeframe="1h", start="2024-01-01",
        end="2025-01-01", train_window=300, test_window=17,
    )  # fmt: skip
    assert ok.test_window == 17


def test_ingest_on_demand_is_bounded(tmp_path: Path) -> None:
    """Nothing stored and a start far back: at most max_bars_per_request bars are ingested."""
    settings = Settings(home=tmp_path / "home", history_start="1900-01-01", max_bars_per_request=5_000)
    bounds = ensure_stored(settings, "DOGE/USDT", "1m")
    assert 4_000 <= bounds.rows <= 5_000
    assert bounds.first >= latest_start(settings, "1m", bounds.last, crypto=True) - pd.Timedelta(minutes=2)
    store = open_store(settings)
    assert store.bounds(SeriesKey("synthetic", "1m", "DOGE/USDT")) == bounds


def test_a_users_file_is_counted_when_it_is_read(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", max_bars_per_request=1_000)
    stamps = pd.date_range("2024-01-01", periods=2_000, freq="min", tz=UTC)
    frame = pd.DataFrame(
        {"timestamp": stamps, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0}
    )
    path = tmp_path / "bars.csv"
    frame.to_csv(path, index=False)
    request = plan_backtest(
        settings, strategy="sma_cross", symbol="BTC/USDT", source="file", path=path, timeframe="1m"
    )
    with pytest.raises(InvalidRequestError, match=r"the file holds 2,000 bars .*\(max_bars_per_request\)"):
        run_backtest_request(settings, request)
    assert not settings.market_dir.exists()
