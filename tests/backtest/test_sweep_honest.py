"""A sweep's best combination beside buy and hold: the same bars it traded (after a warm-up too), the
same costs, its significance against the benchmark's Sharpe ratio still deflated by every
combination; and the constraints a sweep reports, each once."""

from __future__ import annotations

import pandas as pd
import pytest

from pipelines.backtest import BacktestConfig, run_strategy
from pipelines.backtest.honest import honest_sweep, trust_lines
from pipelines.backtest.sweep import run_sweep
from tests.backtest.conftest import random_bars

BARS = random_bars(400, seed=11)
CONFIG = BacktestConfig(commission=0.002, slippage=0.001)


def test_the_best_is_set_beside_buy_and_hold_of_the_bars_it_traded() -> None:
    trade_from = pd.Timestamp(BARS["timestamp"].iloc[100])
    grid = {"fast": "3:12:3", "slow": [20, 40]}
    swept = run_sweep(BARS, "sma_cross", grid, CONFIG, trade_from=trade_from)
    result = honest_sweep(BARS, swept, symbol="SPY")
    bench = result.benchmark
    assert bench is not None and swept.benchmark is None  # a new result; the sweep's is untouched
    held = run_strategy(BARS.iloc[100:].reset_index(drop=True), "buy_and_hold", {}, CONFIG)
    assert bench["total_return"] == pytest.approx(held.metrics["total_return"])
    assert bench["sharpe_ratio"] == pytest.approx(held.metrics["sharpe_ratio"])
    assert bench["common_bars"] == result.best.num_bars == len(BARS) - 100
    assert bench["verdict"].startswith(("beat buy and hold of SPY", "did not beat buy and hold of SPY"))
    assert (bench["excess_annual_return"] > 0) == bench["verdict"].startswith("beat")
    sig = result.significance
    assert sig["benchmark_sharpe"] == pytest.approx(held.metrics["sharpe_ratio"])
    assert sig["psr_vs_benchmark"] is not None and 0.0 <= sig["psr_vs_benchmark"] <= 1.0
    # The deflation and PBO of the sweep itself are kept as they were.
    for key in ("trials", "trials_sharpe_variance", "deflated_sharpe", "expected_max_sharpe", "overfitting"):
        assert sig[key] == swept.significance[key], key
    body = result.as_dict(top=2)
    assert body["benchmark"] == bench and "benchmark" not in swept.as_dict(top=2)
    labels = [label for label, _ in trust_lines(body)]
    assert labels[0] == "benchmark" and {"deflated SR", "overfitting", "verdict"} <= set(labels)


def test_other_benchmark_symbols_are_compared_too() -> None:
    other = random_bars(400, seed=12)
    swept = run_sweep(BARS, "sma_cross", {"fast": [3, 5], "slow": [20]}, CONFIG)
    result = honest_sweep(BARS, swept, symbol="SPY", others=[("QQQ", other)])
    assert result.benchmark is not None
    [versus] = result.benchmark["others"]
    held = run_strategy(other, "buy_and_hold", {}, CONFIG)
    assert versus["symbol"] == "QQQ" and versus["total_return"] == pytest.approx(held.metrics["total_return"])


def test_a_constraint_the_strategy_implies_is_listed_once() -> None:
    given = ["fast<slow", "fast >= 4"]
    result = run_sweep(BARS, "sma_cross", {"fast": [3, 5, 8], "slow": [6, 20]}, CONFIG, constraints=given)
    assert result.constraints == ["fast < slow", "fast >= 4"]
    assert result.as_dict(top=1)["constraints"] == ["fast < slow", "fast >= 4"]
    assert all(p["fast"] >= 4 and p["fast"] < p["slow"] for p in (r["params"] for r in result.top()))
