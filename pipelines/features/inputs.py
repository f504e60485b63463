"""Bars as validated contiguous arrays, with a per-call cache for shared intermediate series."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar, cast

import numpy as np
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features._kernels import FloatArray, IntArray

__all__ = ["PRICE_FIELDS", "REQUIRED_COLUMNS", "BarData", "utc_nanos"]

PRICE_FIELDS = ("open", "high", "low", "close", "volume")
REQUIRED_COLUMNS = ("timestamp", *PRICE_FIELDS)
T = TypeVar("T")


class BarData:
    """OHLCV as writable C-contiguous float64 arrays plus UTC epoch nanoseconds.

    A price column is converted on first use only (pandas hands out read-only views, and numba
    compiles read-only arrays separately, so each used column is copied once). ``memo`` caches
    intermediate series (an SMA, the ATR, rolling extremes) for one computation, so indicators that
    share them compute them once. Cached arrays are shared: callers must not modify them.
    """

    __slots__ = ("_cache", "_sources", "ts_ns")

    def __init__(self, sources: Mapping[str, Any], ts_ns: IntArray) -> None:
        self._sources = dict(sources)
        self._cache: dict[Hashable, object] = {}
        self.ts_ns = ts_ns

    def __len__(self) -> int:
        return int(self.ts_ns.size)

    def memo(self, key: Hashable, make: Callable[[], T]) -> T:
        if key not in self._cache:
            self._cache[key] = make()
        return cast(T, self._cache[key])

    def _column(self, name: str) -> FloatArray:
        def make() -> FloatArray:
            try:
                arr = np.asarray(self._sources[name], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidRequestError(f"bars column {name!r} is not numeric: {exc}") from None
            return np.require(arr, requirements=["C", "W"])

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
        for col in PRICE_FIELDS:
            dtype = bars[col].dtype
            if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
                raise InvalidRequestError(f"bars column {col!r} must be numeric, got dtype {dtype}")
        ts_ns = utc_nanos(bars["timestamp"])
        if ts_ns.size > 1 and not bool((ts_ns[1:] > ts_ns[:-1]).all()):
            raise InvalidRequestError("bars must be sorted by timestamp with no duplicate timestamps")
        return cls({col: _values(bars[col]) for col in PRICE_FIELDS}, ts_ns)


def _values(column: pd.Series) -> Any:
    """The column's values without a copy for numpy dtypes; nullable dtypes get NaN for NA."""
    if isinstance(column.dtype, np.dtype):
        return column.to_numpy()
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def utc_nanos(timestamps: pd.Series) -> IntArray:
    """Epoch nanoseconds of a datetime column; tz-naive values are taken to be UTC."""
    if not pd.api.types.is_datetime64_any_dtype(timestamps.dtype):
        raise InvalidRequestError(
            f"bars column 'timestamp' must hold datetimes, got dtype {timestamps.dtype}"
        )
    index = pd.DatetimeIndex(timestamps)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    if index.hasnans:
        raise InvalidRequestError("bars column 'timestamp' contains missing values")
    return np.ascontiguousarray(index.as_unit("ns").asi8)
