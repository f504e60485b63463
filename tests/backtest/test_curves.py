"""Long equity curves and trade lists cut to the answer's size, keeping the curve's shape."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pipelines.backtest import BacktestConfig, run_backtest
from pipelines.backtest.curves import curve_points, downsample_indices


def test_downsampling_keeps_ends_extremes_and_the_drawdown() -> None:
    rng = np.random.default_rng(3)
    equity = 10_000 * np.exp(np.cumsum(rng.normal(0, 0.01, 200_000)))
    idx = downsample_indices(equity, 1_000)
    assert len(idx) <= 1_000 and np.all(np.diff(idx) > 0)
    peak = np.maximum.accumulate(equity)
    trough = int(np.argmin(equity / peak - 1))
    for must in (0, equity.size - 1, int(np.argmax(equity)), int(np.argmin(equity)), trough):
        assert must in idx
    assert int(np.argmax(equity[: trough + 1])) in idx  # the peak before the deepest drawdown
    shown = equity[idx]
    assert (shown / np.maximum.accumulate(shown) - 1).min() == (equity / peak - 1).min()


def test_short_curves_are_returned_whole() -> None:
    ts = pd.date_range("2024-01-01", periods=50, freq="D", tz="UTC").as_unit("ns").asi8
    out = curve_points(ts, np.linspace(1, 2, 50), 100)
    assert out["equity_curve_points"] == out["equity_curve_total_points"] == 50
    assert out["equity_curve_downsampled"] is False and "equity_curve_method" not in out
    assert out["equity_curve"][0] == ["2024-01-01T00:00:00+00:00", 1.0]


def test_a_result_answers_at_most_max_points(rand_bars: Any) -> None:
    bars = rand_bars(20_000, freq="min")
    rng = np.random.default_rng(0)
    target = np.sign(rng.normal(size=len(bars)))
    result = run_backtest(bars, target, BacktestConfig(allow_short=True, timeframe="1m", crypto=True))
    body = result.as_dict(max_points=500)
    assert len(body["equity_curve"]) == body["equity_curve_points"] <= 500
    assert body["equity_curve_total_points"] == result.num_bars and body["equity_curve_downsampled"] is True
    assert body["equity_curve"][-1][1] == result.final_equity
    assert len(body["trades"]) == 500 < body["trades_total"] == len(result.trades)
    assert body["trades_truncated"] is True
    full = result.as_dict()
    assert len(full["equity_curve"]) == result.num_bars and len(full["trades"]) == len(result.trades)
