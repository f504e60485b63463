"""Finer synthetic bars inside coarser ones, so that every timeframe is one path.

A day is split into 4h bars, a 4h bar into 1h bars, then 30m, 15m, 5m and 1m (a stock's session
of 390 minutes is cut from its 09:30 open, so its last bar of a level may be shorter). The children
of one parent bar are a conditioned bridge:

* closes: a random walk of Student-t(4) increments (each child's share of the day's variance: flat
  for crypto, U-shaped for a stock's session) pinned to the parent's open and close, its excursions
  above and below them rescaled (at most doubled) to reach 80-100% of the way to the parent's high
  and low;
* the child holding the path's highest (lowest) point gets the parent's high (low); the others the
  extremes of a Brownian bridge over their own open and close, squashed to stay inside the
  parent's; prices are on the tick;
* the parent's volume is split by each child's activity share and noise.

Aggregating the children therefore gives the parent exactly (first open, max high, min low, last
close; volume the sum up to float rounding), whichever level is asked for. The random numbers are
a counter-based hash of (seed, symbol, level, day, child index), so a bar never depends on the
requested range and a coarse request never generates a minute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["LEVELS", "Layout", "layout", "minute_profile", "split"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
LEVELS = (240, 60, 30, 15, 5, 1)  # bar minutes, coarse to fine; each divides the one before
_T_DF = 4.0
_T_SCALE = float(np.sqrt((_T_DF - 2.0) / _T_DF))
_GOLD = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = 4294967296.0
_STREAMS = 8  # hash counters per child: t-increment (2), high and low, volume, the parent's rescale


@dataclass(frozen=True)
class Layout:
    """Where the children of each parent bar of one day lie, and their shares of the day."""

    edges: I64  # child bar starts (minutes after the session open), then the session's end
    first: I64  # per parent: its first child
    count: I64  # per parent: how many children
    var: F64  # per child: its share of the day's variance
    volume: F64  # per child: its share of the day's volume


def minute_profile(stock: bool) -> F64:
    """Relative variance of each minute of a session (U-shape for stocks), summing to 1."""
    if not stock:
        return np.full(1440, 1.0 / 1440)
    t = np.linspace(0.0, 1.0, 390)
    w = 1.0 + 2.5 * (t - 0.5) ** 2 * 4  # open and close about 3.5x as active as midday
    out: F64 = w / w.sum()
    return out


def _edges(n_min: int, step: int) -> I64:
    return np.minimum(np.arange(-(-n_min // step) + 1) * step, n_min).astype(np.int64)


@lru_cache(maxsize=32)
def layout(stock: bool, parent_step: int, child_step: int) -> Layout:
    """Children of ``child_step`` minutes inside parents of ``parent_step`` (0: the whole session)."""
    minutes = minute_profile(stock)
    n_min = minutes.shape[0]
    parent = _edges(n_min, parent_step or n_min)
    child = _edges(n_min, child_step)
    first = np.searchsorted(child[:-1], parent[:-1]).astype(np.int64)
    count = np.diff(np.append(first, child.shape[0] - 1)).astype(np.int64)
    var = np.add.reduceat(minutes, child[:-1])
    volume = var if stock else np.diff(child) / float(n_min)
    return Layout(child, first, count, var, np.asarray(volume, dtype=np.float64))


def split(parent: F64, days: I64, key: int, lay: Layout, sig_day: F64, tick: float) -> F64:
    """The children (5, days * children) of every parent bar (5, days * parents), see the module."""
    return _split(parent, days, np.uint64(key), lay.first, lay.count, lay.var, lay.volume, sig_day, tick)


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
def _normal(key: np.uint64, day: int, counter: int) -> float:
    u1, u2 = _uniforms(key, day, counter)
    return float(np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2))


@njit(cache=True, nogil=True)
def _student(key: np.uint64, day: int, counter: int) -> float:
    """A unit-variance Student-t(4) draw: a normal over sqrt(chi2(4) / 4)."""
    u1, u2 = _uniforms(key, day, counter + 1)
    return _normal(key, day, counter) / math.sqrt(-0.5 * (math.log(u1) + math.log(u2))) * _T_SCALE


@njit(cache=True, nogil=True)
def _on_tick(x: float, tick: float, lo: float, hi: float) -> float:
    return min(max(float(np.round(x / tick)) * tick, lo), hi)


@njit(cache=True, nogil=True)
def _bridge(
    y: F64, key: np.uint64, day: int, c0: int, n: int, var: F64, sig: float, o: float, c: float
) -> None:
    """Log closes y[0..n] from ``o`` to ``c``: t-increments pinned at both ends."""
    x = 0.0
    y[0] = 0.0
    for i in range(n):
        x += _student(key, day, (c0 + i) * _STREAMS) * sig * math.sqrt(var[c0 + i])
        y[i + 1] = x
    miss = x - (c - o)
    total = 0.0
    for i in range(n):
        total += var[c0 + i]
    cum = 0.0
    for i in range(n + 1):
        y[i] = o + y[i] - cum / total * miss
        if i < n:
            cum += var[c0 + i]
    y[0], y[n] = o, c


@njit(cache=True, nogil=True)
def _fit_range(y: F64, n: int, key: np.uint64, day: int, c0: int, high: float, low: float) -> None:
    """Rescale the bridge's excursions beyond its ends (at most doubled) to reach 80-100% of the way
    to ``high`` and ``low``."""
    up, down = max(y[0], y[n]), min(y[0], y[n])
    top, bottom = up, down
    for i in range(1, n):
        top, bottom = max(top, y[i]), min(bottom, y[i])
    ru, rd = _uniforms(key, day, c0 * _STREAMS + 7)
    fu = min(2.0, (0.8 + 0.2 * ru) * (high - up) / (top - up)) if top > up else 0.0
    fd = min(2.0, (0.8 + 0.2 * rd) * (down - low) / (down - bottom)) if bottom < down else 0.0
    for i in range(1, n):
        if y[i] > up:
            y[i] = up + (y[i] - up) * fu
        elif y[i] < down:
            y[i] = down - (down - y[i]) * fd


@njit(cache=True, nogil=True)
def _extreme(o: float, c: float, s: float, u: float, sign: float) -> float:
    """The maximum (sign 1) or minimum (-1) of a Brownian bridge from ``o`` to ``c`` with
    volatility ``s`` (log prices), drawn from the exact distribution by the uniform ``u``."""
    b = c - o
    return o + 0.5 * (b + sign * math.sqrt(b * b - 2.0 * s * s * math.log(u)))


@njit(cache=True, nogil=True)
def _within(m: float, x: float, bound: float) -> float:
    """``x`` beyond ``m`` squashed so that it stays short of ``bound`` (on the same side)."""
    room = bound - m
    if room == 0.0:
        return m
    return m + room * (1.0 - math.exp(-(x - m) / room))


@njit(cache=True, nogil=True)
def _children(
    out: F64, col: int, p: F64, n: int, c0: int, bar: F64, key: np.uint64, day: int, sig: F64, tick: float
) -> None:
    """OHLC of ``n`` children (prices ``p[0..n]``) of the parent ``bar`` from column ``col``, and
    their volume weights; ``sig``: each child's volatility."""
    ih, il = 0, 0
    for i in range(n):
        if max(p[i], p[i + 1]) > max(p[ih], p[ih + 1]):
            ih = i
        if min(p[i], p[i + 1]) < min(p[il], p[il + 1]):
            il = i
    for i in range(n):
        o, c, s, counter = p[i], p[i + 1], sig[c0 + i], (c0 + i) * _STREAMS
        hi, lo = max(o, c), min(o, c)
        out[0, col + i], out[3, col + i] = o, c
        u1, u2 = _uniforms(key, day, counter + 3)
        lo_c, lc = math.log(o), math.log(c)
        up = _within(hi, math.exp(_extreme(lo_c, lc, s, u1, 1.0)), bar[1])
        down = _within(lo, math.exp(_extreme(lo_c, lc, s, u2, -1.0)), bar[2])
        out[1, col + i] = bar[1] if i == ih else _on_tick(up, tick, hi, bar[1])
        out[2, col + i] = bar[2] if i == il else _on_tick(down, tick, bar[2], lo)
        # A weight of the parent's volume: noise only, as a child's volume tied to its own return
        # would tell the bars before it the size of their parent's move.
        out[4, col + i] = math.exp(0.25 * _normal(key, day, counter + 5))


