"""Parameter sweeps: one registered strategy over a grid (or a seeded sample of it) of its
parameters on the same bars, every combination's metrics ranked by an objective, with the honest
results of choosing the best of many trials.

``run_sweep`` is a pure function of bars, strategy, grid, config and a progress callback, so every
front end (command line, API, an orchestrator) calls the same thing. ``sma_cross``,
``rsi_reversion`` and ``bollinger_breakout`` run vectorized (:mod:`pipelines.backtest.sweep_fast`):
each indicator once per distinct parameter value, all combinations in one parallel compiled pass
with ``run_backtest``'s fills, costs, sizing, shorting and stops. Any other strategy runs
``run_strategy`` once per combination, at most :data:`FALLBACK_MAX` of them.

The ``significance`` block is the best combination's (``significance.sharpe_significance``) with
``trials`` = the combinations run and their Sharpe ratios' variance, so its ``deflated_sharpe`` is
the deflated Sharpe ratio; ``overfitting`` is the probability of backtest over-fitting by CSCV over
every combination's bar returns, with fewer blocks for very many combinations (bounded work).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest import sweep_fast
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult, bar_arrays
from pipelines.backtest.overfitting import default_partitions, pbo_from_block_sums
from pipelines.backtest.runner import run_strategy, run_strategy_from
from pipelines.backtest.significance import bar_returns, sharpe_significance
from pipelines.backtest.strategies import StrategyContext, get_strategy
from pipelines.backtest.sweep_grid import Constraint, Grid, build_grid
from pipelines.errors import InvalidRequestError
from pipelines.features import BarData
from pipelines.features.inputs import utc_nanos

__all__ = ["FALLBACK_MAX", "OBJECTIVES", "PBO_CELLS", "SweepResult", "run_sweep"]

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[float, str], None]
FALLBACK_MAX = 2_000  # combinations of a strategy without a vectorized sweep (one backtest each)
PBO_CELLS = 1_000_000  # CSCV's work: block combinations x trials at most (fewer blocks beyond)
# Objective -> metric and whether higher is better (drawdowns are <= 0: higher is shallower).
OBJECTIVES: dict[str, tuple[str, bool]] = {
    **{name: (name, True) for name in sweep_fast.SWEEP_METRICS},
    "sharpe": ("sharpe_ratio", True),
    "sortino": ("sortino_ratio", True),
    "calmar": ("calmar_ratio", True),
    "volatility": ("volatility", False),
}


def _silent(_done: float, _text: str) -> None:
    return None


@dataclass(frozen=True)
class SweepResult:
    """Every combination (``grid``) with its ``metrics`` columns, ``order`` ranking them by the
    objective (best first, undefined values last); ``best`` the best one's full backtest."""

    grid: Grid
    metrics: dict[str, FloatArray]
    objective: str
    order: npt.NDArray[np.int64]
    best: BacktestResult
    significance: dict[str, Any]
    seconds: float
    vectorized: bool
    config: BacktestConfig
    sample: int | None = None
    seed: int | None = None
    implied: tuple[Constraint, ...] = field(default=())
    benchmark: dict[str, Any] | None = None  # the best against buy and hold (``honest.honest_sweep``)

    @property
    def constraints(self) -> list[str]:
        """The constraints the combinations met: the strategy's implied ones, then the caller's, each
        once (a caller's constraint that the strategy implies is not listed twice)."""
        return list(dict.fromkeys(str(c) for c in (*self.implied, *self.grid.constraints)))

    def row(self, rank: int) -> dict[str, Any]:
        """The combination ranked ``rank`` (0 = best): its rank, params and metrics."""
        j = int(self.order[rank])
        values = {name: sweep_fast.as_metric(col[j]) for name, col in self.metrics.items()}
        for name in ("num_trades", "winning_trades", "losing_trades"):
            values[name] = int(self.metrics[name][j])
        return {"rank": rank + 1, "params": self.grid.params(j), "metrics": values}

    def top(self, count: int | None = None) -> list[dict[str, Any]]:
        shown = len(self.order) if count is None else min(count, len(self.order))
        return [self.row(r) for r in range(shown)]

    def as_dict(self, top: int | None = 10) -> dict[str, Any]:
        """JSON-safe: the request's shape, the ``top`` combinations, the best's params and metrics,
        the ``significance`` block (deflated Sharpe ratio, PBO) and, once set, the ``benchmark`` block."""
        body: dict[str, Any] = {
            "strategy": self.grid.strategy,
            "parameters": list(self.grid.names),
            "fixed_params": dict(self.grid.fixed),
            "constraints": self.constraints,
            "objective": self.objective,
            "grid_size": self.grid.grid_size,
            "feasible": self.grid.feasible,
            "combinations": len(self.grid),
            "sample": self.sample,
            "seed": self.seed,
            "vectorized": self.vectorized,
            "seconds": self.seconds,
            "config": self.config.as_dict(),
            "best": {
                **self.row(0),
                "final_equity": self.best.final_equity,
                "metrics": dict(self.best.metrics),
            },
            "results": self.top(top),
            "significance": self.significance,
        }
        return body if self.benchmark is None else {**body, "benchmark": self.benchmark}


