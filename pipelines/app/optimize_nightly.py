"""The nightly re-optimization of the rule-based strategies (the ``strategy_optimizations`` asset):
each strategy's usual ranges searched on a universe symbol's stored daily bars, logged to MLflow like
any optimization, so a drift of the best parameters (or of their out-of-sample result) shows night
after night."""

from __future__ import annotations

from typing import Any

from pipelines.app.backtest import AnalysisAnswer
from pipelines.app.optimize import run_optimize_query
from pipelines.app.optimize_plan import OptimizeQuery
from pipelines.models.tracking import Tracker
from pipelines.settings import Settings

__all__ = ["NIGHTLY_SEARCHES", "NIGHTLY_TRIALS", "nightly_optimization", "nightly_summary"]

# strategy -> (its searched ranges, the constraints between them)
NIGHTLY_SEARCHES: dict[str, tuple[dict[str, str], list[str]]] = {
    "sma_cross": ({"fast": "5:50", "slow": "20:200:5"}, ["fast < slow"]),
    "rsi_reversion": (
        {"period": "5:30", "oversold": "15:40:5", "overbought": "60:85:5"},
        ["oversold < overbought"],
    ),
    "bollinger_breakout": ({"period": "10:50", "nbdev": "1.0:3.0:0.25"}, []),
}
NIGHTLY_TRIALS = 100


def nightly_optimization(
    settings: Settings,
    strategy: str,
    symbol: str,
    source: str,
    timeframe: str = "1d",
    *,
    tracker: Tracker | None = None,
    trials: int = NIGHTLY_TRIALS,
) -> AnalysisAnswer:
    """A fresh (unnamed) search of ``strategy``'s usual ranges over ``symbol``'s bars from the
    history start to now: each night's split moves with the new bars, so nothing is resumed."""
    ranges, constraints = NIGHTLY_SEARCHES[strategy]
    query = OptimizeQuery(
        strategy=strategy,
        symbol=symbol,
        grid=ranges,
        constraints=constraints,
        trials=trials,
        timeframe=timeframe,
        source=source,
    )
    return run_optimize_query(settings, query, tracker=tracker)


def nightly_summary(body: dict[str, Any]) -> dict[str, Any]:
    """What the asset records of a search: the best parameters, their Sharpe ratios in and out of
    sample, the deflated Sharpe ratio, PBO, the probabilistic Sharpe ratio against buy and hold's, the
    best against buy and hold out of sample (excess return a year, information ratio, beta, alpha,
    ``verdict``) and in sample (``verdict_in_sample``), and the MLflow run."""
    sig, bench, inside = body["significance"], body["benchmark"], body["benchmark_in_sample"]
    overfitting = sig.get("overfitting") or {}
    summary: dict[str, Any] = {
        "best_params": body["best_params"],
        "objective": body["objective"],
        "best_value": body["best_value"],
        "in_sample_sharpe": body["in_sample"].get("sharpe_ratio"),
        "out_of_sample_sharpe": body["out_of_sample"].get("sharpe_ratio"),
        "deflated_sharpe": sig.get("deflated_sharpe"),
        "pbo": overfitting.get("pbo"),
        "trials_complete": body["trials_complete"],
        "psr_vs_benchmark": sig.get("psr_vs_benchmark"),
        "benchmark_sharpe": bench.get("sharpe_ratio"),
        "excess_annual_return": bench.get("excess_annual_return"),
        "information_ratio": bench.get("information_ratio"),
        "beta": bench.get("beta"),
        "alpha": bench.get("alpha"),
        "verdict": bench["verdict"],
        "verdict_in_sample": inside["verdict"],
        "mlflow_run_id": body["mlflow_run_id"],
    }
    return {k: v for k, v in summary.items() if v is not None}
