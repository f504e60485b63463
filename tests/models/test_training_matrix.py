"""Training matrices, log-return and OHLC targets, and the embargoed time split."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features
from pipelines.models.training_matrix import (
    build_training_data,
    make_ohlc_training_data,
    make_training_data,
    time_split,
)


def _bars(n: int = 6) -> pd.DataFrame:
    close = np.array([100.0, 110.0, 99.0, 120.0, 121.0, 90.0])[:n]
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="D", tz="UTC"),
            "open": close - 1.0,
            "high": close + 2.0,
            "low": close - 3.0,
            "close": close,
            "volume": 1.0,
        }
    )


def _table(bars: pd.DataFrame) -> pd.DataFrame:
    table = bars[["timestamp", "close"]].copy()
    table["f"] = np.arange(len(bars), dtype=float)
    table.loc[0, "f"] = np.nan  # warm-up
    return table


def test_time_split_exact_indices() -> None:
    split = time_split(100, 0.2, 5)
    assert split.train == range(0, 75)
    assert split.val == range(80, 100)
    assert split.embargo == 5
    assert time_split(50, 0.3, 0, min_train=5).train == range(0, 35)
    assert time_split(50, 0.3, 0, min_train=5).val == range(35, 50)


@pytest.mark.parametrize("vs", [0.0, 0.9, -0.1, 1.0, float("nan")])
def test_validation_split_out_of_range(vs: float) -> None:
    with pytest.raises(InvalidRequestError, match=r"validation_split must be > 0 and < 0\.9"):
        time_split(100, vs, 1)


def test_too_few_rows_says_why() -> None:
    with pytest.raises(InvalidRequestError, match="too few rows to train: 30 usable rows give 19 training"):
        time_split(30, 0.2, 5)
    with pytest.raises(InvalidRequestError, match="embargo"):
        time_split(100, 0.2, -1)


def test_log_return_target_and_dropped_rows() -> None:
    bars = _bars()
    data = make_training_data(_table(bars), ["f"], horizon=2)
    # row 0 dropped (NaN feature), rows 4 and 5 dropped (no bar 2 ahead)
    assert data.dropped_rows == 3
    assert data.x[:, 0].tolist() == [1.0, 2.0, 3.0]
    np.testing.assert_allclose(data.y, [math.log(120 / 110), math.log(121 / 99), math.log(90 / 120)])
    assert list(data.timestamps) == list(bars["timestamp"][1:4])
    assert data.target == "log_fwd_ret_2" and data.horizon == 2


def test_targets_come_from_bars_when_given() -> None:
    bars = _bars()
    table = _table(bars).drop(columns="close").iloc[[1, 3]]  # features on a subset of the bars
    data = make_training_data(table, ["f"], horizon=1, bars=bars)
    np.testing.assert_allclose(data.y, [math.log(99 / 110), math.log(121 / 120)])


def test_ohlc_targets_are_step_major_log_ratios() -> None:
    bars = _bars()
    data = make_ohlc_training_data(_table(bars), ["f"], bars, n_steps=2)
    assert data.y.shape == (3, 8)  # rows 1..3 have a feature and two bars ahead
    # row 1 (close 110): bar 2 (o 98, h 101, l 96, c 99), then bar 3 (o 119, h 122, l 117, c 120)
    np.testing.assert_allclose(data.y[0], np.log(np.array([98, 101, 96, 99, 119, 122, 117, 120]) / 110.0))
    # row 2 (close 99): bars 3 and 4
    np.testing.assert_allclose(data.y[1], np.log(np.array([119, 122, 117, 120, 120, 123, 118, 121]) / 99.0))
    assert data.target == "ohlc_log_ratio_2"


def test_bad_inputs() -> None:
    bars = _bars()
    with pytest.raises(InvalidRequestError, match=r"lacks columns \['g'\]"):
        make_training_data(_table(bars), ["g"], 1)
    with pytest.raises(InvalidRequestError, match="horizon must be"):
        make_training_data(_table(bars), ["f"], 0)
    with pytest.raises(InvalidRequestError, match="strictly increasing"):
        make_training_data(_table(bars).iloc[::-1], ["f"], 1)
    with pytest.raises(InvalidRequestError, match="no bar with the same timestamp"):
        make_ohlc_training_data(_table(bars), ["f"], bars.iloc[2:], 1)
    with pytest.raises(InvalidRequestError, match="no usable rows"):
        make_training_data(_table(bars), ["f"], 6)


@pytest.fixture(scope="module")
def synthetic() -> tuple[pd.DataFrame, pd.DataFrame]:
    provider = SyntheticProvider(42, now=lambda: pd.Timestamp("2025-01-01", tz="UTC"))
    bars = provider.fetch(
        parse_symbol("AAPL"),
        parse_timeframe("1d"),
        pd.Timestamp("2022-01-01", tz="UTC"),
        pd.Timestamp("2025-01-01", tz="UTC"),
    )
    return bars, compute_features(bars, "default")


def test_build_training_data_on_synthetic_bars(synthetic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    bars, features = synthetic
    names = [c for c in features.columns if c != "timestamp"]
    data = build_training_data(bars, features, names, kind="random_forest", horizon=5, validation_split=0.25)
    assert data.embargo == 5 and data.x_stop is None and data.early_stopping_rows == 0
    assert data.x_train.shape[1] == len(names)
    assert np.isfinite(data.x_train).all() and np.isfinite(data.y_val).all()
    n = data.train_rows + data.embargo + data.val_rows
    assert data.val_rows == round(n * 0.25)
    assert data.outputs == ["predicted_return"]
    # train ends, an embargo of 5 bars passes, validation starts
    train_end, val_start = pd.Timestamp(data.ranges["train_end"]), pd.Timestamp(data.ranges["val_start"])
    ts = pd.DatetimeIndex(bars["timestamp"])
    last_train, first_val = int(ts.searchsorted(train_end)), int(ts.searchsorted(val_start))
    assert first_val - last_train == 6
    # the last training label ends before the validation period starts
    assert last_train + 5 < first_val
    close = bars["close"].to_numpy()
    assert data.y_val[0] == pytest.approx(math.log(close[first_val + 5] / close[first_val]))


def test_build_training_data_for_multi_ohlc(synthetic: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    bars, features = synthetic
    names = ["rsi_14", "sma_20"]
    data = build_training_data(bars, features, names, kind="multi_ohlc", params={"n_steps": 3})
    assert data.y_train.shape[1] == 12 and data.horizon == 3 and data.embargo == 3
    assert data.outputs[:4] == ["open_t+1", "high_t+1", "low_t+1", "close_t+1"]
    # high >= close >= low in every step, so the log-ratios keep that order
    y = data.y_train.reshape(len(data.y_train), 3, 4)
    assert (y[:, :, 1] >= y[:, :, 3]).all() and (y[:, :, 3] >= y[:, :, 2]).all()
