"""Independent reference implementations for the feature tests.

Plain Python loops written from the textbook definitions (with TA-Lib's seeding conventions,
which the library promises to follow), deliberately naive: one window at a time, no shared
state with the library. Also the comparison helper every test uses.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

NAN = float("nan")
Series = Sequence[float] | np.ndarray  # a plain list or a float array


def assert_matches(ours: np.ndarray, ref: np.ndarray, *, name: str, rtol: float = 1e-9) -> None:
    """Same NaN pattern, and values within ``rtol`` (plus an absolute slack of rtol times the series
    scale, for values that cross zero)."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    assert ours.shape == ref.shape, f"{name}: shape {ours.shape} != {ref.shape}"
    nan_ours, nan_ref = np.isnan(ours), np.isnan(ref)
    mismatch = np.flatnonzero(nan_ours != nan_ref)
    if mismatch.size:
        row = mismatch[0]
        raise AssertionError(
            f"{name}: NaN pattern differs first at row {row} (ours={ours[row]}, ref={ref[row]}); "
            f"first valid row ours={np.argmax(~nan_ours)} ref={np.argmax(~nan_ref)}"
        )
    assert (~nan_ref).any(), f"{name}: the reference is all NaN, nothing was compared"
    scale = max(1.0, float(np.nanmax(np.abs(ref))))
    np.testing.assert_allclose(ours[~nan_ref], ref[~nan_ref], rtol=rtol, atol=rtol * scale, err_msg=name)


def _first_valid(x: Series) -> int:
    for i, v in enumerate(x):
        if not math.isnan(v):
            return i
    return len(x)


