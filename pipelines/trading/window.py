"""The runner's bounded window of recent bars, kept as column arrays so the strategy reads them
without a pandas round trip per bar (a new bar must reach its orders in well under a millisecond
per symbol)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features import BarData

__all__ = ["PRICE_COLUMNS", "Bar", "BarWindow"]

FloatArray = npt.NDArray[np.float64]
PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_COLUMNS = pd.Index(PRICE_COLUMNS)  # built once: building column labels costs more than the frame


@dataclass(frozen=True, slots=True)
class Bar:
    """One complete bar; ``ts_ns`` is its open time in UTC epoch nanoseconds."""

    ts_ns: int
    open: float
    high: float
    low: float
    close: float
    volume: float = 0.0


class BarWindow:
    """The last ``size`` bars. Stored in a buffer of twice that many rows, column-major, so each
    column of the window is one contiguous view; when the buffer fills, the newest ``size - 1``
    rows move to its start (one copy every ``size`` bars)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._prices: FloatArray = np.empty((2 * size, len(PRICE_COLUMNS)), order="F")
        self._ts = np.empty(2 * size, dtype=np.int64)
        self._end = 0
        self._index: pd.RangeIndex | None = None

    def __len__(self) -> int:
        return min(self._end, self.size)

    def check(self, bar: Bar) -> None:
        """Refuse a bar the window cannot take (before anything acts on it)."""
        o, h, lo, c = bar.open, bar.high, bar.low, bar.close
        positive = o > 0.0 and h > 0.0 and lo > 0.0 and c > 0.0  # False for NaN
        if not (positive and math.isfinite(o + h + lo + c + bar.volume)):
            raise InvalidRequestError(f"bar at {bar.ts_ns} must hold finite prices > 0, got {bar}")
        if self._end and bar.ts_ns <= self._ts[self._end - 1]:
            raise InvalidRequestError("bars must come in increasing time order")

    def append(self, bar: Bar) -> None:
        self.check(bar)
        prices = (bar.open, bar.high, bar.low, bar.close)
        if self._end == self._ts.size:
            keep = self.size - 1
            self._prices[:keep] = self._prices[self._end - keep : self._end]
            self._ts[:keep] = self._ts[self._end - keep : self._end]
            self._end = keep
        self._prices[self._end] = (*prices, bar.volume)
        self._ts[self._end] = bar.ts_ns
        self._end += 1

    def _span(self) -> slice:
        return slice(self._end - len(self), self._end)

    def bar_data(self) -> BarData:
        """The window as the features package's validated arrays (read-only views)."""
        span = self._span()  # each column of the column-major buffer is contiguous: BarData views it
        sources = {name: self._prices[span, j] for j, name in enumerate(PRICE_COLUMNS)}  # read-only on use
        return BarData(sources, self._ts[span])

    def price_frame(self) -> pd.DataFrame:
        """Prices only (no timestamp column), a view of the buffer."""
        n = len(self)
        if self._index is None or len(self._index) != n:
            self._index = pd.RangeIndex(n)  # kept: a full window's length stays the same
        return pd.DataFrame(self._prices[self._span()], index=self._index, columns=_COLUMNS, copy=False)

    def frame(self) -> pd.DataFrame:
        """The window as a canonical bars frame (timestamp first)."""
        span = self._span()
        out: dict[str, Any] = {"timestamp": pd.to_datetime(self._ts[span], utc=True)}
        for j, name in enumerate(PRICE_COLUMNS):
            out[name] = self._prices[span, j].copy()
        return pd.DataFrame(out)

    def rows(self) -> list[list[float | int]]:
        span = self._span()
        return [[int(t), *map(float, p)] for t, p in zip(self._ts[span], self._prices[span], strict=True)]
