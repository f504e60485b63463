"""Parsing user-supplied times into UTC timestamps."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipelines.errors import InvalidRequestError

__all__ = ["parse_time", "utc_now"]


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def parse_time(value: str | dt.datetime | dt.date | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """A UTC timestamp from a date, a datetime or an ISO string; naive values are taken as UTC."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InvalidRequestError(
            f"{name} {value!r} is not a date or time (expected e.g. 2020-01-01)"
        ) from None
    if pd.isna(ts):
        raise InvalidRequestError(f"{name} is missing")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
