"""Parameter sweeps: every combination's metrics equal its own backtest's, the ranking, constraints,
seeded samples, the combination limit and clear refusals, and the honest-results block."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest import BacktestConfig, run_strategy, sweep, sweep_fast
from pipelines.backtest.overfitting import probability_of_overfitting
from pipelines.backtest.runner import run_strategy_from
from pipelines.backtest.significance import bar_returns
from pipelines.backtest.sweep import SweepResult, run_sweep
from pipelines.backtest.sweep_grid import build_grid, parse_constraint, parse_values
from pipelines.errors import InvalidRequestError
from tests.backtest.conftest import random_bars

BARS = random_bars(500, seed=11)
CASES: list[tuple[str, dict[str, Any], BacktestConfig]] = [
    ("sma_cross", {"fast": "3:9:2", "slow": [6, 10, 15, 30]}, BacktestConfig()),
    (
        "sma_cross",
        {"fast": "3:9:3", "slow": "8:20:6"},
        BacktestConfig(allow_short=True, slippage=0.001, position_size=0.6, stop_loss=0.04, take_profit=0.08),
    ),
    (
        "rsi_reversion",
        {"period": [5, 14], "oversold": "20,35", "overbought": [65, 80]},
        BacktestConfig(allow_short=True, commission=0.002),
    ),
    ("bollinger_breakout", {"period": [10, 20], "nbdev": "1:2:0.5"}, BacktestConfig(stop_loss=0.03)),
]


def _same(sweep: SweepResult, j: int, reference: dict[str, Any]) -> None:
    for name, column in sweep.metrics.items():
        want = reference[name]
        if want is None:
            assert math.isnan(column[j]), (name, sweep.grid.params(j))
        else:
            assert column[j] == pytest.approx(want, rel=1e-9, abs=1e-12), (name, sweep.grid.params(j))


@pytest.mark.parametrize(("strategy", "grid", "config"), CASES)
def test_every_combination_equals_its_own_backtest(
    strategy: str, grid: dict[str, Any], config: BacktestConfig
) -> None:
    result = run_sweep(BARS, strategy, grid, config)
    assert result.vectorized and len(result.grid) > 3
    for j in range(len(result.grid)):
        _same(result, j, run_strategy(BARS, strategy, result.grid.params(j), config).metrics)
    # The best by the objective is the best of the individual backtests, and its full backtest is kept.
    sharpes = [
        run_strategy(BARS, strategy, result.grid.params(j), config).metrics["sharpe_ratio"]
        for j in range(len(result.grid))
    ]
    best = int(np.nanargmax([np.nan if s is None else s for s in sharpes]))
    assert result.row(0)["params"] == result.grid.params(best)
    assert result.best.metrics["sharpe_ratio"] == pytest.approx(sharpes[best], rel=1e-12)


def test_a_sweep_from_a_start_date_warms_on_earlier_bars() -> None:
    start = pd.Timestamp(BARS["timestamp"].iloc[200])
    config = BacktestConfig(allow_short=True)
    result = run_sweep(BARS, "sma_cross", {"fast": [5, 8], "slow": [20, 40]}, config, trade_from=start)
    for j in range(len(result.grid)):
        reference = run_strategy_from(BARS, start, "sma_cross", result.grid.params(j), config)
        _same(result, j, reference.metrics)
    assert result.best.num_bars == len(BARS) - 200


def test_a_strategy_without_a_vectorized_sweep_runs_each_combination(monkeypatch: pytest.MonkeyPatch) -> None:
    grid = {"fast": [4, 6, 9]}
    config = BacktestConfig(allow_short=True)
    fast = run_sweep(BARS, "sma_cross", grid, config, fixed={"slow": 12})
    assert fast.grid.params(0)["slow"] == 12 and fast.vectorized
    monkeypatch.delitem(sweep_fast.FAST_STRATEGIES, "sma_cross")
    slow = run_sweep(BARS, "sma_cross", grid, config, fixed={"slow": 12})
    assert not slow.vectorized
    for name, column in fast.metrics.items():
        np.testing.assert_allclose(slow.metrics[name], column, rtol=1e-12, err_msg=name)
    assert slow.significance["overfitting"]["pbo"] == pytest.approx(fast.significance["overfitting"]["pbo"])
    monkeypatch.setattr(sweep, "FALLBACK_MAX", 2)
    with pytest.raises(
        InvalidRequestError, match="no vectorized sweep; 3 combinations are over its limit of 2"
    ):
        run_sweep(BARS, "sma_cross", grid, config, fixed={"slow": 12})
    with pytest.raises(InvalidRequestError, match="at least one parameter"):
        run_sweep(BARS, "buy_and_hold", {}, BacktestConfig())


def test_objective_orders_and_constraints_exclude() -> None:
    grid = {"fast": "2:12:1", "slow": "2:12:1"}
    result = run_sweep(
        BARS, "sma_cross", grid, BacktestConfig(), constraints=["slow != 7"], objective="total_return"
    )
    fast, slow = result.grid.column("fast"), result.grid.column("slow")
    assert (fast < slow).all()  # implied by the strategy
    assert (slow != 7).all()
    assert result.grid.grid_size == 121 and result.grid.feasible == len(result.grid) == 55 - 5
    returns = result.metrics["total_return"][result.order]
    assert (np.diff(returns) <= 0).all()
    drawdown = run_sweep(BARS, "sma_cross", grid, BacktestConfig(), objective="max_drawdown")
    dd = drawdown.metrics["max_drawdown"][drawdown.order]
    assert dd[0] == dd.max() and (np.diff(dd) <= 0).all()
    only = run_sweep(BARS, "sma_cross", grid, BacktestConfig(), constraints=["fast == 3", "slow<=5"])
    assert [only.grid.params(j) for j in range(len(only.grid))] == [
        {"fast": 3, "slow": 4},
        {"fast": 3, "slow": 5},
    ]


def test_random_samples_are_seeded_and_reproducible() -> None:
    grid = {"fast": "2:30:1", "slow": "3:60:1"}
    a = build_grid("sma_cross", grid, constraints=["fast<slow"], sample=50, seed=7, max_combinations=100)
    b = build_grid("sma_cross", grid, constraints=["fast<slow"], sample=50, seed=7, max_combinations=100)
    c = build_grid("sma_cross", grid, constraints=["fast<slow"], sample=50, seed=8, max_combinations=100)
    assert len(a) == 50 and a.feasible > 1000
    assert np.array_equal(a.values, b.values) and not np.array_equal(a.values, c.values)
    assert (a.values[:, 0] < a.values[:, 1]).all()
    swept = run_sweep(BARS, "sma_cross", grid, BacktestConfig(), sample=20, seed=3)
    again = run_sweep(BARS, "sma_cross", grid, BacktestConfig(), sample=20, seed=3)
    assert np.array_equal(swept.grid.values, again.grid.values)
    assert swept.as_dict()["results"] == again.as_dict()["results"]


def test_an_oversize_sweep_is_refused_naming_its_count() -> None:
    with pytest.raises(InvalidRequestError, match="2,926 combinations, over the limit of 1,000"):
        run_sweep(
            BARS, "sma_cross", {"fast": "1:76", "slow": "2:77"}, BacktestConfig(), max_combinations=1_000
        )
    with pytest.raises(InvalidRequestError, match="before constraints"):
        build_grid("sma_cross", {"fast": "1:1000", "slow": "2:1000"}, max_combinations=1_000)
    # A sample within the limit of a grid over it runs.
    sampled = build_grid(
        "sma_cross", {"fast": "1:76", "slow": "2:77"}, sample=500, seed=1, max_combinations=1_000
    )
    assert len(sampled) == 500


@pytest.mark.parametrize(
    ("grid", "constraints", "message"),
    [
        ({"fats": [5]}, [], "has no parameter 'fats'; its parameters are fast, slow"),
        ({"fast": [5]}, ["fast < slwo"], "names 'slwo', not a parameter"),
        ({"fast": [5]}, ["fast << slow"], "must be 'a OP b'"),
        ({"fast": [5]}, ["__import__('os') < 1"], "must be 'a OP b'"),
        ({"fast": "5:1"}, [], "ends below its start"),
        ({"fast": "5:x"}, [], "'x' is not a number"),
        ({"fast": [0]}, [], "must be >= 1"),
        ({"fast": [2.5]}, [], "must be an integer"),
        ({"fast": [50]}, [], "no combination satisfies"),
    ],
)
def test_bad_grids_are_refused_clearly(grid: dict[str, Any], constraints: list[str], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message.replace("(", r"\(")):
        run_sweep(BARS, "sma_cross", grid, BacktestConfig(), constraints=constraints)


def test_bad_objective_is_refused() -> None:
    with pytest.raises(InvalidRequestError, match="unknown objective 'profit'"):
        run_sweep(BARS, "sma_cross", {"fast": [5]}, BacktestConfig(), objective="profit")


def test_value_specs() -> None:
    assert parse_values("x", "5:8") == [5.0, 6.0, 7.0, 8.0]
    assert parse_values("x", "1:2:0.25") == [1.0, 1.25, 1.5, 1.75, 2.0]
    assert parse_values("x", "0.1:0.3:0.1") == [0.1, 0.2, 0.3]
    assert parse_values("x", "3, 1,2") == [3.0, 1.0, 2.0]
    assert str(parse_constraint(" fast<=2.5 ")) == "fast <= 2.5"


def test_the_honest_block_deflates_the_best_and_measures_overfitting() -> None:
    grid = {"fast": "3:9:2", "slow": [12, 20, 30]}
    result = run_sweep(BARS, "sma_cross", grid, BacktestConfig())
    sig = result.significance
    sharpes = result.metrics["sharpe_ratio"]
    assert sig["trials"] == len(result.grid) == 12
    assert sig["trials_sharpe_variance"] == pytest.approx(float(np.var(sharpes, ddof=1)))
    assert sig["sharpe_ratio"] == pytest.approx(np.nanmax(sharpes))
    assert 0.0 <= sig["deflated_sharpe"] <= sig["psr_vs_zero"]
    # PBO from the kernel's block sums equals CSCV over the full matrix of bar returns.
    matrix = np.column_stack(
        [
            bar_returns(run_strategy(BARS, "sma_cross", result.grid.params(j), BacktestConfig()).equity)
            for j in range(12)
        ]
    )
    expected = probability_of_overfitting(matrix, sig["overfitting"]["partitions"])
    assert sig["overfitting"]["pbo"] == pytest.approx(expected.pbo)
    assert sig["overfitting"]["trials"] == 12
    body = result.as_dict(top=3)
    assert len(body["results"]) == 3 and body["best"]["params"] == result.row(0)["params"]
    assert body["constraints"] == ["fast < slow"]


def test_progress_is_reported_and_cscv_work_is_bounded() -> None:
    seen: list[tuple[float, str]] = []
    result = run_sweep(
        BARS,
        "sma_cross",
        {"fast": "2:30", "slow": "3:80"},
        BacktestConfig(),
        progress=lambda d, t: seen.append((d, t)),
    )
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == 100.0
    assert any(f"{len(result.grid):,} of {len(result.grid):,} combinations" in t for _, t in seen)
    # Fewer CSCV blocks for many trials: block combinations x trials stay within the bound.
    blocks, size = sweep._pbo_blocks(2_515, 23_750)
    assert blocks == 6 and size == 2_515 // 6
    assert math.comb(blocks, blocks // 2) * 23_750 <= sweep.PBO_CELLS
    assert sweep._pbo_blocks(2_515, 12)[0] == 16
    assert sweep._pbo_blocks(15, 12) == (0, 0) and sweep._pbo_blocks(2_515, 1) == (0, 0)


def test_a_start_past_the_bars_is_refused() -> None:
    late = pd.Timestamp(BARS["timestamp"].iloc[-1]) + pd.Timedelta(days=1)
    with pytest.raises(InvalidRequestError, match="at least 2 bars to trade, got 0"):
        run_sweep(BARS, "sma_cross", {"fast": [5]}, BacktestConfig(), trade_from=late)
