"""Metrics against values computed by hand on short series, and their edge cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pipelines.backtest import METRIC_NAMES, compute_metrics
from pipelines.backtest import _kernel as k

DAY = 86_400 * 10**9


def trades(rows: list[tuple[int, int, float, int]]) -> np.ndarray:
    """(entry bar, exit bar, pnl, reason) -> a kernel trade matrix."""
    m = np.zeros((len(rows), k.N_FIELDS))
    for j, (entry, exit_, pnl, reason) in enumerate(rows):
        m[j, [k.T_ENTRY_IDX, k.T_EXIT_IDX, k.T_PNL, k.T_REASON]] = entry, exit_, pnl, reason
    return m


def test_curve_and_trade_metrics_by_hand() -> None:
    equity = np.array([100.0, 110.0, 99.0, 108.9, 108.9])
    position = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    ts = np.arange(5) * DAY
    t = trades(
        [
            (1, 4, 10.0, k.REASON_SIGNAL),
            (0, 1, -5.0, k.REASON_STOP),
            (2, 2, 0.0, k.REASON_STOP),
            (1, 3, 20.0, k.REASON_END),
        ]
    )
    m = compute_metrics(equity, position, t, ts, initial_capital=100.0, bars_per_year=252.0)
    assert list(m) == list(METRIC_NAMES)
    r = np.array([0.1, -0.1, 0.1, 0.0])
    assert m["total_return"] == pytest.approx(0.089)
    assert m["annual_return"] == pytest.approx(1.089 ** (252 / 4) - 1)
    assert m["volatility"] == pytest.approx(np.std(r, ddof=1) * math.sqrt(252))
    assert m["sharpe_ratio"] == pytest.approx(0.025 / np.std(r, ddof=1) * math.sqrt(252))
    assert m["sortino_ratio"] == pytest.approx(0.025 / math.sqrt(0.01 / 4) * math.sqrt(252))
    assert m["max_drawdown"] == pytest.approx(99 / 110 - 1)
    assert m["calmar_ratio"] == pytest.approx(m["annual_return"] / 0.1)
    assert m["exposure"] == pytest.approx(3 / 5)
    assert (m["num_trades"], m["winning_trades"], m["losing_trades"]) == (4, 2, 1)
    assert m["win_rate"] == 0.5 and m["profit_factor"] == pytest.approx(30 / 5)
    assert m["avg_win"] == 15.0 and m["avg_loss"] == -5.0
    # held bars: 4-1 (signal exit), 1-0+1 (stop), 2-2+1 (stop in the entry bar), 3-1+1 (end)
    assert m["avg_trade_duration"] == pytest.approx((3 + 2 + 1 + 3) / 4)
    assert m["avg_trade_duration_seconds"] == pytest.approx((3 + 1 + 0 + 2) / 4 * 86_400)


def test_no_losses_profit_factor_is_none_and_no_wins_avg_win_is_none() -> None:
    eq = np.array([100.0, 101.0, 102.0])
    m = compute_metrics(
        eq,
        np.ones(3),
        trades([(0, 1, 1.0, 0)]),
        np.arange(3) * DAY,
        initial_capital=100.0,
        bars_per_year=252.0,
    )
    assert m["profit_factor"] is None and m["avg_loss"] is None and m["win_rate"] == 1.0
    assert m["max_drawdown"] == 0.0 and m["calmar_ratio"] is None and m["sortino_ratio"] is None
    m = compute_metrics(
        eq,
        np.ones(3),
        trades([(0, 1, -1.0, 0)]),
        np.arange(3) * DAY,
        initial_capital=100.0,
        bars_per_year=252.0,
    )
    assert m["profit_factor"] == 0.0 and m["avg_win"] is None and m["win_rate"] == 0.0


def test_single_bar_and_ruin() -> None:
    one = compute_metrics(
        np.array([100.0]),
        np.zeros(1),
        trades([]),
        np.zeros(1, dtype=np.int64),
        initial_capital=100.0,
        bars_per_year=365.0,
    )
    assert one["annual_return"] == 0.0 and one["sharpe_ratio"] is None and one["volatility"] == 0.0
    ruin = compute_metrics(
        np.array([100.0, 50.0, 0.0]),
        np.ones(3),
        trades([]),
        np.arange(3) * DAY,
        initial_capital=100.0,
        bars_per_year=252.0,
    )
    assert ruin["annual_return"] == -1.0 and ruin["max_drawdown"] == -1.0 and ruin["total_return"] == -1.0


def test_tiny_final_equity_does_not_crash() -> None:
    eq = np.array([100.0, 1e-300])
    m = compute_metrics(
        eq, np.ones(2), trades([]), np.arange(2) * DAY, initial_capital=100.0, bars_per_year=252.0
    )
    assert m["annual_return"] == pytest.approx(-1.0) and m["total_return"] == pytest.approx(-1.0)