def _objective(name: str) -> tuple[str, bool]:
    if name not in OBJECTIVES:
        raise InvalidRequestError(
            f"unknown objective {name!r}; choose one of {', '.join(sorted(OBJECTIVES))}"
        )
    return OBJECTIVES[name]


def _rank(column: FloatArray, higher: bool) -> npt.NDArray[np.int64]:
    """Best first; NaN (undefined) last; ties keep grid order."""
    key = np.where(np.isnan(column), np.inf, -column if higher else column)
    order: npt.NDArray[np.int64] = np.argsort(key, kind="stable")
    return order


def _pbo_blocks(returns: int, trials: int) -> tuple[int, int]:
    """(blocks, returns per block) for CSCV: ``default_partitions``, fewer while the block
    combinations times the trials exceed :data:`PBO_CELLS`; (0, 0) when PBO cannot be computed."""
    blocks = default_partitions(returns) if trials >= 2 else None
    if blocks is None:
        return 0, 0
    while blocks > 2 and math.comb(blocks, blocks // 2) * trials > PBO_CELLS:
        blocks -= 2
    return blocks, returns // blocks


def _one(
    bars: pd.DataFrame,
    strategy: str,
    params: dict[str, Any],
    config: BacktestConfig,
    context: StrategyContext | None,
    trade_from: pd.Timestamp | None,
) -> BacktestResult:
    """One combination's full backtest, as ``tradeforge backtest`` runs it."""
    if trade_from is None:
        return run_strategy(bars, strategy, params, config, context)
    return run_strategy_from(bars, trade_from, strategy, params, config, context)


def _fallback(
    bars: pd.DataFrame,
    grid: Grid,
    config: BacktestConfig,
    context: StrategyContext | None,
    progress: Progress,
    trade_from: pd.Timestamp | None,
) -> tuple[dict[str, FloatArray], list[FloatArray]]:
    """One ``run_strategy`` per combination: metric columns and each one's equity curve."""
    if len(grid) > FALLBACK_MAX:
        raise InvalidRequestError(
            f"strategy {grid.strategy!r} has no vectorized sweep; {len(grid):,} combinations are over its "
            f"limit of {FALLBACK_MAX:,}"
        )
    columns: dict[str, list[float]] = {name: [] for name in sweep_fast.SWEEP_METRICS}
    curves = []
    for j in range(len(grid)):
        result = _one(bars, grid.strategy, grid.params(j), config, context, trade_from)
        for name in sweep_fast.SWEEP_METRICS:
            value = result.metrics[name]
            columns[name].append(math.nan if value is None else float(value))
        curves.append(result.equity)
        progress(100.0 * (j + 1) / len(grid), f"{j + 1:,} of {len(grid):,} combinations")
    return {name: np.asarray(v, dtype=np.float64) for name, v in columns.items()}, curves


def _curve_block_sums(curves: Sequence[FloatArray], blocks: tuple[int, int]) -> FloatArray:
    count, size = blocks
    returns = np.column_stack([bar_returns(c) for c in curves])
    r = np.where(np.isfinite(returns), returns, 0.0)[: count * size].reshape(count, size, len(curves))
    return np.concatenate([r.sum(axis=1), (r * r).sum(axis=1)]).T


def _significance(
    metrics: Mapping[str, FloatArray], sums: FloatArray, blocks: tuple[int, int], best: BacktestResult
) -> dict[str, Any]:
    sharpes = metrics["sharpe_ratio"]
    finite = sharpes[np.isfinite(sharpes)]
    trials = int(sharpes.size)
    variance = float(np.var(finite, ddof=1)) if finite.size > 1 else None
    block = sharpe_significance(
        bar_returns(best.equity),
        per_year=best.config.bars_per_year,
        trials=trials,
        trials_sharpe_variance=variance,
    )
    overfitting = None
    if blocks[0]:
        count = blocks[0]
        pbo = pbo_from_block_sums(sums[:, :count].T.copy(), sums[:, count:].T.copy(), blocks[1]).as_dict()
        overfitting = pbo if math.isfinite(pbo["median_logit"]) else {**pbo, "median_logit": None}
    return {**block, "overfitting": overfitting}


def _measure(
    bars: pd.DataFrame,
    spec: Grid,
    config: BacktestConfig,
    context: StrategyContext | None,
    trade_from: pd.Timestamp | None,
    report: Progress,
) -> tuple[dict[str, FloatArray], FloatArray, tuple[int, int]]:
    """(metric columns, CSCV block sums, CSCV blocks) of every combination."""
    data = BarData.from_frame(bars)
    ts, open_, high, low, close = bar_arrays(bars, data)
    start = 0 if trade_from is None else int(np.searchsorted(ts, utc_nanos(pd.Series([trade_from]))[0]))
    if close.size - start < 2:
        raise InvalidRequestError(f"a sweep needs at least 2 bars to trade, got {close.size - start}")
    blocks = _pbo_blocks(close.size - start - 1, len(spec))
    if spec.strategy in sweep_fast.FAST_STRATEGIES:
        metrics, sums = sweep_fast.fast_sweep(
            spec, (open_, high, low, close), data, config, start=start, blocks=blocks, progress=report
        )
        return metrics, sums, blocks
    metrics, curves = _fallback(bars, spec, config, context, report, trade_from)
    sums = _curve_block_sums(curves, blocks) if blocks[0] else np.empty((len(spec), 0))
    return metrics, sums, blocks


def run_sweep(
    bars: pd.DataFrame,
    strategy: str,
    grid: Mapping[str, Any],
    config: BacktestConfig,
    *,
    fixed: Mapping[str, Any] | None = None,
    constraints: Sequence[str | Constraint] = (),
    objective: str = "sharpe_ratio",
    sample: int | None = None,
    seed: int | None = None,
    max_combinations: int = 50_000,
    trade_from: pd.Timestamp | None = None,
    context: StrategyContext | None = None,
    progress: Progress | None = None,
) -> SweepResult:
    """Backtest ``strategy`` on ``bars`` for every combination of ``grid`` (parameter -> values,
    see :mod:`pipelines.backtest.sweep_grid`) that meets ``constraints``, other parameters from
    ``fixed`` or their defaults; ``sample`` combinations drawn with ``seed`` when given; with
    ``trade_from``, indicators warm on the bars before it and trading starts there. Refused
    (``InvalidRequestError``) beyond ``max_combinations``. ``progress(percent, text)`` is told as
    batches finish."""
    started = time.perf_counter()
    report = progress or _silent
    metric, higher = _objective(objective)
    name = get_strategy(strategy).name
    implied = sweep_fast.IMPLIED.get(name, ())
    spec = build_grid(
        name,
        grid,
        fixed=fixed,
        constraints=(*implied, *constraints),
        sample=sample,
        seed=seed,
        max_combinations=max_combinations,
    )
    spec = replace(spec, constraints=spec.constraints[len(implied) :])  # the caller's alone
    metrics, sums, blocks = _measure(bars, spec, config, context, trade_from, report)
    order = _rank(metrics[metric], higher)
    report(100.0, "the best combination's backtest and significance")
    best = _one(bars, name, spec.params(int(order[0])), config, context, trade_from)
    significance = _significance(metrics, sums, blocks, best)
    seconds = time.perf_counter() - started
    vectorized = name in sweep_fast.FAST_STRATEGIES
    return SweepResult(
        spec,
        metrics,
        objective,
        order,
        best,
        significance,
        seconds,
        vectorized,
        config,
        sample,
        seed,
        implied,
    )
