"""The answer of ``POST /api/v1/backtest/optimize`` (``pipelines.app.optimize``)."""

from __future__ import annotations

from typing import Any, Literal

from msgspec import UNSET, UnsetType

from serving.responses import Num, Shape
from serving.responses.honest import Benchmark, Significance
from serving.responses.trading import Metrics, Period, TradingConfig

__all__ = ["OptimizeResult", "OptimizeSplit", "OptimizeTrial", "TrustLine"]


class OptimizeSplit(Shape):
    """The search window (the bars before the held-out tail) and the tail the best was traded on."""

    search_start: str
    search_end: str
    holdout_start: str
    holdout_end: str
    search_bars: int
    holdout_bars: int


class OptimizeTrial(Shape):
    """One trial of the study: ``complete`` (``value`` is its objective), ``pruned`` (stopped half
    way, or ``note`` says which constraint it broke) or ``fail`` (``note``: why it has no value)."""

    number: int
    state: str
    params: dict[str, Any]
    value: Num
    note: str | UnsetType = UNSET


class TrustLine(Shape):
    """One line of "how much to trust this"."""

    label: str
    text: str


class OptimizeResult(Shape):
    """The best parameters of the search, their metrics in sample (the search window) and out of
    sample (the held-out tail), the trial counts of the study (a resumed study counts all its trials),
    ``benchmark``: the tail against buy and hold, ``benchmark_in_sample``: the search window against
    buy and hold (both with the request's costs), ``significance``: the best in-sample Sharpe ratio
    deflated by the completed trials, with the probability of backtest over-fitting; ``heatmap``: the
    two parameters of the heat map logged with the MLflow run ``mlflow_run_id``."""

    symbol: str
    timeframe: str
    source: str
    period: Period
    strategy: str
    objective: str
    study_name: str | None
    fixed: dict[str, Any]
    config: TradingConfig
    best_params: dict[str, Any]
    best_value: float
    in_sample: Metrics
    out_of_sample: Metrics
    split: OptimizeSplit
    trials_total: int
    trials_complete: int
    trials_pruned: int
    trials_skipped: int
    trials_failed: int
    trials: list[OptimizeTrial]
    benchmark: Benchmark
    benchmark_in_sample: Benchmark
    significance: Significance
    trust: list[TrustLine]
    heatmap: list[str] | None
    mlflow_run_id: str
    status: Literal["success"]
