"""Synthetic bars of any size as aggregates of one 1-minute path per day.

Each day's session (1440 minutes for crypto, 390 for a stock from its 09:30 open) gets one log-price
path: independent Gaussian minute increments, each with its share of the day's variance (flat for
crypto, U-shaped for a stock), conditioned exactly on summing to the day's open-to-close return
(a Brownian bridge). A minute's high and low are the extremes of a Brownian bridge over its own
open and close, its volume a share of the day's volume by the time-of-day profile times noise.

Every bar of a request is aggregated from these minutes (first open, max high, min low, last close,
volume summed) inside one numba loop, so every timeframe is one market and a coarse request never
allocates the minutes. The random numbers are a counter-based hash of (seed, symbol, day, minute),
so a bar depends on neither the requested range nor the timeframe.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["bucket_edges", "minute_bars", "minute_profile"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = 4294967296.0
_ATTEMPT = 2048  # hash counter step between a minute pair's attempts at its normals
# A uniform u >= 0.5 / 2**32, so -log(u) <= 33 log 2 and a minute's excursion beyond its open and
# close is at most sqrt(-log(u) / 2) < 3.4 of its volatility: minutes further below their bar's
# highest close cannot hold its high and skip the draw.
_EXCURSION = 3.5


def minute_profile(stock: bool) -> F64:
    """Relative variance of each minute of a session (U-shape for stocks), summing to 1."""
    if not stock:
        return np.full(1440, 1.0 / 1440)
    t = np.linspace(0.0, 1.0, 390)
    w = 1.0 + 2.5 * (t - 0.5) ** 2 * 4  # open and close about 3.5x as active as midday
    out: F64 = w / w.sum()
    return out


@lru_cache(maxsize=32)
def bucket_edges(stock: bool, minutes: int) -> I64:
    """Bar starts (minutes after the session open) and the session's end; 0: the whole session.

    A stock's last bar of a level may be shorter (e.g. 15:30-16:00 for 1h)."""
    n_min = 390 if stock else 1440
    step = minutes or n_min
    return np.minimum(np.arange(-(-n_min // step) + 1) * step, n_min).astype(np.int64)


def minute_bars(
    days: I64,
    open_log: F64,
    close_log: F64,
    sigma: F64,
    volume: F64,
    key: int,
    stock: bool,
    minutes: int,
    tick: float,
) -> F64:
    """OHLCV (5, days * bars) of the ``minutes``-long bars (0: one per day) of each day.

    ``days``: day numbers (the hash input); ``open_log``/``close_log``: the session's log open and
    close; ``sigma``: its open-to-close volatility; ``volume``: its total volume."""
    var = minute_profile(stock)
    return _bars(
        days, open_log, close_log, sigma, volume, np.uint64(key), var, var, bucket_edges(stock, minutes), tick
    )


@njit(cache=True, nogil=True)
def _mix(z: np.uint64) -> np.uint64:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, nogil=True)
def _uniforms(key: np.uint64, day: int, counter: int) -> tuple[float, float]:
    """Two independent uniforms in (0, 1) for (key, day, counter)."""
    h = _mix(key ^ _mix(np.uint64(day) * _GOLD + np.uint64(counter)))
    return (float(h >> np.uint64(32)) + 0.5) / _TWO32, (float(h & _LOW32) + 0.5) / _TWO32


@njit(cache=True, nogil=True)
def _bridge(y: F64, key: np.uint64, day: int, sd: F64, var: F64, o: float, c: float) -> None:
    """The log path y[0..n] from ``o`` to ``c``: Gaussian increments z_i (sd ``sd[i]``) minus
    their share ``var[i]`` of the miss, the exact conditional of z given its sum."""
    n = sd.shape[0]
    total_z, total_v = 0.0, 0.0
    for i in range(0, n, 2):  # Marsaglia's polar method: two normals per accepted pair
        k, q, a, b = 0, 0.0, 0.0, 0.0
        while q <= 0.0 or q >= 1.0:
            u1, u2 = _uniforms(key, day, i + _ATTEMPT * k)
            a, b, k = 2.0 * u1 - 1.0, 2.0 * u2 - 1.0, k + 1
            q = a * a + b * b
        f = math.sqrt(-2.0 * math.log(q) / q)
        y[i + 1] = a * f * sd[i]
        total_z += y[i + 1]
        if i + 1 < n:
            y[i + 2] = b * f * sd[i + 1]
            total_z += y[i + 2]
    for i in range(n):
        total_v += var[i]
    miss = (total_z - (c - o)) / total_v
    y[0] = o
    for i in range(n):
        y[i + 1] = y[i] + y[i + 1] - var[i] * miss
    y[n] = c


@njit(cache=True, nogil=True)
def _weights(w: F64, key: np.uint64, day: int, profile: F64) -> float:
    """Each minute's volume weight (profile times noise in [0.25, 1.75)); returns their sum."""
    n, total = profile.shape[0], 0.0
    for i in range(0, n, 2):
        u1, u2 = _uniforms(key, day, i)
        w[i] = profile[i] * (0.25 + 1.5 * u1)
        total += w[i]
        if i + 1 < n:
            w[i + 1] = profile[i + 1] * (0.25 + 1.5 * u2)
            total += w[i + 1]
    return total


@njit(cache=True, nogil=True)
def _price(x: float, tick: float) -> float:
    # Ticks are powers of ten: dividing by their whole inverse gives the double nearest the decimal
    # price (19712.51, where multiplying by 0.01 gives 19712.510000000002).
    return float(np.round(math.exp(x) / tick)) / float(np.round(1.0 / tick))


@njit(cache=True, nogil=True)
def _bucket(
    out: F64, col: int, y: F64, w: F64, a0: int, a1: int, sd: F64, key: np.uint64, day: int, tick: float
) -> float:
    """OHLC of the minutes [a0, a1) into column ``col``; returns their volume weight.

    A minute's high (low) is the maximum (minimum) of a Brownian bridge over its open and close,
    drawn exactly; only minutes that can beat the bucket's highest (lowest) close draw it."""
    top, bottom, weight = -np.inf, np.inf, 0.0
    for i in range(a0, a1):
        top, bottom = max(top, y[i], y[i + 1]), min(bottom, y[i], y[i + 1])
        weight += w[i]
    high, low = top, bottom
    for i in range(a0, a1):
        o, c, bound = y[i], y[i + 1], _EXCURSION * sd[i]
        up, down = max(o, c) + bound > high, min(o, c) - bound < low
        if not (up or down):
            continue
        u1, u2 = _uniforms(key, day, i)
        b, s2 = c - o, 2.0 * sd[i] * sd[i]
        if up:
            high = max(high, o + 0.5 * (b + math.sqrt(b * b - s2 * math.log(u1))))
        if down:
            low = min(low, o + 0.5 * (b - math.sqrt(b * b - s2 * math.log(u2))))
    out[0, col], out[1, col] = _price(y[a0], tick), _price(high, tick)
    out[2, col], out[3, col] = _price(low, tick), _price(y[a1], tick)
    return weight


@njit(cache=True, nogil=True)
def _bars(
    days: I64,
    open_log: F64,
    close_log: F64,
    sigma: F64,
    volume: F64,
    key: np.uint64,
    var: F64,
    profile: F64,
    edges: I64,
    tick: float,
) -> F64:
    n_days, n, nb = days.shape[0], var.shape[0], edges.shape[0] - 1
    out = np.empty((5, n_days * nb))
    y, w, sd, unit = np.empty(n + 1), np.zeros(n), np.empty(n), np.sqrt(var)
    key_volume, key_range = _mix(key + np.uint64(1)), _mix(key + np.uint64(2))
    for d in range(n_days):
        day = int(days[d])
        for i in range(n):
            sd[i] = sigma[d] * unit[i]
        _bridge(y, key, day, sd, var, open_log[d], close_log[d])
        # One bar a day holds the day's volume: no need for the minutes' shares.
        total = _weights(w, key_volume, day, profile) if nb > 1 else 1.0
        for b in range(nb):
            col = d * nb + b
            weight = _bucket(out, col, y, w, int(edges[b]), int(edges[b + 1]), sd, key_range, day, tick)
            out[4, col] = volume[d] * weight / total if nb > 1 else volume[d]
    return out
