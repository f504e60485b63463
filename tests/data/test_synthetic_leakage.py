"""The synthetic market is a random walk inside the day: nothing seen so far predicts the next bar.

A construction that pins the finer bars to the coarser bars' future high, low, close or volume
lets simple past-only features forecast the next return (and models look skilful for a wrong
reason); here each such feature's rank correlation with the next bar's return stays near zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe

NOW = pd.Timestamp("2025-06-30", tz="UTC")


def past_only_features(bars: pd.DataFrame, session: pd.Series) -> dict[str, pd.Series]:
    close, volume = np.log(bars["close"]), bars["volume"]
    day = bars.groupby(session)
    high, low = day["high"].cummax(), day["low"].cummin()
    day_open = np.log(day["open"].transform("first"))
    last_close = np.log(day["close"].last()).shift(1)
    relative_volume = volume / volume.rolling(200, min_periods=20).mean()
    cumulative_volume = relative_volume.groupby(session).cumsum()
    block = bars["timestamp"].dt.floor("4h")
    block_high = bars.groupby(block)["high"].cummax()
    block_open = np.log(bars.groupby(block)["open"].transform("first"))
    return {
        "last return": close.diff(),
        "close within the day's range": (bars["close"] - low) / (high - low),
        "distance to the day's high": close - np.log(high),
        "distance to the day's low": close - np.log(low),
        "return since the day's open": close - day_open,
        "overnight gap": day_open - session.map(last_close).astype(float),
        "day's volume signed by its return": cumulative_volume * np.sign(close - day_open),
        "bar's range": np.log(bars["high"] / bars["low"]),
        "return since the 4h bar's open": close - block_open,
        "distance to the 4h bar's high": close - np.log(block_high),
    }


def rank_correlation(a: pd.Series, b: pd.Series) -> float:
    both = a.notna() & b.notna() & np.isfinite(a)
    return float(a[both].rank().corr(b[both].rank()))


@pytest.mark.parametrize(("symbol", "start"), [("BTC/USDT", "2023-06-01"), ("AAPL", "2017-01-01")])
def test_past_bars_do_not_predict_the_next_hourly_return(symbol: str, start: str) -> None:
    bars = SyntheticProvider(42, now=lambda: NOW).fetch(
        parse_symbol(symbol), parse_timeframe("1h"), pd.Timestamp(start, tz="UTC"), NOW
    )
    local = bars["timestamp"].dt.tz_convert("UTC" if "/" in symbol else "America/New_York")
    session = local.dt.date
    following = np.log(bars["close"]).diff().shift(-1)
    ics = {
        name: rank_correlation(feature, following)
        for name, feature in past_only_features(bars, session).items()
        if feature.nunique() > 1
    }
    assert len(bars) > 14_000 and len(ics) >= 9
    worst = max(ics, key=lambda k: abs(ics[k]))
    assert abs(ics[worst]) < 0.03, f"{worst} predicts the next return: rank IC {ics[worst]:.3f}"
