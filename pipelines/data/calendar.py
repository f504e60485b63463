"""Trading calendars: NYSE sessions for stocks, 24/7 for crypto."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
)

__all__ = ["nyse_holidays", "nyse_sessions_between"]


class _NyseCalendar(AbstractHolidayCalendar):
    rules = [  # noqa: RUF012 - pandas reads this class attribute
        Holiday("New Year's Day", month=1, day=1, observance=nearest_workday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas Day", month=12, day=25, observance=nearest_workday),
    ]


@lru_cache(maxsize=1)
def nyse_holidays() -> npt.NDArray[np.datetime64]:
    """NYSE full-day holidays 1990-2060 (datetime64[D])."""
    days = _NyseCalendar().holidays(start="1990-01-01", end="2060-12-31")
    return np.asarray(days.values.astype("datetime64[D]"))


def nyse_sessions_between(
    a: npt.NDArray[np.datetime64], b: npt.NDArray[np.datetime64]
) -> npt.NDArray[np.int64]:
    """The number of NYSE sessions strictly after day ``a`` and strictly before day ``b``."""
    a_d = np.asarray(a, dtype="datetime64[D]")
    b_d = np.asarray(b, dtype="datetime64[D]")
    counts = np.busday_count(a_d + np.timedelta64(1, "D"), b_d, holidays=nyse_holidays())
    return np.maximum(np.asarray(counts, dtype=np.int64), 0)
