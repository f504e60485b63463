"""A sweep's MLflow run: its request as params, the best combination's metrics with the deflated
Sharpe ratio and the probability of backtest over-fitting, the best against buy and hold (the
``benchmark_*`` metrics, the ``honest_results.json`` artifact and the verdict tags), every
combination ranked as a CSV artifact (at most :data:`CSV_MAX_ROWS`, best first) and a heat map of
the objective over two swept parameters (the mean over the other swept parameters)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.app.honest_results import honest_metrics, honesty_tags
from pipelines.backtest.sweep import OBJECTIVES, SweepResult
from pipelines.data.version import DataVersion
from pipelines.models.plots import heatmap_figure
from pipelines.models.tracking import Tracker

__all__ = ["CSV_MAX_ROWS", "EXPERIMENT", "heatmap_matrix", "log_sweep", "results_table"]

EXPERIMENT = "sweeps"
CSV_MAX_ROWS = 100_000  # the ranked table's artifact keeps the best this many combinations

FloatArray = npt.NDArray[np.float64]


def results_table(result: SweepResult, rows: int | None = None) -> pd.DataFrame:
    """The combinations ranked by the objective (best first, ``rows`` at most): rank, each swept
    parameter, every metric."""
    order = result.order if rows is None else result.order[:rows]
    frame = pd.DataFrame({"rank": np.arange(1, order.size + 1)})
    for j, (name, is_int) in enumerate(zip(result.grid.names, result.grid.is_int, strict=True)):
        column = result.grid.values[order, j]
        frame[name] = column.astype(np.int64) if is_int else column
    for name, values in result.metrics.items():
        frame[name] = values[order]
    return frame


def heatmap_matrix(result: SweepResult, x: str, y: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(x values, y values, matrix[y, x]): the objective's metric per (x, y) pair, the mean over the
    other swept parameters' values of its defined values; NaN where no combination was tried (or
    none had a defined value)."""
    metric = OBJECTIVES[result.objective][0]
    column = result.metrics[metric]
    xs, xi = np.unique(result.grid.column(x), return_inverse=True)
    ys, yi = np.unique(result.grid.column(y), return_inverse=True)
    defined = np.isfinite(column)
    sums = np.zeros((ys.size, xs.size))
    counts = np.zeros((ys.size, xs.size))
    np.add.at(sums, (yi[defined], xi[defined]), column[defined])
    np.add.at(counts, (yi[defined], xi[defined]), 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        matrix = np.where(counts > 0, sums / np.maximum(counts, 1.0), np.nan)
    return xs, ys, matrix


def _params(
    result: SweepResult, symbol: str, timeframe: str, heatmap: tuple[str, str] | None
) -> dict[str, Any]:
    grid = result.grid
    return {
        "strategy": grid.strategy,
        "symbol": symbol,
        "timeframe": timeframe,
        "parameters": list(grid.names),
        "fixed_params": dict(grid.fixed),
        "constraints": result.constraints,
        "objective": result.objective,
        "grid_size": grid.grid_size,
        "feasible": grid.feasible,
        "combinations": len(grid),
        "sample": result.sample,
        "seed": result.seed,
        "heatmap": list(heatmap) if heatmap else None,
        **{f"config_{k}": v for k, v in result.config.as_dict().items()},
    }


def _metrics(result: SweepResult) -> dict[str, float]:
    best = {f"best_{k}": float(v) for k, v in result.best.metrics.items() if isinstance(v, int | float)}
    sig = result.significance
    honest = {
        name: float(sig[name])
        for name in ("deflated_sharpe", "psr_vs_zero", "expected_max_sharpe", "trials_sharpe_variance")
        if sig.get(name) is not None
    }
    overfitting = sig.get("overfitting") or {}
    if overfitting.get("pbo") is not None:
        honest["pbo"] = float(overfitting["pbo"])
    return {
        **best,
        **honest,
        "trials": float(sig["trials"]),
        "combinations": float(len(result.grid)),
        "seconds": result.seconds,
    }


def log_sweep(
    tracker: Tracker,
    result: SweepResult,
    *,
    symbol: str,
    timeframe: str,
    version: DataVersion,
    heatmap: tuple[str, str] | None,
) -> str:
    """One MLflow run of the sweep (experiment :data:`EXPERIMENT`); its run id. The benchmark and
    significance blocks' metrics and verdict tags go with the run's other metrics and tags (one
    call each to the tracking store), the blocks as ``honest_results.json``."""
    tags = {"tradeforge.report": "sweep", "tradeforge.strategy": result.grid.strategy, **version.tags()}
    metrics = _metrics(result)
    blocks = None
    if result.benchmark is not None:
        blocks = {"benchmark": result.benchmark, "significance": result.significance}
        tags |= honesty_tags(blocks)
        metrics |= honest_metrics("", blocks)
    table = results_table(result, CSV_MAX_ROWS)
    with tracker.run(EXPERIMENT, f"{result.grid.strategy} {symbol} {timeframe}", tags) as run:
        run.log_params(_params(result, symbol, timeframe, heatmap))
        run.log_metrics(metrics)
        run.log_dict(_best_block(result), "sweep_best.json")
        if blocks is not None:
            run.log_dict(blocks, "honest_results.json")
        run.log_text(table.to_csv(index=False), "sweep_results.csv")
        if len(table) < len(result.grid):
            run.set_tags({"tradeforge.sweep_results_rows": f"best {len(table)} of {len(result.grid)}"})
        if heatmap is not None:
            xs, ys, matrix = heatmap_matrix(result, *heatmap)
            title = f"{result.grid.strategy} on {symbol}: {result.objective}"
            if len(result.grid.names) > 2:
                title += " (mean over the other parameters)"
            figure = heatmap_figure(
                list(xs),
                list(ys),
                matrix,
                title,
                x_label=heatmap[0],
                y_label=heatmap[1],
                value_label=result.objective,
            )
            run.log_figure(figure, "sweep_heatmap.png")
    return run.run_id


def _best_block(result: SweepResult) -> Mapping[str, Any]:
    body = result.as_dict(top=1)
    return {key: body[key] for key in ("best", "significance", "benchmark") if key in body}
