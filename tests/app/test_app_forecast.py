"""The forecast use case's rules: forecaster names, age limits, which model serves, smoothness and the
bounds of a training request (checked before anything is fetched)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipelines.app.forecast import (
    age_limit_days,
    find_forecaster,
    forecaster_name,
    forecaster_training,
    history_days,
    smoothness_score,
)
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.models.summaries import ModelSummary
from pipelines.settings import Settings


def _summary(name: str, shown_ms: int, champion: str | None = "1") -> ModelSummary:
    return ModelSummary(
        name=name,
        kind="multi_ohlc",
        symbol="ETH/USDT",
        timeframe="1m",
        device="cpu",
        versions=1,
        latest_version="1",
        champion_version=champion,
        shown_ms=shown_ms,
    )


def test_names_and_age_limits_follow_the_timeframe() -> None:
    eth, minute = parse_symbol("ETHUSDT"), parse_timeframe("1m")
    assert forecaster_name(eth, minute, 300) == "ETH_USDT_1m_300steps_multi_ohlc"
    assert forecaster_name(parse_symbol("AAPL"), parse_timeframe("1d"), 5) == "AAPL_1d_5steps_multi_ohlc"
    limits = {tf: age_limit_days(parse_timeframe(tf)) for tf in ("1m", "15m", "1h", "4h", "1d", "1wk")}
    assert limits == {"1m": 2, "15m": 2, "1h": 7, "4h": 7, "1d": 30, "1wk": 30}


def test_the_preferred_steps_win_then_the_newest() -> None:
    eth, minute = parse_symbol("ETH_USDT"), parse_timeframe("1m")
    found = [
        _summary("ETH_USDT_1m_5steps_multi_ohlc", 3),
        _summary("ETH_USDT_1m_300steps_multi_ohlc", 1),
        _summary("ETH_USDT_1m_7steps_multi_ohlc", 9, champion=None),  # nothing to serve
        _summary("ETH_USDT_1h_300steps_multi_ohlc", 9),
        _summary("my_ETH_USDT_1m_9steps_multi_ohlc", 9),
    ]
    assert find_forecaster(found, eth, minute, 300).name == "ETH_USDT_1m_300steps_multi_ohlc"  # type: ignore[union-attr]
    assert find_forecaster(found, eth, minute, 42).name == "ETH_USDT_1m_5steps_multi_ohlc"  # type: ignore[union-attr]
    assert find_forecaster(found, parse_symbol("BTC_USDT"), minute, 300) is None


def test_smoothness_is_one_for_a_line_and_falls_as_the_path_zigzags() -> None:
    assert smoothness_score(np.array([1.0, 2.0, 3.0, 4.0])) == 1.0
    assert smoothness_score(np.array([5.0, 5.0, 5.0])) == 1.0
    zigzag = smoothness_score(np.array([1.0, 2.0, 1.0, 2.0, 1.0]))
    bend = smoothness_score(np.array([1.0, 2.0, 3.0, 2.0, 1.0]))
    assert 0 < zigzag < bend < 1


@pytest.mark.parametrize(
    ("steps", "days", "words"),
    [
        (0, 2, ["n_steps_ahead", "1 to 500", "got 0"]),
        (501, 2, ["n_steps_ahead", "got 501"]),
        (True, 2, ["n_steps_ahead"]),
        (5, 0, ["days_history", "got 0"]),
        (5, 1000, ["days_history 1000", "max_bars_per_request"]),
    ],
)
def test_a_training_request_is_checked_before_anything_runs(
    tmp_path: Path, steps: object, days: object, words: list[str]
) -> None:
    settings = Settings(home=tmp_path / "home")
    with pytest.raises(InvalidRequestError) as raised:
        forecaster_training(settings, "ETH_USDT", "1m", steps, days)
    assert all(w in str(raised.value) for w in words), str(raised.value)
    assert not settings.market_dir.exists()


@pytest.mark.parametrize(
    ("symbol", "timeframe", "at_least", "at_most"),
    [
        ("ETH_USDT", "1m", 30, 30),  # 30 days of minutes hold far more than 300 steps need
        ("BTC_USDT", "1h", 79, 81),  # 1,900 hourly bars
        ("BTC_USDT", "1d", 1900, 1900),
        ("AAPL", "4h", 1300, 1340),  # two session bars a weekday
    ],
)
def test_automatic_training_reads_enough_days_for_its_steps(
    tmp_path: Path, symbol: str, timeframe: str, at_least: int, at_most: int
) -> None:
    settings = Settings(home=tmp_path / "home")
    days = history_days(settings, parse_symbol(symbol), parse_timeframe(timeframe), 300)
    assert at_least <= days <= at_most
    query = forecaster_training(settings, symbol, timeframe, 300, None)
    assert query.start_date is not None and query.end_date is not None
    span = np.datetime64(query.end_date[:19]) - np.datetime64(query.start_date[:19])
    assert span.astype("timedelta64[D]").astype(int) == days


def test_automatic_history_stays_inside_the_bars_limit(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home", max_bars_per_request=1500)
    days = history_days(settings, parse_symbol("BTC_USDT"), parse_timeframe("1h"), 300)
    assert days < 1500 / 24
    forecaster_training(settings, "BTC_USDT", "1h", 300, None)  # within the limit: no error
