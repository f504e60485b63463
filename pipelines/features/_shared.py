"""Series helpers shared by the indicator modules.

Array helpers (``sma``, ``ema``, ``safe_div``, ``shift``) work on any series and write into ``out``
when given. The ``b``-taking helpers memoize series of the bars (the ATR, the rolling highest high)
for one computation; with ``out`` they land there (see ``BarData.memo_into``). ``out`` must never
alias an input of a kernel (``safe_div`` and numpy ufuncs are element-wise, so they may).
"""

from __future__ import annotations

import numpy as np

from pipelines.features import _bar_kernels as bk
from pipelines.features import _fused_kernels as fk
from pipelines.features import _kernels as k
from pipelines.features import _rolling_kernels as rw
from pipelines.features._kernels import FloatArray
from pipelines.features.inputs import BarData

__all__ = [
    "atr",
    "close_ema",
    "close_mean_std",
    "close_sma",
    "diff",
    "ema",
    "highest",
    "log_prices",
    "lowest",
    "median_price",
    "safe_div",
    "shift",
    "sma",
    "true_range",
    "typical_price",
]


def sma(x: FloatArray, period: int, out: FloatArray | None = None) -> FloatArray:
    return rw.rolling_sum(x, period, 1.0 / period, out)


def ema(x: FloatArray, period: int, out: FloatArray | None = None) -> FloatArray:
    """TA-Lib EMA: k = 2/(n+1), seeded with the SMA of the first n values."""
    return k.ema(x, period, 2.0 / (period + 1), out)


def shift(x: FloatArray, periods: int, out: FloatArray | None = None) -> FloatArray:
    """``x`` delayed by ``periods`` bars (NaN first); it only ever looks back."""
    out = np.empty(x.size) if out is None else out
    p = min(periods, x.size)
    out[:p] = np.nan
    out[p:] = x[: x.size - p]
    return out


def diff(x: FloatArray, out: FloatArray | None = None) -> FloatArray:
    """x[t] - x[t-1], NaN on the first bar."""
    out = np.empty(x.size) if out is None else out
    if x.size:
        out[0] = np.nan
        np.subtract(x[1:], x[:-1], out=out[1:])
    return out


def safe_div(
    num: FloatArray, den: FloatArray, *, zero: float = 0.0, out: FloatArray | None = None
) -> FloatArray:
    """num / den, ``zero`` where den == 0 (TA-Lib's convention), NaN where either is NaN.

    ``out`` may be ``num`` or ``den`` (element-wise). One pass, no temporaries.
    """
    return fk.safe_div(num, den, zero, out)


def _out(size: int, out: FloatArray | None) -> FloatArray:
    return np.empty(size) if out is None else out


def true_range(b: BarData) -> FloatArray:
    """TA-Lib TRANGE: max(high, prev close) - min(low, prev close); NaN on the first bar."""

    return b.memo("true_range", lambda: fk.true_range(b.high, b.low, b.close, np.empty(len(b))))


def atr(b: BarData, period: int, out: FloatArray | None = None) -> FloatArray:
    """TA-Lib ATR: Wilder smoothing (1/n) of the true range seeded with its first n-bar mean."""
    return b.memo_into(
        ("atr", period), lambda o: bk.atr(b.high, b.low, b.close, period, _out(len(b), o)), out
    )


def typical_price(b: BarData) -> FloatArray:
    def make() -> FloatArray:
        out = b.high + b.low
        out += b.close
        out /= 3.0
        return out

    return b.memo("typical_price", make)


def median_price(b: BarData) -> FloatArray:
    def make() -> FloatArray:
        out = b.high + b.low
        out *= 0.5
        return out

    return b.memo("median_price", make)


def close_sma(b: BarData, period: int, out: FloatArray | None = None) -> FloatArray:
    return b.memo_into(("close_sma", period), lambda o: sma(b.close, period, o), out)


def close_ema(b: BarData, period: int, out: FloatArray | None = None) -> FloatArray:
    return b.memo_into(("close_ema", period), lambda o: ema(b.close, period, o), out)


def close_mean_std(b: BarData, period: int, ddof: int = 0) -> tuple[FloatArray, FloatArray]:
    return b.memo(("close_mean_std", period, ddof), lambda: rw.rolling_mean_std(b.close, period, ddof))


def highest(b: BarData, period: int, column: str = "high", out: FloatArray | None = None) -> FloatArray:
    """Rolling max of a bar column over ``period`` bars."""
    return b.memo_into(
        ("max", column, period),
        lambda o: rw.rolling_extreme(getattr(b, column), period, is_max=True, out=o),
        out,
    )


def lowest(b: BarData, period: int, column: str = "low", out: FloatArray | None = None) -> FloatArray:
    """Rolling min of a bar column over ``period`` bars."""
    return b.memo_into(
        ("min", column, period),
        lambda o: rw.rolling_extreme(getattr(b, column), period, is_max=False, out=o),
        out,
    )


def log_prices(b: BarData) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Natural logs of open, high, low, close (range-based volatility estimators use them all)."""

    def make() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(b.open), np.log(b.high), np.log(b.low), np.log(b.close)

    return b.memo("log_prices", make)
