"""The layouts users' bar files come in, told apart from the file itself.

* the separator (``,`` ``;`` or tab) and, when it is not ``,``, a decimal comma, sniffed from the start
  of a CSV file; a file whose first line is all numbers has no header;
* a headerless file of six or more columns is read in exchange kline order (Binance's 12-column
  kline CSV: open time, open, high, low, close, volume, close time, ...);
* yfinance's ``to_csv`` of a multi-ticker frame (``Price`` header, then ``Ticker`` and ``Date`` rows);
* the timestamp: a column named timestamp, datetime, date, time or open_time (spaces, ``_`` and case
  ignored), the first column when it is pandas' unnamed index (empty header, ``Unnamed: 0``,
  ``index``), or separate ``Date`` and ``Time`` columns (``2024-01-02`` + ``09:30`` as well as
  ``20240102`` + ``0930``).
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any, Literal

import pandas as pd

__all__ = [
    "KLINE_COLUMNS",
    "TIMESTAMP_NAMES",
    "column_key",
    "read_csv_sniffed",
    "timestamp_column",
    "unfold",
]

KLINE_COLUMNS = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "trades",
    "taker_buy_base_volume",
    "taker_buy_quote_volume",
    "ignore",
)
TIMESTAMP_NAMES = ("timestamp", "datetime", "date", "time", "open_time")
_SAMPLE_BYTES = 64 * 1024
_SEPARATORS = (",", ";", "\t")
_INDEX_KEYS = ("", "unnamed0", "index")  # pandas' unnamed index, as the first column only
_NUMBER = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?$")


def column_key(name: object) -> str:
    """A column name compared without case, spaces or punctuation: ``Open time`` = ``open_time``."""
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _sample(path: Path, compression: Literal["infer"] | None) -> str:
    gz = compression == "infer" and path.name.lower().endswith(".gz")
    with gzip.open(path, "rb") if gz else path.open("rb") as handle:
        head: bytes = handle.read(_SAMPLE_BYTES)
    return head.decode("utf-8", errors="replace")


def read_csv_sniffed(
    path: Path, *, compression: Literal["infer"] | None = "infer", nrows: int | None = None
) -> pd.DataFrame:
    """``path`` read with the separator, decimal mark and header its first lines show."""
    lines = [line for line in _sample(path, compression).splitlines() if line.strip()][:20]
    first = lines[0] if lines else ""
    sep = max(_SEPARATORS, key=first.count) if any(s in first for s in _SEPARATORS) else ","
    body = "\n".join(lines[1:] or lines)
    decimal = "," if sep != "," and re.search(r"\d,\d", body) else "."
    fields = [f.strip().strip('"') for f in first.split(sep)]
    header: Literal["infer"] | None = None if fields and all(_NUMBER.match(f) for f in fields) else "infer"
    frame = pd.read_csv(path, sep=sep, decimal=decimal, header=header, compression=compression, nrows=nrows)
    return frame


def unfold(raw: pd.DataFrame) -> pd.DataFrame:
    """``raw`` with named columns: a headerless kline file named, yfinance's extra header rows dropped."""
    names = [str(c) for c in raw.columns]
    if len(names) >= 6 and names == [str(i) for i in range(len(names))]:
        extra = [f"column_{i}" for i in range(len(KLINE_COLUMNS), len(names))]
        return raw.set_axis([*KLINE_COLUMNS[: len(names)], *extra], axis=1)
    if names and column_key(names[0]) == "price" and len(raw):
        first = raw.iloc[:, 0].astype(str).map(column_key)
        skip = 0
        while skip < min(len(raw), 2) and first.iloc[skip] in ("ticker", "date", "datetime"):
            skip += 1
        if skip:
            return raw.iloc[skip:].reset_index(drop=True).rename(columns={raw.columns[0]: "Date"})
    return raw


def timestamp_column(raw: pd.DataFrame) -> tuple[pd.Series, str] | None:
    """The timestamps of ``raw`` (as stored, not parsed yet) and the column(s) they come from."""
    keys = {column_key(c): c for c in reversed(list(raw.columns))}  # the first of equal keys wins
    whole = ("timestamp", "datetime", "opentime")
    if "date" in keys and "time" in keys and not any(k in keys for k in whole):
        date, time = keys["date"], keys["time"]
        return _date_and_time(raw[date], raw[time]), f"{date} + {time}"
    wanted = {column_key(n) for n in TIMESTAMP_NAMES}
    for i, col in enumerate(raw.columns):
        key = column_key(col)
        if key in wanted or (i == 0 and key in _INDEX_KEYS):
            return raw[col], str(col)
    return None


def _date_and_time(date: pd.Series, time: pd.Series) -> pd.Series:
    """ISO 8601 text from a date column and a time-of-day column (``0930`` and ``93000`` included)."""
    d = _text(date)
    compact = d.str.fullmatch(r"\d{8}")
    d = d.where(~compact, d.str[:4] + "-" + d.str[4:6] + "-" + d.str[6:8])
    t = _text(time)
    digits = t.str.fullmatch(r"\d{1,6}")
    short = t.str.len() <= 4
    hhmm = t.str.zfill(4)
    hhmmss = t.str.zfill(6)
    t = t.where(~(digits & short), hhmm.str[:2] + ":" + hhmm.str[2:4])
    t = t.where(~(digits & ~short), hhmmss.str[:2] + ":" + hhmmss.str[2:4] + ":" + hhmmss.str[4:6])
    out: pd.Series = d + " " + t
    return out.where(date.notna() & time.notna())


def _text(values: pd.Series) -> Any:
    """Cells as stripped text; integral floats (a column with a gap) without their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        values = values.map(lambda v: str(int(v)) if pd.notna(v) and float(v).is_integer() else str(v))
    return values.astype(str).str.strip()
