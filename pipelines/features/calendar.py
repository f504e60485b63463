"""Calendar features of the UTC bar timestamp (the bar's open time), with cyclic encodings.

Dates are derived per distinct day (bars are sorted), with Hinnant's days-to-civil algorithm, so
2.6M minute bars cost a few thousand date conversions.
"""

from __future__ import annotations

import numpy as np

from pipelines.features._kernels import FloatArray, IntArray
from pipelines.features.inputs import BarData
from pipelines.features.registry import indicator

__all__ = ["civil_from_days"]

_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR
_HOUR_ANGLE = 2.0 * np.pi * np.arange(24) / 24.0
_DOW_ANGLE = 2.0 * np.pi * np.arange(7) / 7.0
# Lookup tables: a gather is far cheaper than sin/cos over millions of bars.
_HOUR_SIN, _HOUR_COS = np.sin(_HOUR_ANGLE), np.cos(_HOUR_ANGLE)
_DOW_SIN, _DOW_COS = np.sin(_DOW_ANGLE), np.cos(_DOW_ANGLE)


def civil_from_days(days: IntArray) -> tuple[IntArray, IntArray, IntArray]:
    """(year, month 1-12, day 1-31) of days since 1970-01-01 (proleptic Gregorian)."""
    z = days + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _days(b: BarData) -> IntArray:
    return b.memo("days", lambda: np.floor_divide(b.ts_ns, _NS_PER_DAY))


def _per_day(b: BarData, which: int) -> FloatArray:
    """Month (which=1) or day of month (which=2) of every bar, computed once per distinct day."""

    def make() -> tuple[FloatArray, FloatArray]:
        days = _days(b)
        if days.size == 0:
            return np.empty(0), np.empty(0)
        starts = np.flatnonzero(np.concatenate(([True], days[1:] != days[:-1])))
        _, month, day = civil_from_days(days[starts])
        counts = np.diff(np.append(starts, days.size))
        return np.repeat(month.astype(np.float64), counts), np.repeat(day.astype(np.float64), counts)

    return b.memo("month_day", make)[which - 1]


def _hour(b: BarData) -> IntArray:
    return b.memo("hour", lambda: np.floor_divide(b.ts_ns, _NS_PER_HOUR) % 24)


def _dow(b: BarData) -> IntArray:
    return b.memo("dow", lambda: (_days(b) + 3) % 7)  # 1970-01-01 was a Thursday; Monday = 0


@indicator("hour", category="calendar", description="UTC hour of the bar's timestamp, 0-23.")
def _hour_feature(b: BarData) -> tuple[FloatArray]:
    return (_hour(b).astype(np.float64),)


@indicator("day_of_week", category="calendar", description="UTC day of week, Monday=0 ... Sunday=6.")
def _day_of_week(b: BarData) -> tuple[FloatArray]:
    return (_dow(b).astype(np.float64),)


@indicator("day_of_month", category="calendar", description="UTC day of month, 1-31.")
def _day_of_month(b: BarData) -> tuple[FloatArray]:
    return (_per_day(b, 2),)


@indicator("month", category="calendar", description="UTC month, 1-12.")
def _month(b: BarData) -> tuple[FloatArray]:
    return (_per_day(b, 1),)


@indicator(
    "hour_cyclic",
    category="calendar",
    outputs=("hour_sin", "hour_cos"),
    description="sin and cos of 2*pi*hour/24, so 23h and 0h are neighbours.",
)
def _hour_cyclic(b: BarData) -> tuple[FloatArray, ...]:
    hour = _hour(b)
    return _HOUR_SIN[hour], _HOUR_COS[hour]


@indicator(
    "dow_cyclic",
    category="calendar",
    outputs=("dow_sin", "dow_cos"),
    description="sin and cos of 2*pi*day_of_week/7.",
)
def _dow_cyclic(b: BarData) -> tuple[FloatArray, ...]:
    dow = _dow(b)
    return _DOW_SIN[dow], _DOW_COS[dow]