@njit(cache=True, nogil=True)
def _split(
    parent: F64,
    days: I64,
    key: np.uint64,
    first: I64,
    count: I64,
    var: F64,
    volume: F64,
    sig_day: F64,
    tick: float,
) -> F64:
    n_days, n_par, n_child = days.shape[0], first.shape[0], var.shape[0]
    out = np.empty((5, n_days * n_child))
    y = np.empty(int(count.max()) + 1)
    p = np.empty(int(count.max()) + 1)
    sig = np.empty(n_child)
    bar = np.empty(5)
    for d in range(n_days):
        day = int(days[d])
        for i in range(n_child):
            sig[i] = sig_day[d] * np.sqrt(var[i])
        for j in range(n_par):
            k, c0, n = d * n_par + j, int(first[j]), int(count[j])
            col = d * n_child + c0
            for f in range(5):
                bar[f] = parent[f, k]
            if n == 1:
                for f in range(5):
                    out[f, col] = bar[f]
                continue
            _bridge(y, key, day, c0, n, var, sig_day[d], np.log(bar[0]), np.log(bar[3]))
            _fit_range(y, n, key, day, c0, np.log(bar[1]), np.log(bar[2]))
            p[0], p[n] = bar[0], bar[3]
            for i in range(1, n):
                p[i] = _on_tick(np.exp(y[i]), tick, bar[2], bar[1])
            _children(out, col, p, n, c0, bar, key, day, sig, tick)
            for i in range(n):
                out[4, col + i] *= volume[c0 + i]
            _renormalize(out, col, n, bar[4])
    return out


@njit(cache=True, nogil=True)
def _renormalize(out: F64, col: int, n: int, total: float) -> None:
    s = 0.0
    for i in range(n):
        s += out[4, col + i]
    for i in range(n):
        out[4, col + i] *= total / s
