"""Checking tables by dataset type: the metadata of good ones, a named problem for bad ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.datasets import check_dataset_type, process
from pipelines.errors import InvalidRequestError


def _bars(n: int = 30, freq: str = "1D", start: str = "2024-01-01", **extra: object) -> pd.DataFrame:
    stamps = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    close = 100 + np.arange(n, dtype=float)
    frame = pd.DataFrame(
        {
            "Date": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Open": close - 0.5,
            "High": close + 1,
            "Low": close - 1,
            "Close": close,
            "Volume": 1000.0,
        }
    )
    for key, value in extra.items():
        frame[key] = value
    return frame


def test_classification_metadata_counts_classes_and_profiles_columns() -> None:
    frame = pd.DataFrame(
        {
            "rsi": [30.0, 70.0, None, 50.0],
            "sector": ["tech", "tech", "energy", "tech"],
            "flat": [1, 1, 1, 1],
            "Label": ["up", "down", "up", None],
        }
    )
    out = process(frame, "classification", target=None, origin="x.csv")
    meta = out.metadata
    assert meta["rows"] == 4 and meta["columns"] == 4
    assert meta["target"] == "Label" and meta["target_source"] == "named 'label'"
    assert meta["features"] == ["rsi", "sector", "flat"]
    assert meta["rows_without_target"] == 1
    assert meta["target_summary"] == {"num_classes": 2, "classes": {"up": 2, "down": 1}}
    assert meta["column_types"] == {
        "rsi": "numeric",
        "sector": "categorical",
        "flat": "numeric",
        "Label": "categorical",
    }
    assert meta["missing_values"] == {"rsi": 1, "Label": 1}
    assert meta["constant_columns"] == ["flat"]
    assert out.frame.shape == (4, 4)


def test_regression_target_given_or_last_column() -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "ret": [0.1, -0.2, 0.4]})
    meta = process(frame, "regression", target="RET", origin="x.csv").metadata
    assert meta["target"] == "ret" and meta["target_source"] == "given"
    summary = meta["target_summary"]
    assert summary["min"] == pytest.approx(-0.2) and summary["max"] == pytest.approx(0.4)
    assert summary["mean"] == pytest.approx(0.1) and summary["std"] == pytest.approx(0.3)
    assert (
        process(frame, "regression", target=None, origin="x.csv").metadata["target_source"] == "last column"
    )


def test_mixed_object_columns_become_text_so_parquet_can_store_them() -> None:
    frame = pd.DataFrame({"mixed": [1, "a", None], "y": [0, 1, 0]})
    out = process(frame, "classification", target="y", origin="x.json")
    assert out.frame["mixed"].tolist()[:2] == ["1", "a"] and out.frame["mixed"].isna().tolist()[2]
    assert frame["mixed"].tolist()[0] == 1, "the caller's frame is not changed"


@pytest.mark.parametrize(
    ("frame", "dataset_type", "target", "problem"),
    [
        (pd.DataFrame({"a": []}), "classification", None, "has no rows"),
        (pd.DataFrame({"y": [1, 2]}), "regression", None, "only the target column 'y'"),
        (pd.DataFrame({"x": [1, 2], "y": ["a", "b"]}), "regression", None, "non-numeric value 'a'"),
        (pd.DataFrame({"x": [1, 2], "y": [1.0, np.inf]}), "regression", None, "infinite values"),
        (pd.DataFrame({"x": [1, 2], "y": [None, None]}), "regression", None, "no value in its target"),
        (pd.DataFrame({"x": [1, 2], "y": ["a", "a"]}), "classification", None, "single class 'a'"),
        (pd.DataFrame({"x": range(1001), "y": range(1001)}), "classification", None, "1001 classes"),
        (pd.DataFrame({"x": [1, 2], "y": [0, 1]}), "classification", "z", "no target column 'z'"),
        (pd.DataFrame({"x": [1], "Unnamed: 1": [2]}), "classification", None, "without a name at position"),
    ],
)
def test_bad_tables_are_refused_with_the_reason(
    frame: pd.DataFrame, dataset_type: str, target: str | None, problem: str
) -> None:
    with pytest.raises(InvalidRequestError) as err:
        process(frame, dataset_type, target=target, origin="upload.csv")
    assert "'upload.csv'" in str(err.value) and problem in str(err.value)


def test_ohlcv_bars_are_sorted_checked_and_described() -> None:
    frame = _bars(30).iloc[::-1]  # newest first, as many exports are
    out = process(frame, "ohlcv", target=None, origin="spy.csv")
    meta = out.metadata
    assert list(out.frame.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert out.frame["timestamp"].is_monotonic_increasing
    assert meta["rows"] == 30 and meta["timeframe"] == "1d" and meta["target"] is None
    assert meta["start"] == "2024-01-01T00:00:00+00:00" and meta["end"] == "2024-01-30T00:00:00+00:00"
    assert meta["quality"]["passed"] is True and meta["symbol"] is None


@pytest.mark.parametrize(("freq", "name"), [("1h", "1h"), ("5min", "5m"), ("7D", "1wk"), ("MS", "1mo")])
def test_the_timeframe_is_the_typical_bar_spacing(freq: str, name: str) -> None:
    assert process(_bars(24, freq), "ohlcv", target=None, origin="b.csv").metadata["timeframe"] == name


def test_stock_days_with_weekends_are_daily_bars_of_the_named_symbol() -> None:
    frame = _bars(40, "B", symbol="AAPL")  # business days: weekends are not gaps for a stock
    meta = process(frame, "ohlcv", target=None, origin="aapl.csv").metadata
    assert meta["timeframe"] == "1d" and meta["symbol"] == "AAPL"


@pytest.mark.parametrize(
    ("frame", "problem"),
    [
        (
            _bars(30).assign(High=50.0),
            "breaks the bar quality rules: 30 rows with high below max(open, close)",
        ),
        (pd.concat([_bars(5), _bars(5)]), "duplicate timestamps"),
        (_bars(1), "fewer than two bars"),
        (_bars(10, "3D"), "259200 s apart"),
        (_bars(10, symbol=["AAPL", "MSFT"] * 5), "names 2 symbols (AAPL, MSFT)"),
        (_bars(10).drop(columns=["Close"]), "no column(s) close; found columns"),
    ],
)
def test_bad_bars_are_refused_with_the_reason(frame: pd.DataFrame, problem: str) -> None:
    with pytest.raises(InvalidRequestError, match=r"spy\.csv") as err:
        process(frame, "ohlcv", target=None, origin="spy.csv")
    assert problem in str(err.value)


def test_dataset_types_and_aliases() -> None:
    assert check_dataset_type(" Classification ") == "classification"
    assert check_dataset_type("bars") == "ohlcv"
    with pytest.raises(InvalidRequestError, match="expected one of: classification, regression, ohlcv"):
        check_dataset_type("images")
