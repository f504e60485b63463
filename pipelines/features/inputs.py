"""Bars as validated contiguous arrays, with a per-call cache for shared intermediate series."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features._kernels import FloatArray, IntArray

__all__ = [
    "PRICE_FIELDS",
    "REQUIRED_COLUMNS",
    "BarData",
    "column_arrays",
    "read_only",
    "utc_nanos",
    "utc_timestamps",
]

PRICE_FIELDS = ("open", "high", "low", "close", "volume")
REQUIRED_COLUMNS = ("timestamp", *PRICE_FIELDS)
T = TypeVar("T")
S = TypeVar("S", bound=np.generic)


class BarData:
    """OHLCV as read-only C-contiguous float64 arrays plus UTC epoch nanoseconds.

    A price column is viewed (not copied) on first use. The views are always read-only: pandas
    hands out read-only views, numba compiles read-only and writable arrays separately, and a
    consistent flag keeps that to one specialisation per kernel and input kind. ``memo`` caches
    intermediate series (an SMA, the ATR, rolling extremes) for one computation, so indicators that
    share them compute them once. Cached arrays are shared: callers must not modify them.
    """

    __slots__ = ("_cache", "_pool", "_sources", "ts_ns")

    def __init__(self, sources: Mapping[str, Any], ts_ns: IntArray) -> None:
        self._sources = dict(sources)
        self._cache: dict[Hashable, object] = {}
        self._pool: list[FloatArray] = []
        self.ts_ns = read_only(ts_ns)

    def __len__(self) -> int:
        return int(self.ts_ns.size)

    @contextmanager
    def scratch(self, count: int) -> Iterator[list[FloatArray]]:
        """``count`` work arrays for the duration of a ``with`` block, recycled afterwards.

        Fresh memory costs page faults (more than the arithmetic, for most indicators), so
        temporaries come from this pool; they must not escape the block (returned or memoized).
        """
        arrays = [self._pool.pop() if self._pool else np.empty(len(self)) for _ in range(count)]
        try:
            yield arrays
        finally:
            self._pool.extend(arrays)

    def cached(self, key: Hashable) -> object | None:
        """The memoized value under ``key``, or None."""
        return self._cache.get(key)

    def store(self, key: Hashable, value: object) -> None:
        """Memoize ``value`` under ``key`` (for series computed as a by-product)."""
        self._cache[key] = value

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = make()
        return cast(T, self._cache[key])

    def memo_into(
        self, key: Hashable, make: Callable[[FloatArray | None], FloatArray], out: FloatArray | None
    ) -> FloatArray:
        """Like ``memo`` for one series that ``make(out)`` writes into ``out`` (or a new array).

        The first computation lands directly in ``out`` and is cached there; later ones copy it.
        """
        cached = self._cache.get(key)
        if cached is None:
            result = make(out)
            self._cache[key] = result
            return result
        series = cast(FloatArray, cached)
        if out is None:
            return series
        np.copyto(out, series)
        return out

    def memo_into_many(
        self,
        key: Hashable,
        make: Callable[[Sequence[FloatArray] | None], tuple[FloatArray, ...]],
        out: Sequence[FloatArray] | None,
    ) -> tuple[FloatArray, ...]:
        """``memo_into`` for a function of several output series."""
        cached = self._cache.get(key)
        if cached is None:
            result = make(out)
            self._cache[key] = result
            return result
        series = cast(tuple[FloatArray, ...], cached)
        if out is None:
            return series
        for target, value in zip(out, series, strict=True):
            np.copyto(target, value)
        return tuple(out)

    def _column(self, name: str) -> FloatArray:
        def make() -> FloatArray:
            try:
                arr = np.asarray(self._sources[name], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidRequestError(f"bars column {name!r} is not numeric: {exc}") from None
            return read_only(arr)

        return self.memo(("column", name), make)

    @property
    def open(self) -> FloatArray:
        return self._column("open")

    @property
    def high(self) -> FloatArray:
        return self._column("high")

    @property
    def low(self) -> FloatArray:
        return self._column("low")

    @property
    def close(self) -> FloatArray:
        return self._column("close")

    @property
    def volume(self) -> FloatArray:
        return self._column("volume")

    def fresh(self) -> BarData:
        """The same bars (arrays shared, not copied) with an empty memo cache."""
        return BarData(self._sources, self.ts_ns)

    def window(self, start: int, stop: int) -> BarData:
        """Bars ``start:stop`` as views of these (nothing copied), with an empty memo cache."""
        columns = {name: self._column(name)[start:stop] for name in PRICE_FIELDS}
        return BarData(columns, self.ts_ns[start:stop])

    def append(self, more: BarData) -> BarData:
        """These bars followed by ``more`` (a new object); ``more`` must start after the last bar."""
        if not len(more):
            return self.fresh()
        if len(self) and int(more.ts_ns[0]) <= int(self.ts_ns[-1]):
            raise InvalidRequestError("appended bars must start after the last bar")
        columns = {name: np.concatenate((self._column(name), more._column(name))) for name in PRICE_FIELDS}
        return BarData(columns, np.concatenate((self.ts_ns, more.ts_ns)))

    @classmethod
    def from_frame(cls, bars: pd.DataFrame) -> BarData:
        """Validate a canonical bars frame: required columns, datetimes, strictly increasing time."""
        if not isinstance(bars, pd.DataFrame):
            raise InvalidRequestError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
        missing = [c for c in REQUIRED_COLUMNS if c not in bars.columns]
        if missing:
            raise InvalidRequestError(
                f"bars are missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED_COLUMNS)}"
            )
        arrays = column_arrays(bars, REQUIRED_COLUMNS)
        values: dict[str, Any] = {}
        for col in PRICE_FIELDS:
            arr = arrays[col]
            dtype = arr.dtype
            numeric = (
                dtype.kind in "fiu"
                if isinstance(dtype, np.dtype)
                else pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
            )
            if not numeric:
                raise InvalidRequestError(f"bars column {col!r} must be numeric, got dtype {dtype}")
            values[col] = _values(arr)
        ts_ns = utc_nanos(arrays["timestamp"])
        nat = np.iinfo(np.int64).min
        if ts_ns.size > 1 and not bool((ts_ns[1:] > ts_ns[:-1]).all()):
            if bool((ts_ns == nat).any()):
                raise InvalidRequestError("bars column 'timestamp' contains missing values")
            raise InvalidRequestError("bars must be sorted by timestamp with no duplicate timestamps")
        if ts_ns.size and ts_ns[0] == nat:  # NaT is the smallest value, so in sorted data only here
            raise InvalidRequestError("bars column 'timestamp' contains missing values")
        return cls(values, ts_ns)


def column_arrays(frame: pd.DataFrame, names: Sequence[str]) -> dict[str, Any]:
    """The arrays behind ``frame``'s columns ``names``, without building a Series for each.

    On a year of daily bars, ``frame[col]`` (a Series with its index and flags) costs more than a
    whole backtest; pandas' own column accessor returns the stored array in about a tenth of the
    time. It is private API, so any frame where it is missing or ambiguous takes the public route.
    """
    columns = frame.columns
    if not columns.is_unique:
        dupes = sorted({str(c) for c in columns[columns.duplicated()]})
        raise InvalidRequestError(f"bars have duplicate column name(s): {', '.join(dupes)}")
    get = getattr(frame, "_get_column_array", None)
    if get is None:
        return {name: frame[name].array for name in names}
    return {name: get(columns.get_loc(name)) for name in names}


def _values(column: Any) -> Any:
    """The values without a copy for numpy dtypes; nullable dtypes get NaN for NA."""
    if isinstance(column, np.ndarray):
        return column
    if isinstance(column.dtype, np.dtype):
        return np.asarray(column)
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def read_only(arr: npt.NDArray[S]) -> npt.NDArray[S]:
    """A C-contiguous read-only view of ``arr`` (a copy first only when it is not contiguous)."""
    view = np.ascontiguousarray(arr).view()
    view.flags.writeable = False
    return view


def utc_nanos(timestamps: pd.Series | Any) -> IntArray:
    """Epoch nanoseconds of a datetime column (a Series or its array); tz-naive values are UTC."""
    if not pd.api.types.is_datetime64_any_dtype(timestamps.dtype):
        raise InvalidRequestError(
            f"bars column 'timestamp' must hold datetimes, got dtype {timestamps.dtype}"
        )
    # A datetime array stores UTC epoch values whatever its time zone, so no conversion pass is
    # needed: naive values are read as UTC, aware ones are already UTC underneath.
    arr: Any = timestamps.array if isinstance(timestamps, pd.Series) else timestamps
    if isinstance(arr, np.ndarray):
        return read_only(arr.astype("datetime64[ns]", copy=False).view(np.int64))
    if arr.unit != "ns":
        arr = arr.as_unit("ns")
    return read_only(np.asarray(arr.asi8))


def utc_timestamps(timestamps: pd.Series, ts_ns: IntArray) -> pd.Series:
    """The output ``timestamp`` column: the input column itself (a copy-on-write reference) when it
    already holds UTC nanoseconds, else ``ts_ns`` as UTC datetimes on the same index."""
    if timestamps.dtype == pd.DatetimeTZDtype("ns", "UTC"):
        return timestamps
    values = pd.DatetimeIndex(ts_ns.view("datetime64[ns]"), tz="UTC")
    return pd.Series(values, index=timestamps.index, name="timestamp")
