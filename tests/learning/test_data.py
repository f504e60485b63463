"""A processed dataset becomes a trainer's arrays; prediction inputs become a model's input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.datasets.profile import process
from pipelines.errors import InvalidRequestError
from pipelines.learning.base import FeatureSpec
from pipelines.learning.data import OHLCV_FEATURES, input_matrix, split_rows, train_data


def processed(frame: pd.DataFrame, kind: str) -> tuple[pd.DataFrame, dict[str, object]]:
    out = process(frame, kind, target=None, origin="t.csv")
    return out.frame, out.metadata


def test_table_encoding_labels_and_missing_values() -> None:
    frame = pd.DataFrame(
        {
            "size": [1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0],
            "colour": ["red", "blue", None, "red", "blue", "red", "green", "blue"],
            "flag": [True, False, True, False, True, False, True, False],
            "label": [1, 2, 1, 2, None, 1, 2, 1],
        }
    )
    data = train_data(*processed(frame, "classification"), 0.25, seed=0, dataset_type="classification")
    assert data.task == "classification" and data.classes == ("1", "2")  # 1.0 of a gappy column reads 1
    assert data.feature_names == ("size", "colour", "flag")
    spec = data.spec
    assert spec is not None and spec.target == "label"
    assert spec.categories == {"colour": ("blue", "green", "red")}
    assert spec.fill == {"size": 5.0, "flag": 0.0}  # the median of the labelled rows
    x = np.concatenate([data.x_train, data.x_val])
    assert x.dtype == np.float32 and x.shape == (7, 3)  # the unlabelled row is left out
    assert sorted(x[:, 1].tolist()) == [-1.0, 0.0, 0.0, 1.0, 2.0, 2.0, 2.0]
    assert 5.0 in x[:, 0]  # the missing size
    assert data.y_train.dtype == np.int64 and len(data.y_val) == 2
    assert sorted(data.y_val.tolist()) == [0, 1]  # one of each class: stratified


def test_stratified_split_keeps_class_shares_and_is_seeded() -> None:
    labels = np.array([0] * 90 + [1] * 10)
    train, val = split_rows(100, 0.2, seed=4, stratify=labels)
    assert len(val) == 20 and np.sum(labels[val] == 1) == 2
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(100))
    again = split_rows(100, 0.2, seed=4, stratify=labels)
    assert np.array_equal(val, again[1]) and np.array_equal(train, again[0])
    assert not np.array_equal(val, split_rows(100, 0.2, seed=5, stratify=labels)[1])


def test_a_table_with_dates_is_a_time_series_split_in_order() -> None:
    stamps = pd.date_range("2024-01-01", periods=10, freq="D")
    frame = pd.DataFrame({"day": stamps[::-1], "x": np.arange(10.0)[::-1], "y": np.arange(10.0)[::-1] * 2})
    data = train_data(*processed(frame, "regression"), 0.3, seed=0)
    assert data.time_series and data.task == "regression" and data.feature_names == ("x",)
    assert data.x_train[:, 0].tolist() == [0, 1, 2, 3, 4, 5, 6]  # sorted by day, oldest first
    assert data.x_val[:, 0].tolist() == [7, 8, 9]  # the tail validates
    assert data.y_val.tolist() == [14.0, 16.0, 18.0]


def bars(n: int) -> pd.DataFrame:
    close = 100 + np.cumsum(np.sin(np.arange(n)))
    return pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "open": close - 0.1,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": np.full(n, 1000.0),
        }
    )


def test_bars_are_the_next_bars_direction_in_time_order() -> None:
    frame, metadata = processed(bars(50), "ohlcv")
    data = train_data(frame, metadata, 0.2, seed=0)
    assert data.task == "classification" and data.time_series and data.classes == ("down", "up")
    assert data.feature_names == OHLCV_FEATURES
    assert len(data.y_train) == 38 and len(data.y_val) == 10  # first and last bar have no row
    close = frame["close"].to_numpy()
    up = (close[2:] > close[1:-1]).astype(np.int64)
    assert np.array_equal(np.concatenate([data.y_train, data.y_val]), up)
    returns = close[1:-1] / close[:-2] - 1
    np.testing.assert_allclose(np.concatenate([data.x_train, data.x_val])[:, 0], returns, rtol=1e-5)


def test_too_few_rows_are_refused() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0], "target": [1.0, 2.0]})
    with pytest.raises(InvalidRequestError, match="too few"):
        train_data(*processed(frame, "regression"), 0.9, seed=0)


SPEC = FeatureSpec(("a", "b", "colour"), {"colour": ("blue", "red")})


def test_input_matrix_reads_rows_and_windows() -> None:
    x = input_matrix([[0.5, 1, 0], [1.5, -2, 1]], SPEC)
    assert x.dtype == np.float32 and x.tolist() == [[0.5, 1, 0], [1.5, -2, 1]]
    nested = input_matrix([[[1, 2, 0], [3, 4, 1]]], SPEC, sequence_length=2)
    flat = input_matrix([[1, 2, 0, 3, 4, 1]], SPEC, sequence_length=2)
    assert nested.shape == (1, 2, 3) and np.array_equal(nested, flat)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "non-empty list"),
        ([[1, 2]], r"input 0 has 2 values; the model takes 3 \(a, b, colour\)"),
        ([[1, 2, 3], "abc"], "input 1 is not a list of numbers"),
        ([[1, "x", 3]], "input 0, feature 'b': 'x' is not a finite number"),
        ([[1, 2, True]], "feature 'colour': True is not a finite number"),
        ([[1, float("inf"), 3]], "feature 'b': inf is not a finite number"),
    ],
)
def test_input_matrix_refuses_bad_inputs(rows: list[object], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        input_matrix(rows, SPEC)


def test_input_matrix_refuses_a_short_window() -> None:
    with pytest.raises(InvalidRequestError, match="input 0 has 1 rows; the model takes windows of 2"):
        input_matrix([[[1, 2, 0]]], SPEC, sequence_length=2)


def test_feature_spec_round_trips_through_json() -> None:
    spec = FeatureSpec(("x",), {"x": ("a",)}, {"y": 1.5}, "ohlcv", None)
    assert FeatureSpec.from_dict(spec.as_dict()) == spec
