"""Parsing user-supplied times into UTC timestamps."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from pipelines.errors import InvalidRequestError

__all__ = ["EARLIEST_YEAR", "LATEST_YEAR", "parse_time", "utc_now"]

# Dates a request may name: wide enough for any market history, narrow enough that every date and
# the warm-up before it stay inside what pandas timestamps can hold (1677 to 2262).
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def parse_time(value: str | dt.datetime | dt.date | pd.Timestamp, *, name: str = "time") -> pd.Timestamp:
    """A UTC timestamp from a date, a datetime or an ISO string; naive values are taken as UTC.

    Years before ``EARLIEST_YEAR`` or after ``LATEST_YEAR`` are an InvalidRequestError naming ``name``."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):  # OutOfBoundsDatetime is a ValueError
        if _iso_year(value) is None:
            raise InvalidRequestError(
                f"{name} {value!r} is not a date or time (expected e.g. 2020-01-01)"
            ) from None
        raise _out_of_range(name, value) from None
    if pd.isna(ts):
        raise InvalidRequestError(f"{name} is missing")
    if not EARLIEST_YEAR <= ts.year <= LATEST_YEAR:
        raise _out_of_range(name, value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _out_of_range(name: str, value: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"{name} {str(value)!r} is out of range: dates lie from {EARLIEST_YEAR}-01-01 to {LATEST_YEAR}-12-31"
    )


def _iso_year(value: object) -> int | None:
    """The year of a date (or ISO date string) that pandas cannot hold, such as ``0001-01-01``."""
    if isinstance(value, dt.date):
        return value.year
    try:
        return dt.date.fromisoformat(str(value)[:10]).year
    except ValueError:
        return None
