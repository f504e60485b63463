"""Bars from a CSV or Parquet file the user supplies.

The layouts accepted are those :mod:`pipelines.data.providers.layouts` tells apart: pandas'
``to_csv`` of a date-indexed frame, Yahoo Finance exports, exchange klines (with or without a
header), separate date and time columns, ``;`` or tab separators with decimal commas. Columns are
matched without case, spaces or punctuation: Open, High, Low, Close and an optional Volume
(missing -> 0.0). Other columns (``Adj Close``, ...) are ignored: ``close`` is the traded close, not
the dividend-adjusted one. A Parquet file's named datetime index counts as a column. Timestamps
may be ISO 8601 strings, naive (taken as UTC) or with an offset, ``day.month.year`` dates (with an
optional time), datetimes, or integer epoch
seconds / milliseconds / microseconds (told apart by magnitude).
Every problem with the file is an ``InvalidRequestError`` that names the file; when no layout
fits, it names the columns found and the ones looked for.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Literal, NoReturn

import pandas as pd
from pandas.api import types as ptypes

from pipelines.data.providers.layouts import (
    TIMESTAMP_NAMES,
    column_key,
    read_csv_sniffed,
    timestamp_column,
    unfold,
)
from pipelines.data.schema import to_canonical, with_labels
from pipelines.data.symbols import Symbol
from pipelines.data.timeframes import Timeframe
from pipelines.errors import InvalidRequestError

__all__ = ["FileProvider", "bars_from_frame"]

_REQUIRED = ("open", "high", "low", "close")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_SUFFIXES = _CSV_SUFFIXES + _PARQUET_SUFFIXES
# Epoch values below this many units are seconds; below 1e14 milliseconds (1e11 s is the year 5138).
_CHECK_ROWS = 50
_DOTTED_DATE = r"^\d{1,2}\.\d{1,2}\.\d{4}(?:\s|$)"
_TIMESTAMP_KEYS = tuple(column_key(n) for n in TIMESTAMP_NAMES)
_EPOCH_UNITS: tuple[tuple[float, Literal["s", "ms", "us"]], ...] = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def _utc(ts: pd.Timestamp | dt.datetime | str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


class FileProvider:
    """Bars read from ``path`` (``.csv``, ``.csv.gz``, ``.txt``, ``.parquet``, ``.pq``) on every fetch."""

    name = "file"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def fetch(
        self, symbol: Symbol, timeframe: Timeframe, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        start, end = _utc(start), _utc(end)
        if start > end:
            raise InvalidRequestError(f"start {start} is after end {end}")
        bars = to_canonical(self.read(), symbol=symbol.name, timeframe=timeframe.name, source=self.name)
        keep = (bars["timestamp"] >= start) & (bars["timestamp"] < end)
        out = bars.loc[keep].reset_index(drop=True)
        return with_labels(out, symbol=symbol.name, timeframe=timeframe.name, source=self.name)

    def read(self) -> pd.DataFrame:
        """The whole file as ``timestamp`` (UTC) + float OHLCV columns, in file order."""
        return bars_from_frame(self._load(), f"file {self.path}")

    def check(self) -> None:
        """Fail as ``read`` would when the file's layout is not understood, from its first rows."""
        bars_from_frame(self._load(nrows=_CHECK_ROWS), f"file {self.path}")

    def _load(self, nrows: int | None = None) -> pd.DataFrame:
        name = self.path.name.lower()
        if not name.endswith(_SUFFIXES):
            self._fail(f"has an unsupported extension; expected one of {', '.join(_SUFFIXES)}")
        if not self.path.is_file():
            self._fail("does not exist or is not a file")
        try:
            if name.endswith(_PARQUET_SUFFIXES):
                frame = pd.read_parquet(self.path)
                frame = frame if nrows is None else frame.head(nrows)
                if not isinstance(frame.index, pd.RangeIndex) and frame.index.name is not None:
                    frame = frame.reset_index()
                return frame
            return read_csv_sniffed(self.path, nrows=nrows)
        except Exception as exc:  # pandas/pyarrow raise many types for unreadable files
            self._fail(f"cannot be read: {type(exc).__name__}: {exc}")

    def _fail(self, problem: str) -> NoReturn:
        _fail(f"file {self.path}", problem)


def _fail(origin: str, problem: str) -> NoReturn:
    raise InvalidRequestError(f"{origin}: {problem}")


def bars_from_frame(raw: pd.DataFrame, origin: str) -> pd.DataFrame:
    """``raw`` (a table as read from a user's file) as ``timestamp`` (UTC) + float OHLCV columns.

    Columns are matched as the module docstring says; every problem is an InvalidRequestError that
    starts with ``origin`` (the file's name, as the user knows it).
    """
    raw = unfold(raw)
    by_name: dict[str, str] = {}
    for col in raw.columns:
        key = column_key(col)
        if key in by_name and key in (*_TIMESTAMP_KEYS, *_REQUIRED, "volume"):
            _fail(
                origin, f"has two columns named {key!r} (without case and spaces): {by_name[key]!r}, {col!r}"
            )
        by_name.setdefault(key, str(col))
    found = timestamp_column(raw)
    missing = [c for c in _REQUIRED if c not in by_name]
    if found is None or missing:
        what = "no timestamp column" if found is None else f"no column(s) {', '.join(missing)}"
        _fail(
            origin,
            f"has {what}; found columns {[str(c) for c in raw.columns]}, looked for a timestamp "
            f"({', '.join(TIMESTAMP_NAMES)}, separate date and time columns, or an unnamed first index "
            "column) and open, high, low, close (volume optional), or a headerless kline file",
        )
    stamps, ts_col = found
    out = pd.DataFrame({"timestamp": _timestamps(stamps, ts_col, origin)})
    for col in (*_REQUIRED, "volume"):
        if col not in by_name:
            out[col] = 0.0
            continue
        values = raw[by_name[col]]
        numbers = pd.to_numeric(values, errors="coerce")
        bad = numbers.isna() & values.notna()
        if bad.any():
            _fail(origin, f"column {by_name[col]!r} has non-numeric value {values[bad].iloc[0]!r}")
        out[col] = numbers.astype("float64").to_numpy()
    return out


def _timestamps(values: pd.Series, column: str, origin: str) -> pd.DatetimeIndex:
    if values.isna().any():
        _fail(origin, f"column {column!r} has {int(values.isna().sum())} empty timestamp(s)")
    try:
        if ptypes.is_datetime64_any_dtype(values):
            stamps = pd.DatetimeIndex(values)
            return stamps.tz_localize("UTC") if stamps.tz is None else stamps.tz_convert("UTC")
        if ptypes.is_numeric_dtype(values) and not ptypes.is_bool_dtype(values):
            biggest = float(values.abs().max()) if len(values) else 0.0
            unit: Literal["s", "ms", "us", "ns"] = next(
                (u for limit, u in _EPOCH_UNITS if biggest < limit), "ns"
            )
            return pd.DatetimeIndex(pd.to_datetime(values.astype("int64"), unit=unit, utc=True))
        text = values.astype(str).str.strip()
        if text.str.match(_DOTTED_DATE).all():  # 02.01.2024: day first, as European exports write it
            return pd.DatetimeIndex(pd.to_datetime(text, utc=True, dayfirst=True, format="mixed"))
        return pd.DatetimeIndex(pd.to_datetime(text, utc=True, format="ISO8601"))
    except (ValueError, TypeError, OverflowError) as exc:
        _fail(
            origin,
            f"column {column!r} has unparseable timestamps ({exc}); "
            "expected ISO 8601 strings, day.month.year dates or epoch seconds/milliseconds/microseconds",
        )
