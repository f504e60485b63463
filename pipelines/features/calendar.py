"""Calendar features of the UTC bar timestamp (the bar's open time), with cyclic encodings.

Each feature is one pass over the timestamps straight into its output column; the civil date
(Hinnant's days-to-civil algorithm) is recomputed only when the day changes.
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.features._kernels import FloatArray, IntArray, jit
from pipelines.features.indicators import Outputs, indicator
from pipelines.features.inputs import BarData

__all__ = ["calendar_field"]

_NS_PER_HOUR = 3_600_000_000_000
_NS_PER_DAY = 24 * _NS_PER_HOUR


def _civil_impl(days: int) -> tuple[int, int]:
    """(month 1-12, day 1-31) of ``days`` since 1970-01-01, proleptic Gregorian."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1_460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return month, day


_civil = jit(_civil_impl)


_HOUR, _DOW, _DOM, _MONTH = 0, 1, 2, 3


def _calendar_impl(ts_ns: IntArray, field: int, period: int, out: FloatArray, out_cos: FloatArray) -> None:
    """One calendar field of every bar into ``out``; with ``period`` > 0, its sin and cos of
    2*pi*value/period into ``out`` and ``out_cos`` instead (by table lookup)."""
    size = max(period, 1)
    angles = 2.0 * math.pi * np.arange(size) / size
    sin_table = np.sin(angles)
    cos_table = np.cos(angles)
    prev_day = np.iinfo(np.int64).min
    day_value = 0
    for i in range(ts_ns.size):
        day = ts_ns[i] // _NS_PER_DAY  # floor division, also before 1970
        if day != prev_day:
            prev_day = day
            if field == _DOW:
                day_value = (day + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
            elif field != _HOUR:
                month, dom = _civil(day)
                day_value = month if field == _MONTH else dom
        value = (ts_ns[i] - day * _NS_PER_DAY) // _NS_PER_HOUR if field == _HOUR else day_value
        if period > 0:
            out[i] = sin_table[value]
            out_cos[i] = cos_table[value]
        else:
            out[i] = value


_calendar = jit(_calendar_impl)


def calendar_field(b: BarData, field: int, out: FloatArray) -> None:
    """Hour (0), day of week (1), day of month (2) or month (3) of every bar into ``out``."""
    _calendar(b.ts_ns, field, 0, out, out)


@indicator("hour", category="calendar", description="UTC hour of the bar's timestamp, 0-23.")
def _hour(b: BarData, out: Outputs) -> None:
    calendar_field(b, _HOUR, out[0])


@indicator("day_of_week", category="calendar", description="UTC day of week, Monday=0 ... Sunday=6.")
def _day_of_week(b: BarData, out: Outputs) -> None:
    calendar_field(b, _DOW, out[0])


@indicator("day_of_month", category="calendar", description="UTC day of month, 1-31.")
def _day_of_month(b: BarData, out: Outputs) -> None:
    calendar_field(b, _DOM, out[0])


@indicator("month", category="calendar", description="UTC month, 1-12.")
def _month(b: BarData, out: Outputs) -> None:
    calendar_field(b, _MONTH, out[0])


@indicator(
    "hour_cyclic",
    category="calendar",
    outputs=("hour_sin", "hour_cos"),
    description="sin and cos of 2*pi*hour/24, so 23h and 0h are neighbours.",
)
def _hour_cyclic(b: BarData, out: Outputs) -> None:
    _calendar(b.ts_ns, _HOUR, 24, out[0], out[1])


@indicator(
    "dow_cyclic",
    category="calendar",
    outputs=("dow_sin", "dow_cos"),
    description="sin and cos of 2*pi*day_of_week/7.",
)
def _dow_cyclic(b: BarData, out: Outputs) -> None:
    _calendar(b.ts_ns, _DOW, 7, out[0], out[1])
