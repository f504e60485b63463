"""The embedded default provider: deterministic synthetic bars, no network.

Bars depend only on (symbol, seed, timeframe, bar time), never on the requested range, so an
incremental ingest stitches seamlessly onto an earlier one. Construction:

* a daily log-price path from a fixed anchor (1990-01-01): GARCH(1,1) variance with standardized
  Student-t(4) shocks (fat tails, volatility clustering) and a slow pull towards the symbol's base
  price (plausible levels over decades); stocks have an overnight gap, crypto trades 24/7;
* intraday bars split from each day's bar level by level (4h, 1h, 30m, 15m, 5m, 1m; 2m as pairs
  of 1m), each finer level a conditioned bridge inside the coarser bars (``synthetic_split``), so
  every timeframe aggregates to the coarser ones exactly; stock sessions run 09:30-16:00 New York
  on NYSE trading days with a U-shaped intraday volatility and volume profile;
* a day's high and low are the extremes of a Brownian bridge from its open to its close (valid
  OHLC); its volume grows with its absolute return.

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
from pipelines.data.providers.synthetic_split import LEVELS, layout, split
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
    intraday: F64  # each day's volatility from its open to its close (without the overnight gap)
    noise: F64  # (5, days) standard normals: high, low, volume, then the high's and low's second
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
    noise = rng.standard_normal((5, days.shape[0]))
    gap = gap if not symbol.is_crypto else np.zeros_like(gap)
    return _DailyPath(days, logp, gap, sigma, sigma * np.sqrt(1.0 - gap_share), noise, profile)


class SyntheticProvider:
    """Deterministic synthetic bars for any well-formed stock or crypto symbol."""

    def __init__(
        self, seed: int = 42, *, now: Callable[[], pd.Timestamp] | None = None, name: str = "synthetic"
    ) -> None:
        self.seed = int(seed)
        self.name = name
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
        idx = np.arange(max(lo, 1), hi)
        return _frame(path.days[idx].astype("datetime64[ns]").view("i8"), _day_bars(path, idx))

    # -- intraday ------------------------------------------------------------------------------
    def _intraday(
        self, symbol: Symbol, timeframe: Timeframe, path: _DailyPath, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """The day's bars split level by level down to ``timeframe`` (2m: pairs of 1m bars)."""
        lo = int(np.searchsorted(path.days, np.datetime64((start - pd.Timedelta(days=1)).date(), "D")))
        hi = int(np.searchsorted(path.days, np.datetime64(end.date(), "D"), side="right"))
        idx = np.arange(max(lo, 1), hi)
        if idx.size == 0:
            return empty_bars()
        stock = not symbol.is_crypto
        sig_day = path.intraday[idx]
        days = path.days[idx].astype(np.int64)
        block, parent = _day_bars(path, idx), 0
        target = 1 if timeframe.minutes == 2 else timeframe.minutes
        for step in LEVELS:
            lay = layout(stock, parent, step)
            key = _key(f"{self.seed}:{symbol.name}:{step}m")
            block, parent = split(block, days, key, lay, sig_day, path.profile.tick), step
            if step == target:
                break
        edges = lay.edges
        if timeframe.minutes == 2:
            block, edges = _pairs(block), edges[::2]
        day_start = path.days[idx].astype("datetime64[ns]")
        if stock:
            local = pd.DatetimeIndex(day_start) + pd.Timedelta(hours=9, minutes=30)
            open_ns = local.tz_localize("America/New_York").tz_convert("UTC").asi8
        else:
            open_ns = day_start.view("i8")
        ts = (open_ns[:, None] + (edges[:-1] * 60_000_000_000)[None, :]).ravel()
        return _frame(ts, block)


def _day_bars(path: _DailyPath, idx: npt.NDArray[np.int64]) -> F64:
    """OHLCV (5, days) of the days ``idx`` (each > 0) of the path, prices on the tick.

    High and low are drawn as the extremes of a Brownian bridge from the open to the close (as the
    finer bars inside the day are), volume grows with the day's absolute return."""
    open_log = path.logp[idx - 1] + path.gap[idx]
    body = path.logp[idx] - open_log
    var = path.intraday[idx] ** 2
    noise = path.noise[:, idx]
    up = 0.5 * (body + np.sqrt(body**2 + var * (noise[0] ** 2 + noise[3] ** 2)))
    down = 0.5 * (body - np.sqrt(body**2 + var * (noise[1] ** 2 + noise[4] ** 2)))
    ret = np.abs(path.logp[idx] - path.logp[idx - 1])
    volume = path.profile.daily_volume * np.exp(0.25 * noise[2]) * (0.5 + ret / path.sigma[idx])
    tick = path.profile.tick
    logs = np.vstack([open_log, open_log + up, open_log + down, path.logp[idx]])
    prices = np.round(np.exp(logs) / tick) * tick
    return np.vstack([prices, np.round(volume, 4)[None, :]])


def _pairs(block: F64) -> F64:
    """Bars of two consecutive bars each (sessions have an even number of minutes)."""
    b = block.reshape(5, -1, 2)
    return np.vstack([b[0, :, 0], b[1].max(axis=1), b[2].min(axis=1), b[3, :, 1], b[4].sum(axis=1)])


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
