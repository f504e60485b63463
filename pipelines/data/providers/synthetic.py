"""The embedded default provider: deterministic synthetic bars, no network.

Bars depend only on (symbol, seed, timeframe, bar time), never on the requested range, so an
incremental ingest stitches seamlessly onto an earlier one. Construction:

* a daily log-price path from a fixed anchor (1990-01-01): GARCH(1,1) variance with standardized
  Student-t(4) shocks (a normal times a per-day scale: fat tails, volatility clustering) and a
  slow pull towards the symbol's base price (plausible levels over decades); crypto trades 24/7;
* a stock's overnight gap: a share of the day's variance, uncorrelated with the session's move;
* a day's volume grows with its volatility (the t-scale), never with its return;
* one 1-minute path per day, a Brownian bridge from its open to its close, and every bar of every
  timeframe (1d included) aggregated from it (``synthetic_intraday``); stock sessions run
  09:30-16:00 New York on NYSE trading days with a U-shaped intraday volatility and volume profile.

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
from pipelines.data.providers.synthetic_intraday import bucket_edges, minute_bars
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
_CHUNK = 128  # days per cached block of daily and hourly bars
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
        # The gap: the share ``gap_share`` of the day's variance, uncorrelated with the rest of it.
        g = gap_share * eps + np.sqrt(gap_share * (1.0 - gap_share)) * s * zg[d]
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
    open_log: F64  # log open of each day (the close before plus the overnight gap)
    intraday: F64  # each day's volatility from its open to its close (given its t-scale, no gap)
    volume: F64  # each day's volume
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
    # Student-t(4) shocks as normals times a per-day scale: given that scale a day's return is
    # Gaussian, so the minute path bridged to it is exactly a Gaussian random walk.
    normals = rng.standard_normal((2, days.shape[0]))
    scale = _T_SCALE / np.sqrt(rng.chisquare(_T_DF, days.shape[0]) / _T_DF)
    daily_var = profile.annual_vol**2 / per_year
    alpha, beta = 0.08, 0.90
    x0 = float(np.log(profile.base_price))
    logp, gap, sigma = _garch_path(
        normals[0] * scale,
        normals[1] * scale,
        daily_var * (1 - alpha - beta),
        alpha,
        beta,
        x0,
        1 / 750,
        gap_share,
    )
    open_log = np.concatenate([[x0], logp[:-1]]) + gap
    # Volume grows with the day's volatility (not its return, which the minutes before the close
    # would otherwise reveal through their volume).
    volume = profile.daily_volume * np.exp(0.25 * rng.standard_normal(days.shape[0])) * (0.5 + 0.8 * scale)
    intraday = sigma * scale * np.sqrt(1.0 - gap_share)
    return _DailyPath(days, logp, open_log, intraday, volume, profile)


def _day_bars(symbol: Symbol, seed: int, minutes: int, path: _DailyPath, idx: npt.NDArray[np.int64]) -> F64:
    """OHLCV (5, bars) of the ``minutes``-long bars (0: daily) of the days ``idx``."""
    return minute_bars(
        path.days[idx].astype(np.int64),
        path.open_log[idx],
        path.logp[idx],
        path.intraday[idx],
        path.volume[idx],
        _key(f"{seed}:{symbol.name}:minutes"),
        not symbol.is_crypto,
        minutes,
        path.profile.tick,
    )


@lru_cache(maxsize=256)
def _chunk(symbol: Symbol, seed: int, minutes: int, chunk: int) -> F64:
    """The bars of the days [chunk * _CHUNK, (chunk + 1) * _CHUNK); callers copy before handing out."""
    path = _daily_path(symbol, seed)
    idx = np.arange(chunk * _CHUNK, min((chunk + 1) * _CHUNK, path.days.shape[0]))
    return _day_bars(symbol, seed, minutes, path, idx)


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
            frame = self._bars(symbol, timeframe, path, start - pd.Timedelta(days=1), end)
        else:
            frame = self._bars(symbol, timeframe, path, start - pd.Timedelta(days=35), end)
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

    def _bars(
        self, symbol: Symbol, timeframe: Timeframe, path: _DailyPath, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Bars of ``timeframe`` (at most a day) of the days from ``start``'s to ``end``'s."""
        lo = int(np.searchsorted(path.days, np.datetime64(start.date(), "D")))
        hi = int(np.searchsorted(path.days, np.datetime64(end.date(), "D"), side="right"))
        idx = np.arange(lo, hi)
        if idx.size == 0:
            return empty_bars()
        stock = not symbol.is_crypto
        minutes = timeframe.minutes if timeframe.is_intraday else 0
        if minutes == 0 or minutes >= 60:  # few bars a day: cached in blocks of days
            first, last = lo // _CHUNK, (hi - 1) // _CHUNK
            chunks = [_chunk(symbol, self.seed, minutes, c) for c in range(first, last + 1)]
            per_day = bucket_edges(stock, minutes).shape[0] - 1
            skip = (lo - first * _CHUNK) * per_day
            block = np.concatenate(chunks, axis=1)[:, skip : skip + idx.size * per_day]  # a copy
        else:
            block = _day_bars(symbol, self.seed, minutes, path, idx)
        day_start = path.days[idx].astype("datetime64[ns]")
        if not timeframe.is_intraday:
            return _frame(day_start.view("i8"), block)
        if stock:
            local = pd.DatetimeIndex(day_start) + pd.Timedelta(hours=9, minutes=30)
            open_ns = local.tz_localize("America/New_York").tz_convert("UTC").asi8
        else:
            open_ns = day_start.view("i8")
        edges = bucket_edges(stock, minutes)
        ts = (open_ns[:, None] + (edges[:-1] * 60_000_000_000)[None, :]).ravel()
        return _frame(ts, block)


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
