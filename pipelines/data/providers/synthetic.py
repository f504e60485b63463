"""The embedded default provider: deterministic synthetic bars, no network.

Bars depend only on (symbol, seed, timeframe, bar time), never on the requested range, so an
incremental ingest stitches seamlessly onto an earlier one. Construction:

* a daily log-price path from a fixed anchor (1990-01-01): GARCH(1,1) variance with standardized
  Student-t(4) shocks (fat tails, volatility clustering) and a slow pull towards the symbol's base
  price (plausible levels over decades); stocks have an overnight gap, crypto trades 24/7;
* intraday bars inside each day as a Brownian bridge of t-distributed increments pinned to that
  day's open and close, so daily closes agree across timeframes; stock sessions run 09:30-16:00
  New York on NYSE trading days with a U-shaped intraday volatility and volume profile;
* high/low extend beyond open/close by a half-normal multiple of the bar's volatility (valid OHLC);
  volume grows with the bar's absolute return.

Only closed bars are returned (a bar whose end lies after ``now`` does not exist yet).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit

from pipelines.data.calendar import nyse_holidays
from pipelines.data.schema import empty_bars, with_labels
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import InvalidRequestError

__all__ = ["SyntheticProvider"]

F64 = npt.NDArray[np.float64]
ANCHOR = np.datetime64("1990-01-01", "D")
HORIZON = np.datetime64("2061-01-01", "D")
_T_DF = 4.0
_T_SCALE = float(np.sqrt((_T_DF - 2.0) / _T_DF))  # makes t(4) draws unit-variance
_SESSION_MINUTES = 390
_GAP_SHARE = 0.2  # share of a stock's daily variance that arrives overnight

# Plausible levels for well-known names; others get a level derived from the symbol's hash.
_KNOWN: dict[str, tuple[float, float, float]] = {  # base price, annual vol, daily volume
    "AAPL": (120.0, 0.28, 9.0e7),
    "MSFT": (220.0, 0.26, 3.0e7),
    "GOOG": (110.0, 0.30, 2.5e7),
    "AMZN": (130.0, 0.33, 5.0e7),
    "SPY": (380.0, 0.17, 8.0e7),
    "QQQ": (300.0, 0.22, 5.0e7),
    "^GSPC": (3800.0, 0.17, 3.5e9),
    "BTC/USDT": (30000.0, 0.65, 4.0e4),
    "ETH/USDT": (2000.0, 0.80, 4.5e5),
    "SOL/USDT": (60.0, 1.00, 3.0e6),
}


@dataclass(frozen=True, slots=True)
class _Profile:
    base_price: float
    annual_vol: float
    daily_volume: float

    @property
    def tick(self) -> float:
        """Price increment: a cent for prices above 1, five significant digits below."""
        if self.base_price >= 1.0:
            return 0.01
        return float(10 ** (np.floor(np.log10(self.base_price)) - 4))


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _profile(symbol: Symbol) -> _Profile:
    if symbol.name in _KNOWN:
        return _Profile(*_KNOWN[symbol.name])
    u = (_key(symbol.name) % 10_000) / 10_000.0
    if symbol.is_crypto:
        return _Profile(float(10 ** (-1 + 4 * u)), 0.6 + 0.5 * u, 1.0e6 * (1 + 9 * u))
    return _Profile(float(10 ** (1 + 2.3 * u)), 0.18 + 0.25 * u, 1.0e6 * (1 + 50 * u))


@njit(cache=True, nogil=True)
def _garch_path(
    z: F64, zg: F64, omega: float, alpha: float, beta: float, x0: float, kappa: float, gap_share: float
) -> tuple[F64, F64, F64]:
    n = z.shape[0]
    logp = np.empty(n)
    gap = np.empty(n)
    sig = np.empty(n)
    h = omega / (1.0 - alpha - beta)
    eps = 0.0
    x = x0
    for d in range(n):
        h = omega + alpha * eps * eps + beta * h
        s = np.sqrt(h)
        eps = s * z[d]
        g = np.sqrt(gap_share) * s * zg[d]
        x_new = x + eps - kappa * (x - x0) - 0.5 * h
        gap[d] = g
        sig[d] = s
        logp[d] = x_new
        x = x_new
    return logp, gap, sig


@dataclass(frozen=True)
class _DailyPath:
    days: npt.NDArray[np.datetime64]  # trading days (datetime64[D])
    logp: F64  # log close of each day
    gap: F64  # overnight log gap into each day's open
    sigma: F64  # each day's conditional volatility
    noise: F64  # (3, days) standard normals for each day's high, low and volume
    profile: _Profile


@lru_cache(maxsize=64)
def _daily_path(symbol: Symbol, seed: int) -> _DailyPath:
    profile = _profile(symbol)
    if symbol.is_crypto:
        days = np.arange(ANCHOR, HORIZON, dtype="datetime64[D]")
        per_year, gap_share = 365.0, 0.0
    else:
        holidays = nyse_holidays()
        n = int(np.busday_count(ANCHOR, HORIZON, holidays=holidays))
        days = np.busday_offset(ANCHOR, np.arange(n), roll="forward", holidays=holidays)
        per_year, gap_share = 252.0, _GAP_SHARE
    rng = np.random.default_rng([seed, _key(symbol.name), 0])
    z = rng.standard_t(_T_DF, size=days.shape[0]) * _T_SCALE
    zg = rng.standard_t(_T_DF, size=days.shape[0]) * _T_SCALE
    daily_var = profile.annual_vol**2 / per_year
    alpha, beta = 0.08, 0.90
    logp, gap, sigma = _garch_path(
        z,
        zg,
        daily_var * (1 - alpha - beta),
        alpha,
        beta,
        float(np.log(profile.base_price)),
        1 / 750,
        gap_share,
    )
    noise = rng.standard_normal((3, days.shape[0]))
    return _DailyPath(days, logp, gap if not symbol.is_crypto else np.zeros_like(gap), sigma, noise, profile)


def _minute_profile(stock: bool) -> F64:
    """Relative variance of each minute of a session (U-shape for stocks), summing to 1."""
    if not stock:
        return np.full(1440, 1.0 / 1440)
    t = np.linspace(0.0, 1.0, _SESSION_MINUTES)
    w = 1.0 + 2.5 * (t - 0.5) ** 2 * 4  # open and close about 3.5x as active as midday
    out: F64 = w / w.sum()
    return out


class SyntheticProvider:
    """Deterministic synthetic bars for any well-formed stock or crypto symbol."""

    name = "synthetic"

    def __init__(self, seed: int = 42, *, now: Callable[[], pd.Timestamp] | None = None) -> None:
        self.seed = int(seed)
        self._now = now or (lambda: pd.Timestamp.now(tz="UTC"))

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        start, end = pd.Timestamp(start), pd.Timestamp(end)
        if start.tzinfo is None or end.tzinfo is None:
            raise InvalidRequestError("start and end must be timezone-aware (UTC)")
        now = self._now()
        end = min(end, now, pd.Timestamp(HORIZON, tz="UTC"))
        start = max(start, pd.Timestamp(ANCHOR, tz="UTC") + pd.Timedelta(days=1))
        if start >= end:
            return empty_bars()
        path = _daily_path(symbol, self.seed)
        if timeframe.is_intraday:
            frame = self._intraday(symbol, timeframe, path, start, end)
        else:
            frame = self._daily(path, start - pd.Timedelta(days=35), end)
            if timeframe.name != "1d":
                frame = _aggregate(frame, timeframe)
        ts = frame["timestamp"].to_numpy(dtype="datetime64[ns]").view("i8")
        closes = ts + _bar_nanos(frame["timestamp"], timeframe)
        lo = int(np.searchsorted(ts, start.value, side="left"))
        hi = min(
            int(np.searchsorted(ts, end.value, side="left")), int(np.searchsorted(closes, now.value, "right"))
        )
        out = frame.iloc[lo : max(lo, hi)].reset_index(drop=True)
        return with_labels(out, symbol=symbol.name, timeframe=timeframe.name, source=self.name)

    # -- daily ---------------------------------------------------------------------------------
    def _daily(self, path: _DailyPath, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        lo = int(np.searchsorted(path.days, np.datetime64(start.date(), "D"), side="left"))
        hi = int(np.searchsorted(path.days, np.datetime64(end.date(), "D"), side="right"))
        lo = max(lo, 1)
        idx = np.arange(lo, hi)
        close = np.exp(path.logp[idx])
        open_ = np.exp(path.logp[idx - 1] + path.gap[idx])
        sig = path.sigma[idx]
        noise = path.noise[:, idx]
        high = np.maximum(open_, close) * np.exp(np.abs(noise[0]) * sig * 0.5)
        low = np.minimum(open_, close) * np.exp(-np.abs(noise[1]) * sig * 0.5)
        ret = np.abs(path.logp[idx] - path.logp[idx - 1])
        volume = path.profile.daily_volume * np.exp(0.25 * noise[2]) * (0.5 + ret / sig)
        ts = path.days[idx].astype("datetime64[ns]").view("i8")
        tick = path.profile.tick
        prices = np.round(np.vstack([open_, high, low, close]) / tick) * tick
        return _frame(ts, np.vstack([prices, np.round(volume, 4)[None, :]]))

    # -- intraday ------------------------------------------------------------------------------
    def _intraday(
        self, symbol: Symbol, timeframe: Timeframe, path: _DailyPath, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        lo = int(np.searchsorted(path.days, np.datetime64((start - pd.Timedelta(days=1)).date(), "D")))
        hi = int(np.searchsorted(path.days, np.datetime64(end.date(), "D"), side="right"))
        lo = max(lo, 1)
        idx = np.arange(lo, hi)
        if idx.size == 0:
            return empty_bars()
        stock = not symbol.is_crypto
        minutes = _minute_profile(stock)
        step = timeframe.minutes
        n_min = minutes.shape[0]
        n = -(-n_min // step)
        edges = np.minimum(np.arange(n + 1) * step, n_min)
        bar_var = np.add.reduceat(minutes, edges[:-1])  # share of the day's variance per bar
        bar_w = np.sqrt(bar_var)
        bar_len = np.diff(edges).astype(np.float64)
        # Per-day draws from a generator keyed by the day: independent of the requested range.
        key = _key(symbol.name)
        draws = np.empty((idx.shape[0], 4, n))
        for row, d in enumerate(idx):
            rng = np.random.Generator(np.random.PCG64([self.seed, key, timeframe.seconds, int(d)]))
            draws[row, 0] = rng.standard_t(_T_DF, n)
            draws[row, 1:] = rng.standard_normal((3, n))
        sig_day = path.sigma[idx] * np.sqrt(1.0 - (_GAP_SHARE if stock else 0.0))
        open_log = path.logp[idx - 1] + path.gap[idx]
        target = path.logp[idx] - open_log
        vol_share = bar_var if stock else bar_len / bar_len.sum()
        day_volume = path.profile.daily_volume * (0.5 + np.abs(target) / np.maximum(sig_day, 1e-12))
        block = _intraday_kernel(
            open_log, target, sig_day, bar_var, bar_w, vol_share, day_volume, draws, path.profile.tick
        )
        day_start = path.days[idx].astype("datetime64[ns]")
        if stock:
            local = pd.DatetimeIndex(day_start) + pd.Timedelta(hours=9, minutes=30)
            open_ns = local.tz_localize("America/New_York").tz_convert("UTC").asi8
        else:
            open_ns = day_start.view("i8")
        ts = (open_ns[:, None] + (edges[:-1] * 60_000_000_000)[None, :]).ravel()
        return _frame(ts, block)


@njit(cache=True, nogil=True)
def _intraday_kernel(
    open_log: F64,
    target: F64,
    sig_day: F64,
    bar_var: F64,
    bar_w: F64,
    vol_share: F64,
    day_volume: F64,
    draws: npt.NDArray[np.float64],
    tick: float,
) -> F64:
    """OHLCV of every bar of every day, as a (5, days * bars) block (one row per column).

    Prices are rounded to ``tick``; rounding is monotonic, so high >= max(open, close) survives it.
    """
    days, _, n = draws.shape
    out = np.empty((5, days * n))
    cum_var = np.cumsum(bar_var)
    for d in range(days):
        base = d * n
        x = 0.0
        for i in range(n):
            x += draws[d, 0, i] * _T_SCALE * sig_day[d] * bar_w[i]
            out[3, base + i] = x
        miss = x - target[d]
        prev = np.exp(open_log[d])
        for i in range(n):
            s = sig_day[d] * bar_w[i]
            c = np.exp(open_log[d] + out[3, base + i] - cum_var[i] * miss)
            o = prev
            hi = o if o > c else c
            lo = c if o > c else o
            out[0, base + i] = np.round(o / tick) * tick
            out[1, base + i] = np.round(hi * np.exp(abs(draws[d, 1, i]) * s * 0.5) / tick) * tick
            out[2, base + i] = np.round(lo * np.exp(-abs(draws[d, 2, i]) * s * 0.5) / tick) * tick
            out[3, base + i] = np.round(c / tick) * tick
            r = abs(np.log(c / o)) / max(s, 1e-12)
            v = day_volume[d] * vol_share[i] * np.exp(0.25 * draws[d, 3, i]) * (0.5 + r)
            out[4, base + i] = np.round(v, 4)
            prev = c
    return out


def _frame(ts: npt.NDArray[np.int64], block: F64) -> pd.DataFrame:
    """A bars frame over ``block`` (rows open..volume) without copying it."""
    frame = pd.DataFrame(block.T, columns=["open", "high", "low", "close", "volume"], copy=False)
    frame.insert(0, "timestamp", pd.DatetimeIndex(ts, tz="UTC"))
    return frame


def _bar_nanos(timestamps: pd.Series, timeframe: Timeframe) -> npt.NDArray[np.int64]:
    """The length of each bar in ns (calendar-aware for weeks and months)."""
    if timeframe.name == "1mo":
        idx = pd.DatetimeIndex(timestamps)
        nxt = idx + pd.offsets.MonthBegin(1)
        return np.asarray(nxt.asi8 - idx.asi8, dtype=np.int64)
    return np.full(len(timestamps), timeframe.nanos, dtype=np.int64)


def _aggregate(daily: pd.DataFrame, timeframe: Timeframe) -> pd.DataFrame:
    """Weekly (Monday-start) or monthly bars from daily bars."""
    frame = daily.set_index("timestamp")
    rule = "W-MON" if timeframe.name == "1wk" else "MS"
    agg = frame.resample(rule, label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    agg = agg.dropna(subset=["open"]).reset_index()
    return agg
