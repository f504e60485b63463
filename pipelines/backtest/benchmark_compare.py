"""A result beside its benchmark: buy and hold of the same symbol over the same bars with the same
costs (the engine's ``buy_and_hold`` strategy, so fills and fees are the engine's own), and
optionally of other symbols over the same period.

Definitions (r = the strategy's bar returns, b = the benchmark's, on their common bars; P = bars
per year of the result's timeframe):

* ``excess_return`` = strategy total return - benchmark total return; ``excess_annual_return`` the
  same of ``annual_return`` (geometric, as ``metrics.py``).
* ``tracking_error`` = std(r - b) * sqrt(P); ``information_ratio`` = mean(r - b) / std(r - b) * sqrt(P).
* ``beta`` = cov(r, b) / var(b); ``alpha`` = (mean(r) - beta * mean(b)) * P (Jensen's alpha, rf = 0,
  annualized arithmetically).

Undefined values (a flat benchmark, fewer than 3 common bars) are None.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.metrics import annual_return
from pipelines.backtest.runner import run_strategy
from pipelines.backtest.significance import bar_returns
from pipelines.errors import InvalidRequestError
from pipelines.features.inputs import utc_nanos

__all__ = [
    "COMPARISON_FIELDS",
    "benchmark_config",
    "benchmark_summary",
    "buy_and_hold_on",
    "verdict",
    "versus",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
COMPARISON_FIELDS = (
    "common_bars",
    "excess_return",
    "excess_annual_return",
    "tracking_error",
    "information_ratio",
    "beta",
    "alpha",
)


def benchmark_config(config: BacktestConfig) -> BacktestConfig:
    """The result's costs and position size with stops off: a benchmark does not trade."""
    return config.with_overrides(stop_loss=None, take_profit=None)


def buy_and_hold_on(bars: pd.DataFrame, timestamps_ns: IntArray, config: BacktestConfig) -> BacktestResult:
    """Buy and hold over the bars of ``bars`` from the result's first to its last timestamp, with
    the result's initial capital and costs."""
    if timestamps_ns.size < 2:
        raise InvalidRequestError("a benchmark needs a result of at least 2 bars")
    ts = utc_nanos(bars["timestamp"])
    keep = (ts >= timestamps_ns[0]) & (ts <= timestamps_ns[-1])
    if int(keep.sum()) < 2:
        raise InvalidRequestError("the benchmark's bars hold fewer than 2 bars of the result's period")
    traded = bars.loc[keep].reset_index(drop=True)
    return run_strategy(traded, "buy_and_hold", {}, benchmark_config(config))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def versus(
    timestamps_ns: IntArray,
    equity: FloatArray,
    bench_timestamps_ns: IntArray,
    bench_equity: FloatArray,
    *,
    per_year: float,
) -> dict[str, Any]:
    """The :data:`COMPARISON_FIELDS` of a curve against a benchmark curve, on their common bars."""
    common, i, j = np.intersect1d(timestamps_ns, bench_timestamps_ns, assume_unique=True, return_indices=True)
    out: dict[str, Any] = dict.fromkeys(COMPARISON_FIELDS)
    out["common_bars"] = int(common.size)
    if common.size < 3:
        return out
    s, b = equity[i], bench_equity[j]
    with np.errstate(divide="ignore", invalid="ignore"):
        return _compared(out, s, b, per_year)


def _compared(out: dict[str, Any], s: FloatArray, b: FloatArray, per_year: float) -> dict[str, Any]:
    """The comparison fields of two aligned curves of at least 3 points (non-finite values: None)."""
    rs, rb = bar_returns(s), bar_returns(b)
    n = rs.size
    out["excess_return"] = float(s[-1] / s[0] - b[-1] / b[0])
    out["excess_annual_return"] = annual_return(float(s[0]), float(s[-1]), n, per_year) - annual_return(
        float(b[0]), float(b[-1]), n, per_year
    )
    active = rs - rb
    te = float(np.std(active, ddof=1))
    out["tracking_error"] = _finite(te * math.sqrt(per_year))
    if te > 0.0:
        out["information_ratio"] = _finite(float(np.mean(active)) / te * math.sqrt(per_year))
    var_b = float(np.var(rb, ddof=1))
    if var_b > 0.0:
        beta = float(np.cov(rs, rb, ddof=1)[0, 1]) / var_b
        out["beta"] = _finite(beta)
        out["alpha"] = _finite((float(np.mean(rs)) - beta * float(np.mean(rb))) * per_year)
    return out


def benchmark_summary(symbol: str, bench: BacktestResult) -> dict[str, Any]:
    """What the benchmark itself did (its own metrics, as ``metrics.py`` defines them)."""
    m = bench.metrics
    return {
        "strategy": "buy_and_hold",
        "symbol": symbol,
        "total_return": m["total_return"],
        "annual_return": m["annual_return"],
        "sharpe_ratio": m["sharpe_ratio"],
        "max_drawdown": m["max_drawdown"],
        "final_equity": bench.final_equity,
    }


def verdict(excess_annual_return: float | None, symbol: str) -> str:
    """One line: did the result beat buy and hold of ``symbol``, by how much a year."""
    if excess_annual_return is None:
        return f"not compared with buy and hold of {symbol}: too few common bars"
    if excess_annual_return > 0.0:
        return f"beat buy and hold of {symbol} by {excess_annual_return:.1%} a year"
    return f"did not beat buy and hold of {symbol} ({-excess_annual_return:.1%} a year behind)"
