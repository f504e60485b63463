"""A feature set over a growing series of bars: the history once, then only the new bars.

Serving a live series needs the features of each new bar, exactly as training computed them over
the whole history. Recomputing the history per bar costs O(history) (about 2 ms for 101 features
over 6,750 one-minute bars, and growing by 1,440 bars a day); a :class:`FeatureStream` records the
kernels' states on the first full computation and afterwards computes a window of ``lookback`` seen
bars plus the new ones (see ``_tape``), in time independent of the history. The rows it returns are
bit-for-bit those of ``feature_block`` over the whole series; the tests check that for every
registered indicator.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pipelines.errors import InvalidRequestError
from pipelines.features._tape import Tape, TapeMismatchError
from pipelines.features.compute import feature_block
from pipelines.features.indicators import FeatureSet
from pipelines.features.inputs import PRICE_FIELDS, BarData

__all__ = ["FeatureStream", "GrowingBars", "stream_lookback"]

FloatMatrix = npt.NDArray[np.float64]

_MARGIN = 32


def stream_lookback(feature_set: FeatureSet) -> int:
    """The seen bars a replay window needs for ``feature_set``.

    Between kernels (whose outputs over the seen bars are restored exactly) an indicator only
    shifts or differences its series, each time by at most one of its integer parameters, and a
    kernel reads at most one of them back (two for the block-based extremes). So twice the largest
    sum of one indicator's integer parameters, plus a margin, covers every read a new bar makes.
    """
    widest = 0
    for step in feature_set.plan:
        widest = max(widest, sum(int(v) for v in step.params.values() if isinstance(v, int)))
    return 2 * widest + _MARGIN


class FeatureStream:
    """The last rows of a feature set over bars that only grow (see the module docstring).

    Not thread-safe: one caller at a time (the feature cache holds a lock per series).
    """

    def __init__(self, feature_set: FeatureSet) -> None:
        self.feature_set = feature_set
        self.lookback = stream_lookback(feature_set)
        self._tape = Tape(self.lookback)
        self._seen = 0  # bars the held rows and states reach
        self._last_ns = 0
        self._last_bar = np.empty(0)  # the seen series' last bar (open, high, low, close, volume)
        self._rows: FloatMatrix = np.empty((0, len(feature_set.columns)))
        self.replays = 0  # how many updates were computed from the states (for tests and metrics)

    def tail(self, data: BarData, rows: int) -> FloatMatrix:
        """The last ``rows`` feature rows of ``data`` (fewer when there are fewer bars), (rows, features).

        ``data`` must be the series the previous call saw plus any new bars: the caller vouches for
        the bars before the last seen one (a series rewritten further back needs a new stream). Fewer
        bars, a different last seen bar or more rows than held are computed in full, as is a series
        shorter than the lookback. The result is read-only.
        """
        n = len(data)
        rows = max(1, rows)
        seen = self._seen
        extends = 0 < seen < n and self._is_last_seen(data, seen - 1)
        if extends and rows <= self._rows.shape[0] and self._tape.replayable:
            try:
                with self._tape.replaying(n - seen):
                    block = feature_block(data.window(seen - self.lookback, n), self.feature_set)
            except TapeMismatchError:
                return self._full(data, rows)
            fresh = block[:, self.lookback :].T
            held = max(rows, self._rows.shape[0])
            self._keep(np.concatenate((self._rows, fresh))[-held:], data)
            self.replays += 1
            return self._rows[-rows:]
        if seen == n and rows <= self._rows.shape[0] and self._is_last_seen(data, n - 1):
            return self._rows[-rows:]
        return self._full(data, rows)

    def _is_last_seen(self, data: BarData, i: int) -> bool:
        """Whether bar ``i`` of ``data`` is the last bar the held rows reach (time and prices)."""
        return int(data.ts_ns[i]) == self._last_ns and np.array_equal(
            _bar(data, i), self._last_bar, equal_nan=True
        )

    def _full(self, data: BarData, rows: int) -> FloatMatrix:
        with self._tape.recording(len(data)):
            block = feature_block(data, self.feature_set)
        self._keep(block[:, -rows:].T, data)
        return self._rows

    def _keep(self, rows: FloatMatrix, data: BarData) -> None:
        held = np.array(rows, dtype=np.float64, order="C")
        held.setflags(write=False)
        self._rows = held
        self._seen = len(data)
        self._last_ns = int(data.ts_ns[-1]) if len(data) else 0
        self._last_bar = _bar(data, len(data) - 1) if len(data) else np.empty(0)


def _bar(data: BarData, i: int) -> npt.NDArray[np.float64]:
    return np.array([data.open[i], data.high[i], data.low[i], data.close[i], data.volume[i]])


class GrowingBars:
    """A series of bars that only grows, as a stream reads it: held in buffers that double when full,
    so adding a bar copies that bar only (``BarData.append`` copies the whole series each time).
    :meth:`data` views the bars so far; later appends never change what an earlier view shows."""

    def __init__(self, first: BarData) -> None:
        size = max(64, 2 * len(first))
        self._prices: FloatMatrix = np.empty((len(PRICE_FIELDS), size))  # one contiguous row per field
        self._ts = np.empty(size, dtype=np.int64)
        self._n = 0
        self.append(first)

    def __len__(self) -> int:
        return self._n

    @property
    def last_ns(self) -> int:
        return int(self._ts[self._n - 1]) if self._n else 0

    def append(self, more: BarData) -> None:
        """Add ``more`` (it must start after the last bar)."""
        n, m = self._n, len(more)
        if not m:
            return
        if n and int(more.ts_ns[0]) <= self.last_ns:
            raise InvalidRequestError("appended bars must start after the last bar")
        if n + m > self._ts.size:
            size = max(2 * self._ts.size, n + m)
            prices, ts = np.empty((len(PRICE_FIELDS), size)), np.empty(size, dtype=np.int64)
            prices[:, :n], ts[:n] = self._prices[:, :n], self._ts[:n]
            self._prices, self._ts = prices, ts
        for j, name in enumerate(PRICE_FIELDS):
            self._prices[j, n : n + m] = getattr(more, name)
        self._ts[n : n + m] = more.ts_ns
        self._n = n + m

    def data(self) -> BarData:
        n = self._n
        return BarData({name: self._prices[j, :n] for j, name in enumerate(PRICE_FIELDS)}, self._ts[:n])
