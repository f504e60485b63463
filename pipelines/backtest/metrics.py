"""Performance metrics of an equity curve and its trades (the names DESIGN.md fixes).

Definitions (r = bar-to-bar simple returns of the equity curve, P = bars per year, rf = 0):

* ``total_return`` = final / initial - 1; ``annual_return`` = (1 + total_return) ** (P / len(r)) - 1
  (geometric, -1 when equity reaches 0).
* ``volatility`` = std(r, ddof=1) * sqrt(P); ``sharpe_ratio`` = mean(r) / std(r, ddof=1) * sqrt(P);
  ``sortino_ratio`` = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(P) (downside deviation below 0 over
  all bars); ``max_drawdown`` = min(equity / running peak - 1) <= 0; ``calmar_ratio`` =
  annual_return / |max_drawdown|.
* Trades: a trade wins when pnl > 0 and loses when pnl < 0 (a zero pnl is neither);
  ``win_rate`` = winning / num_trades; ``profit_factor`` = gross profit / gross loss; ``avg_win`` and
  ``avg_loss`` are mean pnls in account currency (``avg_loss`` negative); ``avg_trade_duration`` is
  the mean number of bars a position was held (a bar counts when the position was open during part
  of it), ``avg_trade_duration_seconds`` the mean wall-clock time from entry bar to exit bar.
* ``exposure`` = share of bars that close with a position open.

Every undefined value (a ratio over zero: no trades, no losses, a flat curve) is None, never inf or
NaN, so the dict is JSON-safe. A trade still open at the end counts, marked to the last close.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.backtest import _fast
from pipelines.backtest import _kernel as k

__all__ = ["METRIC_NAMES", "annual_return", "compute_metrics", "curve_ratios", "held_bars"]

FloatArray = npt.NDArray[np.float64]
METRIC_NAMES = (
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "volatility",
    "num_trades",
    "win_rate",
    "profit_factor",
    "avg_win",
    "avg_loss",
    "avg_trade_duration",
    "avg_trade_duration_seconds",
    "winning_trades",
    "losing_trades",
    "exposure",
)


def _ratio(num: float, den: float) -> float | None:
    if den == 0.0 or not math.isfinite(num) or not math.isfinite(den):
        return None
    return num / den


def held_bars(trades: FloatArray) -> npt.NDArray[np.int64]:
    """Bars each trade was open in: a signal exit at bar x's open leaves bar x out, a stop in bar x
    or the end of the data counts bar x."""
    entry = trades[:, k.T_ENTRY_IDX].astype(np.int64)
    exit_ = trades[:, k.T_EXIT_IDX].astype(np.int64)
    held: npt.NDArray[np.int64] = exit_ - entry + (trades[:, k.T_REASON] != k.REASON_SIGNAL)
    return held


def annual_return(initial: float, final: float, returns: int, per_year: float) -> float:
    """``annual_return`` of a curve from ``initial`` to ``final`` over ``returns`` bar returns: geometric,
    -1 when equity reaches 0, 0 without a return."""
    if returns <= 0:
        return 0.0
    if final <= 0.0:
        return -1.0
    return float(math.expm1(math.log(final / initial) * per_year / returns))


def curve_ratios(equity: FloatArray, *, per_year: float) -> tuple[float | None, float]:
    """(``sharpe_ratio``, ``max_drawdown``) of an equity curve that starts at its first value, as
    :func:`compute_metrics` defines them (Sharpe None with fewer than 2 returns or no variance;
    drawdown <= 0). The trading analytics use it on daily portfolio values."""
    if equity.size == 0:
        return None, 0.0
    curve = np.ascontiguousarray(equity, dtype=np.float64)
    mean, std, _, max_dd, _ = _fast.curve_stats(curve, np.zeros_like(curve), float(curve[0]))
    sharpe = _ratio(mean, std)
    return (None if sharpe is None else sharpe * math.sqrt(per_year)), min(max_dd, 0.0)


def _curve_metrics(
    equity: FloatArray, position: FloatArray, initial: float, per_year: float
) -> dict[str, Any]:
    final = float(equity[-1]) if equity.size else initial
    total = final / initial - 1.0
    annual = annual_return(initial, final, max(equity.size - 1, 0), per_year)
    mean, std, downside, max_dd, held = _fast.curve_stats(equity, position, initial)
    root = math.sqrt(per_year)
    sharpe = _ratio(mean, std)
    sortino = _ratio(mean, downside)
    calmar = _ratio(annual, abs(max_dd))
    return {
        "total_return": total,
        "annual_return": annual,
        "sharpe_ratio": None if sharpe is None else sharpe * root,
        "sortino_ratio": None if sortino is None else sortino * root,
        "calmar_ratio": calmar,
        "max_drawdown": min(max_dd, 0.0),
        "volatility": std * root if math.isfinite(std) else None,
        "exposure": held / equity.size if equity.size else 0.0,
    }


def _trade_metrics(trades: FloatArray, timestamps_ns: npt.NDArray[np.int64]) -> dict[str, Any]:
    n = int(trades.shape[0])
    wins, win_sum, losses, loss_sum, avg_bars, avg_seconds = _fast.trade_stats(trades, timestamps_ns)
    return {
        "num_trades": n,
        "win_rate": _ratio(float(wins), float(n)),
        "profit_factor": _ratio(win_sum, -loss_sum),
        "avg_win": win_sum / wins if wins else None,
        "avg_loss": loss_sum / losses if losses else None,
        "avg_trade_duration": avg_bars if n else None,
        "avg_trade_duration_seconds": avg_seconds if n else None,
        "winning_trades": int(wins),
        "losing_trades": int(losses),
    }


def compute_metrics(
    equity: FloatArray,
    position: FloatArray,
    trades: FloatArray,
    timestamps_ns: npt.NDArray[np.int64],
    *,
    initial_capital: float,
    bars_per_year: float,
) -> dict[str, Any]:
    """Every metric of :data:`METRIC_NAMES` (see the module docstring), JSON-safe."""
    out: dict[str, Any] = {
        **_curve_metrics(equity, position, initial_capital, bars_per_year),
        **_trade_metrics(trades, timestamps_ns),
    }
    return {name: out[name] for name in METRIC_NAMES}
