"""The CSCV block sums a sweep takes in its curve-statistics pass equal, bit for bit, a separate
guarded pass over each combination's own equity curve (non-finite returns as 0), and leave the curve
statistics as they were."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.backtest import BacktestConfig, _fast, run_strategy, sweep
from pipelines.backtest.engine import bar_arrays
from pipelines.backtest.significance import bar_returns
from pipelines.backtest.sweep_fast import fast_sweep
from pipelines.backtest.sweep_grid import build_grid
from pipelines.features import BarData
from tests.backtest.conftest import random_bars


def _guarded(equity: np.ndarray, size: int, blocks: int) -> np.ndarray:
    """The plain definition: every block's sum of returns and of squares, added in bar order."""
    out = np.zeros(2 * blocks)
    with np.errstate(divide="ignore", invalid="ignore"):
        _fast._block_sums_impl(equity, size, out)  # the uncompiled Python loop
    return out


@pytest.mark.parametrize(("blocks", "size"), [(0, 0), (2, 40), (6, 13), (16, 5)])
def test_the_fused_sums_equal_a_separate_pass_and_keep_the_statistics(blocks: int, size: int) -> None:
    rng = np.random.default_rng(blocks)
    equity = 1e4 * np.cumprod(1.0 + rng.normal(0.0, 0.02, 100))
    position = (rng.random(100) > 0.5).astype(np.float64)
    sums = np.full(2 * blocks, np.nan)
    stats = _fast.curve_stats_blocks(equity, position, 1e4, size, sums)
    assert stats == _fast.curve_stats(equity, position, 1e4)
    assert np.array_equal(sums, _guarded(equity, size, blocks))
    if blocks:  # the numpy definition, to rounding: the blocks hold returns 0 .. blocks * size - 1
        r = bar_returns(equity)[: blocks * size].reshape(blocks, size)
        assert np.allclose(sums, np.concatenate([r.sum(axis=1), (r * r).sum(axis=1)]), rtol=1e-12)


def test_undefined_returns_count_as_zero() -> None:
    equity = np.array([100.0, 110.0, np.inf, np.inf, 121.0, 121.0, 133.1, 133.1, 133.1])  # inf, NaN, -1
    sums = np.empty(4)
    _fast.curve_stats_blocks(equity, np.ones(9), 100.0, 4, sums)
    assert np.array_equal(sums, _guarded(equity, 4, 2))
    assert sums[0] == pytest.approx(0.1 - 1.0) and sums[2] == pytest.approx(0.01 + 1.0)
    assert sums[1] == pytest.approx(0.1) and sums[3] == pytest.approx(0.01)  # 121 -> 133.1


def test_the_sweep_keeps_each_combinations_block_sums() -> None:
    bars = random_bars(400, seed=3)
    config = BacktestConfig(allow_short=True, commission=0.002, stop_loss=0.05)
    grid = build_grid("sma_cross", {"fast": [3, 5, 8], "slow": [12, 30]}, max_combinations=100)
    data = BarData.from_frame(bars)
    _, open_, high, low, close = bar_arrays(bars, data)
    blocks = sweep._pbo_blocks(close.size - 1, len(grid))
    assert blocks[0] >= 2
    _, sums = fast_sweep(
        grid, (open_, high, low, close), data, config, start=0, blocks=blocks, progress=lambda *_: None
    )
    for j in range(len(grid)):
        equity = run_strategy(bars, "sma_cross", grid.params(j), config).equity
        assert np.array_equal(sums[j], _guarded(equity, blocks[1], blocks[0]))
