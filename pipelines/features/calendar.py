"""Calendar features of the UTC bar timestamp (the bar's open time), with cyclic encodings.

One pass fills hour, day of week, day of month and month; the civil date (Hinnant's days-to-civil
algorithm) is recomputed only when the day changes.
"""

from __future__ import annotations

import math

import numpy as np

from pipelines.features._kernels import FloatArray, IntArray, jit
from pipelines.features.inputs import BarData
from pipelines.features.registry import Outputs, indicator

__all__ = ["calendar_fields"]

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


def _calendar_impl(
    ts_ns: IntArray, hour: FloatArray, dow: FloatArray, dom: FloatArray, month: FloatArray
) -> None:
    prev_day = np.iinfo(np.int64).min
    d_dow = 0.0
    d_dom = 0.0
    d_month = 0.0
    for i in range(ts_ns.size):
        day = ts_ns[i] // _NS_PER_DAY  # floor division, also before 1970
        if day != prev_day:
            prev_day = day
            m, d = _civil(day)
            d_month = float(m)
            d_dom = float(d)
            d_dow = float((day + 3) % 7)  # 1970-01-01 was a Thursday; Monday = 0
        hour[i] = float((ts_ns[i] - day * _NS_PER_DAY) // _NS_PER_HOUR)
        dow[i] = d_dow
        dom[i] = d_dom
        month[i] = d_month


_calendar = jit(_calendar_impl)


def _cyclic_impl(values: FloatArray, period: int, sin_out: FloatArray, cos_out: FloatArray) -> None:
    """sin and cos of 2*pi*value/period for integer-valued ``values``, by table lookup."""
    angles = 2.0 * math.pi * np.arange(period) / period
    sin_table = np.sin(angles)
    cos_table = np.cos(angles)
    for i in range(values.size):
        k = int(values[i])
        sin_out[i] = sin_table[k]
        cos_out[i] = cos_table[k]


_cyclic = jit(_cyclic_impl)


def calendar_fields(b: BarData) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """(hour, day of week, day of month, month) as float arrays, computed once."""

    def make() -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        fields = (np.empty(len(b)), np.empty(len(b)), np.empty(len(b)), np.empty(len(b)))
        _calendar(b.ts_ns, *fields)
        return fields

    return b.memo("calendar", make)


@indicator("hour", category="calendar", description="UTC hour of the bar's timestamp, 0-23.")
def _hour(b: BarData, out: Outputs) -> None:
    np.copyto(out[0], calendar_fields(b)[0])


@indicator("day_of_week", category="calendar", description="UTC day of week, Monday=0 ... Sunday=6.")
def _day_of_week(b: BarData, out: Outputs) -> None:
    np.copyto(out[0], calendar_fields(b)[1])


@indicator("day_of_month", category="calendar", description="UTC day of month, 1-31.")
def _day_of_month(b: BarData, out: Outputs) -> None:
    np.copyto(out[0], calendar_fields(b)[2])


@indicator("month", category="calendar", description="UTC month, 1-12.")
def _month(b: BarData, out: Outputs) -> None:
    np.copyto(out[0], calendar_fields(b)[3])


@indicator(
    "hour_cyclic",
    category="calendar",
    outputs=("hour_sin", "hour_cos"),
    description="sin and cos of 2*pi*hour/24, so 23h and 0h are neighbours.",
)
def _hour_cyclic(b: BarData, out: Outputs) -> None:
    _cyclic(calendar_fields(b)[0], 24, out[0], out[1])


@indicator(
    "dow_cyclic",
    category="calendar",
    outputs=("dow_sin", "dow_cos"),
    description="sin and cos of 2*pi*day_of_week/7.",
)
def _dow_cyclic(b: BarData, out: Outputs) -> None:
    _cyclic(calendar_fields(b)[1], 7, out[0], out[1])
