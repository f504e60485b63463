"""FeatureStream: new bars' features resumed from kernel states equal the full computation, bit for bit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.errors import InvalidRequestError
from pipelines.features import FeatureSet, IndicatorSpec, get_feature_set, list_indicators
from pipelines.features._kernels import RESYNC
from pipelines.features._tape import Tape, TapeMismatchError
from pipelines.features.compute import feature_block
from pipelines.features.inputs import BarData
from pipelines.features.stream import FeatureStream, GrowingBars, stream_lookback

from .conftest import random_bars

EVERY_INDICATOR = FeatureSet("every", tuple(IndicatorSpec(ind.name) for ind in list_indicators()))
# Other parameters than the defaults: longer and shorter windows, periods given out of order.
VARIANTS = FeatureSet(
    "variants",
    (
        IndicatorSpec("sma", {"period": 3}),
        IndicatorSpec("ema", {"period": 120}),
        IndicatorSpec("bb", {"period": 7, "nbdev": 1.5}),
        IndicatorSpec("stochrsi", {"period": 5, "k_period": 9, "d_period": 4}),
        IndicatorSpec("ultosc", {"short": 3, "medium": 20, "long": 11}),
        IndicatorSpec("macd", {"fast": 30, "slow": 8, "signal": 5}),
        IndicatorSpec("aroon", {"period": 40}),
        IndicatorSpec("ichimoku", {"tenkan": 5, "kijun": 17, "senkou": 90}),
        IndicatorSpec("psar", {"accel": 0.05, "maximum": 0.3}),
        IndicatorSpec("ret_lag", {"period": 3, "lags": 7}),
        IndicatorSpec("adosc", {"fast": 2, "slow": 21}),
        IndicatorSpec("hma", {"period": 30}),
        IndicatorSpec("mfi", {"period": 5}),
        IndicatorSpec("vortex", {"period": 33}),
        IndicatorSpec("adx", {"period": 6}),
    ),
)
# Bars per update: single bars, bursts, one longer than the lookback of every set here.
STEPS = (1, 1, 2, 1, 5, 1, 3, 1, 1, 64, 1, 1, 500, 1, 1)


def _bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint64)


def _replay(fs: FeatureSet, data: BarData, first: int, rows: int = 4) -> FeatureStream:
    """Stream ``data`` from ``first`` bars on in STEPS and compare every answer with the full block."""
    full = feature_block(data, fs)
    stream = FeatureStream(fs)
    stream.tail(data.window(0, first), rows)
    seen = first
    for step in STEPS:
        seen = min(seen + step, len(data))
        got = stream.tail(data.window(0, seen), rows)
        want = full[:, seen - rows : seen].T
        differ = [
            fs.columns[j]
            for j in range(want.shape[1])
            if not np.array_equal(_bits(got[:, j]), _bits(want[:, j]))
        ]
        assert not differ, f"after bar {seen}: {differ}"
    return stream


@pytest.mark.parametrize(
    "fs", [EVERY_INDICATOR, get_feature_set("default"), VARIANTS], ids=lambda fs: fs.name
)
def test_replayed_rows_are_bit_identical_to_the_full_computation(fs: FeatureSet) -> None:
    """Hourly bars, so the run crosses UTC midnights (VWAP's session reset) and, from bar 1000 on, a
    kernel re-sync (every RESYNC bars) inside the replayed stretch."""
    n = 1000 + sum(STEPS)
    data = BarData.from_frame(random_bars(n, seed=7))
    assert stream_lookback(fs) < 1000 < RESYNC < n
    stream = _replay(fs, data, 1000)
    assert stream.replays == len(STEPS)  # every update came from the states, none from a full run


def test_minute_bars_replay_across_a_day_boundary() -> None:
    fs = get_feature_set("minimal")
    data = BarData.from_frame(random_bars(2200, seed=11, start="2024-03-01", freq="1min"))
    stream = _replay(fs, data, 1400)  # the first day ends at bar 1440
    assert stream.replays == len(STEPS)


def test_nan_prices_propagate_as_in_the_full_computation() -> None:
    """A missing close among the new bars (and after them) gives what the full run gives there."""
    frame = random_bars(1200, seed=3)
    frame.loc[1003, "close"] = np.nan
    frame.loc[1010, ["high", "volume"]] = np.nan
    data = BarData.from_frame(frame)
    _replay(get_feature_set("default"), data, 1000)


def test_short_or_changed_histories_fall_back_to_the_full_computation() -> None:
    fs = get_feature_set("minimal")
    lookback = stream_lookback(fs)
    data = BarData.from_frame(random_bars(lookback + 50, seed=5))
    full = feature_block(data, fs)
    stream = FeatureStream(fs)
    # Shorter than the lookback: no replay, yet the rows are right.
    for seen in (lookback // 2, lookback // 2 + 1, lookback - 1):
        assert np.array_equal(
            stream.tail(data.window(0, seen), 2), full[:, seen - 2 : seen].T, equal_nan=True
        )
    assert stream.replays == 0
    stream.tail(data.window(0, lookback + 10), 2)
    assert np.array_equal(
        stream.tail(data.window(0, lookback + 11), 2), full[:, lookback + 9 : lookback + 11].T
    )
    assert stream.replays == 1
    # More rows than held, or bars that do not extend the seen ones: computed in full.
    assert np.array_equal(
        stream.tail(data.window(0, lookback + 12), 8), full[:, lookback + 4 : lookback + 12].T
    )
    other = BarData.from_frame(random_bars(lookback + 50, seed=6))  # the same timestamps, other prices
    assert np.array_equal(stream.tail(other, 1), feature_block(other, fs)[:, -1:].T)
    assert stream.replays == 1
    assert np.array_equal(stream.tail(data, 1), full[:, -1:].T)  # and back: the seen bar differs again
    assert stream.replays == 1
    # The same bars again: the held rows themselves, nothing computed.
    rows = stream.tail(data, 1)
    assert stream.tail(data, 1) is rows or np.shares_memory(stream.tail(data, 1), rows)
    assert not rows.flags.writeable


def test_a_tape_replays_only_what_it_recorded() -> None:
    tape = Tape(lookback=10)
    with pytest.raises(TapeMismatchError, match="no complete recording"), tape.replaying(1):
        pass
    bars = BarData.from_frame(random_bars(40, seed=1))
    sma = FeatureSet("one", (IndicatorSpec("sma", {"period": 5}),))
    with tape.recording(len(bars)):
        feature_block(bars, sma)
    assert tape.replayable and len(tape.sites) == 1
    # A replay that calls other kernels than the recording is refused, and leaves it unusable.
    rsi = FeatureSet("other", (IndicatorSpec("rsi", {"period": 5}),))
    with pytest.raises(TapeMismatchError, match="differs from the recording"), tape.replaying(1):
        feature_block(bars.window(29, 40), rsi)
    assert not tape.replayable
    # Too short to warm up every kernel: recorded, but not replayable.
    with tape.recording(8):
        feature_block(bars.window(0, 8), sma)
    assert not tape.replayable


def test_stream_lookback_covers_the_longest_indicator() -> None:
    fs = FeatureSet("x", (IndicatorSpec("sma", {"period": 200}), IndicatorSpec("ichimoku")))
    assert stream_lookback(fs) == 2 * 200 + 32
    assert stream_lookback(FeatureSet("y", (IndicatorSpec("ichimoku"),))) == 2 * (9 + 26 + 52) + 32
    assert stream_lookback(FeatureSet("z", (IndicatorSpec("psar"),))) == 32  # float parameters only


def test_frame_and_window_share_the_bars() -> None:
    frame = random_bars(30, seed=2)
    data = BarData.from_frame(frame)
    part = data.window(10, 20)
    assert len(part) == 10 and np.shares_memory(part.close, data.close)
    assert np.array_equal(part.close, frame["close"].to_numpy()[10:20])
    assert pd.Timestamp(int(part.ts_ns[0]), tz="UTC") == frame["timestamp"].iloc[10]


def test_growing_bars_stream_as_the_whole_series_and_earlier_views_stay_put() -> None:
    frame = random_bars(900, seed=4)
    data = BarData.from_frame(frame)
    fs = get_feature_set("default")
    full = feature_block(data, fs)
    grown = GrowingBars(data.window(0, 600))
    stream = FeatureStream(fs)
    stream.tail(grown.data(), 2)
    before = grown.data()
    for i in range(600, 900, 50):  # past the first buffer's size: the bars move to a larger one
        grown.append(data.window(i, i + 50))
        got = stream.tail(grown.data(), 2)
        assert np.array_equal(_bits(got), _bits(full[:, i + 48 : i + 50].T))
    assert len(grown) == 900 and grown.last_ns == int(data.ts_ns[-1]) and stream.replays == 6
    assert len(before) == 600 and np.array_equal(before.close, data.close[:600])
    with pytest.raises(InvalidRequestError, match="start after the last bar"):
        grown.append(data.window(899, 900))
