"""The runner's step by a strategy's ``latest`` form (the newest bar's target from the window's arrays)
equals the vectorized strategy recomputed in full, bar by bar over a long series, warm-up included."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest.strategies import get_strategy
from pipelines.errors import InvalidRequestError
from pipelines.features import BarData
from pipelines.trading.runner import RunnerConfig, StrategyRunner
from pipelines.trading.window import Bar, BarWindow

CASES: list[tuple[str, dict[str, Any]]] = [
    ("sma_cross", {"fast": 5, "slow": 20}),
    ("sma_cross", {"fast": 10, "slow": 50}),
    ("rsi_reversion", {"period": 14, "oversold": 40.0, "overbought": 60.0}),
    ("rsi_reversion", {"period": 7, "oversold": 30.0, "overbought": 70.0}),
    ("bollinger_breakout", {"period": 20, "nbdev": 1.5}),
    ("bollinger_breakout", {"period": 10, "nbdev": 2.0}),
]


def _bars(n: int, seed: int) -> pd.DataFrame:
    """A random walk with flat stretches and jumps (ties, extreme RSI, band breaks)."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0, 0.004, n)
    steps[rng.random(n) < 0.05] = 0.0
    steps[rng.random(n) < 0.01] *= 8.0
    close = 100.0 * np.exp(np.cumsum(steps))
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-01-01", periods=n, freq="min", tz="UTC"),
            "open": close,
            "high": close * 1.001,
            "low": close * 0.999,
            "close": close,
            "volume": 1.0,
        }
    )


@pytest.mark.parametrize(("name", "params"), CASES)
def test_latest_equals_the_full_recomputation_at_every_bar(name: str, params: dict[str, Any]) -> None:
    frame = _bars(1200, seed=len(name) + len(params))
    strategy = get_strategy(name)
    full = strategy.fn(frame, params, None)  # the backtest's targets over the whole series
    assert strategy.latest is not None
    data = BarData.from_frame(frame)
    got = np.array([strategy.latest(data.window(0, i + 1), params) for i in range(len(frame))])
    np.testing.assert_array_equal(got, full)
    assert (got == 0.0).any() and (got == 1.0).any() and (got == -1.0).any()  # warm-up, both sides


@pytest.mark.parametrize(("name", "params"), CASES)
def test_latest_on_the_runner_window_equals_the_strategy_on_it(name: str, params: dict[str, Any]) -> None:
    """Through the window's buffer (filling, then shifting its rows every ``size`` bars)."""
    frame = _bars(900, seed=7)
    strategy = get_strategy(name)
    assert strategy.latest is not None
    window = BarWindow(60)
    cols = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    for i in range(len(frame)):
        window.append(Bar(i + 1, *(float(c[i]) for c in cols)))
        whole = strategy.fn(window.frame(), params, None)[-1]
        assert strategy.latest(window.bar_data(), params) == whole, i


@pytest.mark.parametrize(("name", "params"), CASES)
def test_runner_targets_by_latest_equal_those_by_the_frame(name: str, params: dict[str, Any]) -> None:
    frame = _bars(700, seed=3)
    runner = StrategyRunner(RunnerConfig("s", "u", "BTC/USDT", name, params, lookback=120))
    cols = [frame[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
    seen = set()
    for i in range(len(frame)):
        runner.on_bar(Bar(i + 1, *(float(c[i]) for c in cols)))
        by_frame = runner.strategy_targets(runner.window.frame())[-1]
        assert runner.pending == max(by_frame, 0.0), i  # long-only by default: -1 trades flat
        seen.add(runner.pending)
    assert seen == {0.0, 1.0}


def test_latest_refuses_what_the_strategy_refuses() -> None:
    data = BarData.from_frame(_bars(50, seed=1))
    refused: list[tuple[str, dict[str, Any]]] = [
        ("sma_cross", {"fast": 20, "slow": 20}),
        ("rsi_reversion", {"period": 14, "oversold": 60.0, "overbought": 40.0}),
    ]
    for name, params in refused:
        latest = get_strategy(name).latest
        assert latest is not None
        with pytest.raises(InvalidRequestError):
            latest(data, params)