def sma(x: Series, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    s = _first_valid(x)
    for t in range(s + n - 1, len(x)):
        out[t] = sum(x[t - n + 1 : t + 1]) / n
    return out


def ema(x: Series, n: int, alpha: float | None = None) -> np.ndarray:
    """EMA seeded with the SMA of the first n valid values (TA-Lib), k = 2/(n+1) by default."""
    k = 2.0 / (n + 1) if alpha is None else alpha
    out = np.full(len(x), NAN)
    s = _first_valid(x)
    if len(x) - s < n:
        return out
    value = sum(x[s : s + n]) / n
    out[s + n - 1] = value
    for t in range(s + n, len(x)):
        value = value + k * (x[t] - value)
        out[t] = value
    return out


def wma(x: Series, n: int) -> np.ndarray:
    out = np.full(len(x), NAN)
    s = _first_valid(x)
    weights = range(1, n + 1)
    for t in range(s + n - 1, len(x)):
        window = x[t - n + 1 : t + 1]
        out[t] = sum(w * v for w, v in zip(weights, window, strict=True)) / (n * (n + 1) / 2)
    return out


def true_range(high: Series, low: Series, close: Series) -> np.ndarray:
    out = np.full(len(close), NAN)
    for t in range(1, len(close)):
        out[t] = max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
    return out


def wilder(x: Series, n: int) -> np.ndarray:
    """Wilder's smoothing: the mean of the first n valid values, then (prev*(n-1) + x)/n."""
    out = np.full(len(x), NAN)
    s = _first_valid(x)
    if len(x) - s < n:
        return out
    value = sum(x[s : s + n]) / n
    out[s + n - 1] = value
    for t in range(s + n, len(x)):
        value = (value * (n - 1) + x[t]) / n
        out[t] = value
    return out


def atr(high: Series, low: Series, close: Series, n: int) -> np.ndarray:
    return wilder(true_range(high, low, close), n)


def rsi(close: Series, n: int) -> np.ndarray:
    gains = [NAN] + [max(close[t] - close[t - 1], 0.0) for t in range(1, len(close))]
    losses = [NAN] + [max(close[t - 1] - close[t], 0.0) for t in range(1, len(close))]
    avg_gain, avg_loss = wilder(gains, n), wilder(losses, n)
    out = np.full(len(close), NAN)
    for t in range(len(close)):
        if not math.isnan(avg_gain[t]):
            total = avg_gain[t] + avg_loss[t]
            out[t] = 0.0 if total == 0 else 100.0 * avg_gain[t] / total
    return out


def dmi_adx(high: Series, low: Series, close: Series, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(+DI, -DI, ADX) the way TA-Lib seeds Wilder's system.

    +DM/-DM/TR are summed over bars 1..n-1, then smoothed as S = S - S/n + x from bar n on, where
    the DIs start. ADX is the mean of the first n DX values (bars n..2n-1), then Wilder-smoothed.
    """
    size = len(close)
    plus_di, minus_di, adx = (np.full(size, NAN) for _ in range(3))
    s_plus = s_minus = s_tr = 0.0
    dxs: list[float] = []
    adx_value = NAN
    for t in range(1, size):
        up = high[t] - high[t - 1]
        down = low[t - 1] - low[t]
        p_dm = up if (up > down and up > 0) else 0.0
        m_dm = down if (down > up and down > 0) else 0.0
        tr = max(high[t] - low[t], abs(high[t] - close[t - 1]), abs(low[t] - close[t - 1]))
        if t < n:
            s_plus, s_minus, s_tr = s_plus + p_dm, s_minus + m_dm, s_tr + tr
            continue
        s_plus = s_plus - s_plus / n + p_dm
        s_minus = s_minus - s_minus / n + m_dm
        s_tr = s_tr - s_tr / n + tr
        plus_di[t] = 100.0 * s_plus / s_tr
        minus_di[t] = 100.0 * s_minus / s_tr
        dx = 100.0 * abs(plus_di[t] - minus_di[t]) / (plus_di[t] + minus_di[t])
        if t < 2 * n:
            dxs.append(dx)
            if t == 2 * n - 1:
                adx_value = sum(dxs) / n
                adx[t] = adx_value
        else:
            adx_value = (adx_value * (n - 1) + dx) / n
            adx[t] = adx_value
    return plus_di, minus_di, adx


def macd(close: Series, fast: int, slow: int, signal: int) -> tuple[np.ndarray, ...]:
    """TA-Lib MACD: both EMAs start at bar slow-1 (the fast one seeded with the SMA of its last
    ``fast`` closes there); the signal is an SMA-seeded EMA of the line; all NaN before it starts."""
    size = len(close)
    start = slow - 1
    kf, ks, kg = 2.0 / (fast + 1), 2.0 / (slow + 1), 2.0 / (signal + 1)
    e_fast = sum(close[start - fast + 1 : start + 1]) / fast
    e_slow = sum(close[: start + 1]) / slow
    line = np.full(size, NAN)
    line[start] = e_fast - e_slow
    for t in range(start + 1, size):
        e_fast += kf * (close[t] - e_fast)
        e_slow += ks * (close[t] - e_slow)
        line[t] = e_fast - e_slow
    first = start + signal - 1
    sig = np.full(size, NAN)
    value = sum(line[start : first + 1]) / signal
    sig[first] = value
    for t in range(first + 1, size):
        value += kg * (line[t] - value)
        sig[t] = value
    line[:first] = NAN
    return line, sig, line - sig


def bollinger(close: Series, n: int, k: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = len(close)
    upper, middle, lower = (np.full(size, NAN) for _ in range(3))
    for t in range(n - 1, size):
        window = close[t - n + 1 : t + 1]
        mean = sum(window) / n
        std = math.sqrt(sum((v - mean) ** 2 for v in window) / n)
        upper[t], middle[t], lower[t] = mean + k * std, mean, mean - k * std
    return upper, middle, lower


def stoch(
    high: Series, low: Series, close: Series, k_period: int, d_period: int
) -> tuple[np.ndarray, np.ndarray]:
    size = len(close)
    fast = np.full(size, NAN)
    for t in range(k_period - 1, size):
        hh = max(high[t - k_period + 1 : t + 1])
        ll = min(low[t - k_period + 1 : t + 1])
        fast[t] = 0.0 if hh == ll else 100.0 * (close[t] - ll) / (hh - ll)
    slow_k = sma(fast, d_period)
    slow_d = sma(slow_k, d_period)
    slow_k[np.isnan(slow_d)] = NAN
    return slow_k, slow_d


def obv(close: Series, volume: Series) -> np.ndarray:
    out = np.empty(len(close))
    total = volume[0]
    out[0] = total
    for t in range(1, len(close)):
        if close[t] > close[t - 1]:
            total += volume[t]
        elif close[t] < close[t - 1]:
            total -= volume[t]
        out[t] = total
    return out


def vwap(
    day: Sequence[object],
    high: Series,
    low: Series,
    close: Series,
    volume: Series,
) -> np.ndarray:
    out = np.empty(len(close))
    pv = vol = 0.0
    for t in range(len(close)):
        if t == 0 or day[t] != day[t - 1]:
            pv = vol = 0.0
        tp = (high[t] + low[t] + close[t]) / 3.0
        pv += tp * volume[t]
        vol += volume[t]
        out[t] = pv / vol
    return out
