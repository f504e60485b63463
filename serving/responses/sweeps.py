"""The answer of a parameter sweep (``/api/v1/backtest/sweep``)."""

from __future__ import annotations

from typing import Any, Literal

from serving.responses import Num, Shape
from serving.responses.honest import Benchmark, Significance
from serving.responses.optimize import TrustLine
from serving.responses.trading import Metrics, Period, TradingConfig

__all__ = ["SweepAnswer", "SweepBest", "SweepHeatmap", "SweepMetrics", "SweepRow"]


class SweepMetrics(Shape):
    """The metrics every combination gets (a backtest's, less the trade averages); undefined ratios
    are null."""

    total_return: Num
    annual_return: Num
    sharpe_ratio: Num
    sortino_ratio: Num
    calmar_ratio: Num
    max_drawdown: Num
    volatility: Num
    num_trades: int
    win_rate: Num
    profit_factor: Num
    winning_trades: int
    losing_trades: int
    exposure: Num


class SweepRow(Shape):
    """One combination: its ``rank`` by the objective (1 = best), every parameter (swept and fixed)
    and its metrics."""

    rank: int
    params: dict[str, Any]
    metrics: SweepMetrics


class SweepBest(Shape):
    """The best combination, backtested in full as ``/api/v1/backtest/run`` would: every metric."""

    rank: int
    params: dict[str, Any]
    metrics: Metrics
    final_equity: float


class SweepHeatmap(Shape):
    """The swept parameters of the MLflow run's heat map (``sweep_heatmap.png``): the objective over
    ``x`` and ``y``, the ``aggregate`` over the other swept parameters."""

    x: str
    y: str
    aggregate: Literal["mean"]


class SweepAnswer(Shape, kw_only=True):
    """``results``: the best ``top`` combinations, best first (``results_truncated`` when there were
    more; every one is in the MLflow run ``mlflow_run_id`` as ``sweep_results.csv``). ``significance``:
    the best's Sharpe ratio deflated by ``trials`` (every combination run) and, in ``overfitting``, the
    probability of backtest over-fitting of choosing the best, and its probabilistic Sharpe ratio against
    buy and hold's; ``benchmark``: the best against buy and hold of the symbol (and of the settings'
    benchmark symbol) over the bars it traded, with its costs; ``trust``: "how much to trust this" as
    lines. ``constraints`` include those the
    strategy implies; ``grid_size`` counts the full product, ``feasible`` those within the
    constraints, ``combinations`` those run (a ``sample`` of them when given)."""

    symbol: str
    timeframe: str
    period: Period
    strategy: str
    parameters: list[str]
    fixed_params: dict[str, Any]
    constraints: list[str]
    objective: str
    grid_size: int
    feasible: int
    combinations: int
    sample: int | None
    seed: int | None
    vectorized: bool
    seconds: float
    config: TradingConfig
    best: SweepBest
    results: list[SweepRow]
    results_total: int
    results_truncated: bool
    significance: Significance
    heatmap: SweepHeatmap | None
    benchmark: Benchmark
    trust: list[TrustLine]
    mlflow_run_id: str
    status: Literal["success"]
