"""Quality rules for stored bars: ordering, OHLC consistency, volume sign, and gaps.

The first four are hard rules (a series that breaks one fails its check); gaps are reported, not
failed, since markets close (a stock's nights, weekends and NYSE holidays are not gaps).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from pipelines.data.calendar import nyse_sessions_between
from pipelines.data.timeframes import Timeframe

__all__ = ["Gap", "QualityReport", "check_bars"]


@dataclass(frozen=True, slots=True)
class Gap:
    after: str  # ISO timestamp of the last bar before the gap
    before: str  # ISO timestamp of the first bar after it
    missing_bars: int


@dataclass(slots=True)
class QualityReport:
    rows: int
    duplicate_timestamps: int
    non_increasing_timestamps: int
    high_below_open_or_close: int
    low_above_open_or_close: int
    negative_volume: int
    non_positive_prices: int
    gap_count: int
    gaps: list[Gap] = field(default_factory=list)  # the largest ones, at most 20

    @property
    def passed(self) -> bool:
        """True when every hard rule holds (gaps do not fail a series)."""
        return not (
            self.duplicate_timestamps
            or self.non_increasing_timestamps
            or self.high_below_open_or_close
            or self.low_above_open_or_close
            or self.negative_volume
            or self.non_positive_prices
        )

    def failures(self) -> list[str]:
        names = {
            "duplicate_timestamps": "duplicate timestamps",
            "non_increasing_timestamps": "timestamps not increasing",
            "high_below_open_or_close": "high below max(open, close)",
            "low_above_open_or_close": "low above min(open, close)",
            "negative_volume": "negative volume",
            "non_positive_prices": "non-positive prices",
        }
        return [f"{getattr(self, k)} rows with {label}" for k, label in names.items() if getattr(self, k)]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        return out


def check_bars(bars: pd.DataFrame, timeframe: Timeframe, *, crypto: bool) -> QualityReport:
    """Apply every rule to ``bars`` (canonical schema, in stored order)."""
    ts = bars["timestamp"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    o, h, lo, c, v = (bars[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "close", "volume"))
    diffs = np.diff(ts)
    gaps, gap_count = _gaps(ts, timeframe, crypto=crypto)
    tol = 1e-9 * np.maximum(np.abs(o), np.abs(c))
    return QualityReport(
        rows=len(bars),
        duplicate_timestamps=int(len(ts) - len(np.unique(ts))),
        non_increasing_timestamps=int(np.count_nonzero(diffs <= 0)),
        high_below_open_or_close=int(np.count_nonzero(h < np.maximum(o, c) - tol)),
        low_above_open_or_close=int(np.count_nonzero(lo > np.minimum(o, c) + tol)),
        negative_volume=int(np.count_nonzero(v < 0)),
        non_positive_prices=int(np.count_nonzero((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0))),
        gap_count=gap_count,
        gaps=gaps,
    )


def _gaps(ts: np.ndarray, timeframe: Timeframe, *, crypto: bool) -> tuple[list[Gap], int]:
    if len(ts) < 2 or timeframe.name in ("1wk", "1mo"):
        return [], 0
    step = timeframe.nanos
    prev, nxt = ts[:-1], ts[1:]
    if crypto:
        missing = (nxt - prev) // step - 1
    elif timeframe.is_intraday:
        day_prev = prev.astype("datetime64[ns]").astype("datetime64[D]")
        day_next = nxt.astype("datetime64[ns]").astype("datetime64[D]")
        same_day = day_prev == day_next
        within = np.where(same_day, (nxt - prev) // step - 1, 0)
        # Across days: whole sessions skipped, counted in bars of a 6.5 h session.
        per_session = int(np.ceil(23_400 / timeframe.seconds))
        sessions = np.where(same_day, 0, nyse_sessions_between(day_prev, day_next))
        missing = within + sessions * per_session
    else:
        day_prev = prev.astype("datetime64[ns]").astype("datetime64[D]")
        day_next = nxt.astype("datetime64[ns]").astype("datetime64[D]")
        missing = nyse_sessions_between(day_prev, day_next)
    missing = np.maximum(missing, 0)
    where = np.flatnonzero(missing > 0)
    top = where[np.argsort(-missing[where], kind="stable")][:20]
    gaps = [
        Gap(
            after=pd.Timestamp(int(prev[i]), tz="UTC").isoformat(),
            before=pd.Timestamp(int(nxt[i]), tz="UTC").isoformat(),
            missing_bars=int(missing[i]),
        )
        for i in sorted(top)
    ]
    return gaps, int(where.size)
