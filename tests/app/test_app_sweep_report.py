"""A sweep's MLflow report pieces: the objective's heat map over two swept parameters (the mean over
the others, blank where nothing was tried), the ranked table, and the generic heat-map figure."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest

from pipelines.app.sweep_report import heatmap_matrix, results_table
from pipelines.backtest import BacktestConfig
from pipelines.backtest.sweep import run_sweep
from pipelines.models.plots import heatmap_figure
from tests.backtest.conftest import random_bars

BARS = random_bars(300, seed=5)


def test_the_heatmap_is_the_mean_over_the_other_parameters_and_blank_where_untried() -> None:
    grid = {"period": [5, 10], "oversold": [20, 30], "overbought": [70, 80]}
    result = run_sweep(BARS, "rsi_reversion", grid, BacktestConfig())
    xs, ys, matrix = heatmap_matrix(result, "oversold", "period")
    assert list(xs) == [20, 30] and list(ys) == [5, 10] and matrix.shape == (2, 2)
    sharpe = result.metrics["sharpe_ratio"]
    for yi, period in enumerate(ys):
        for xi, oversold in enumerate(xs):
            rows = [
                j
                for j in range(len(result.grid))
                if result.grid.params(j)["period"] == period and result.grid.params(j)["oversold"] == oversold
            ]
            values = [sharpe[j] for j in rows if math.isfinite(sharpe[j])]
            want = float(np.mean(values)) if values else math.nan
            assert matrix[yi, xi] == pytest.approx(want, nan_ok=True)
    # A constraint leaves cells untried: those are NaN, never 0.
    cut = run_sweep(BARS, "sma_cross", {"fast": [3, 6, 9], "slow": [5, 8]}, BacktestConfig())
    fx, fy, triangle = heatmap_matrix(cut, "fast", "slow")  # fast < slow is implied: 3 combinations
    assert list(fx) == [3, 6] and list(fy) == [5, 8]
    assert math.isnan(triangle[0, 1])  # fast 6, slow 5: untried
    by_params = {(p["fast"], p["slow"]): j for j in range(len(cut.grid)) for p in [cut.grid.params(j)]}
    for (fast, slow), j in by_params.items():
        cell = triangle[list(fy).index(slow), list(fx).index(fast)]
        assert cell == pytest.approx(cut.metrics["sharpe_ratio"][j], nan_ok=True)


def test_the_table_is_ranked_best_first_with_typed_parameters() -> None:
    result = run_sweep(BARS, "sma_cross", {"fast": "3:9:2", "slow": [10, 20]}, BacktestConfig())
    table = results_table(result)
    assert len(table) == len(result.grid) and list(table["rank"]) == list(range(1, len(table) + 1))
    assert table["fast"].dtype.kind == "i"
    assert table.iloc[0][["fast", "slow"]].tolist() == [
        result.row(0)["params"]["fast"],
        result.row(0)["params"]["slow"],
    ]
    assert list(results_table(result, 3)["rank"]) == [1, 2, 3]


def test_the_heatmap_draws_a_png_with_blank_cells() -> None:
    matrix = np.array([[1.0, np.nan], [0.5, -0.2]])
    figure = heatmap_figure(
        [5, 10], [20, 50], matrix, "sma_cross: sharpe_ratio", x_label="fast", y_label="slow"
    )
    axes = figure.axes[0]
    assert axes.get_xlabel() == "fast" and axes.get_ylabel() == "slow"
    assert [t.get_text() for t in axes.get_xticklabels()] == ["5", "10"]
    cells = np.ma.asarray(axes.collections[0].get_array())
    assert int(np.ma.count_masked(cells)) == 1  # the untried cell is blank, the others drawn
    png = io.BytesIO()
    figure.savefig(png, format="png")
    assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"
