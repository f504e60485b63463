"""From a processed dataset (the stored table and its metadata) to a trainer's arrays, and from
prediction inputs (lists of numbers) to a model's input.

Tabular datasets (classification, regression): the target column is the metadata's ``target``;
rows without a target are left out. Features are the other columns: numbers as they are (a missing
one gets the column's median), booleans as 0/1, text (categorical) columns as *codes* (the index of
the value in the column's sorted values, -1 when missing), not one-hot, so that a model's input has
one number per dataset column and a prediction input is as wide as the dataset's feature list.
Date columns (datetimes, or text every value of which reads as a date) are not features; a table
with one is a time series ordered by the first of them (missing dates last).

Bar datasets (ohlcv) are a classification of the next bar's direction (``down`` / ``up``: its close
above this bar's close) from four per-bar features: ``return`` (close over the previous close, less
1), ``range`` ((high - low) / close), ``body`` ((close - open) / open) and ``volume_change``
(log(1 + volume) less the previous bar's); the first and the last bar have no row.

Split: classification rows are split per class (stratified) at random with ``seed``; regression rows
at random; time series keep their order and the last ``validation_split`` of the rows validate.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pandas.api import types as ptypes

from pipelines.errors import InvalidRequestError
from pipelines.learning.base import FeatureSpec, Task, TrainData

__all__ = [
    "OHLCV_FEATURES",
    "dataset_task",
    "date_columns",
    "input_matrix",
    "predictions",
    "split_rows",
    "train_data",
]

OHLCV_FEATURES = ("return", "range", "body", "volume_change")
MAX_PREDICTION_ROWS = 10_000


def dataset_task(metadata: Mapping[str, Any], dataset_type: str | None = None) -> Task:
    """The task a dataset trains: regression for a regression dataset, else classification (bars:
    the next bar's direction). Without ``dataset_type`` it is read from the metadata's target
    summary."""
    kind = dataset_type or _infer_type(metadata)
    return "regression" if kind == "regression" else "classification"


def _infer_type(metadata: Mapping[str, Any]) -> str:
    if metadata.get("target") is None:
        return "ohlcv"
    return "classification" if "num_classes" in metadata.get("target_summary", {}) else "regression"


def train_data(
    frame: pd.DataFrame,
    metadata: Mapping[str, Any],
    validation_split: float,
    *,
    seed: int = 0,
    dataset_type: str | None = None,
) -> TrainData:
    """The dataset's rows as arrays, split into training and validation rows.

    Raises ``InvalidRequestError`` when too few rows (or a single class) remain for training."""
    kind = dataset_type or _infer_type(metadata)
    task = dataset_task(metadata, kind)
    if kind == "ohlcv":
        x, target, spec = _bars(frame)
        time_series = True
    else:
        x, target, spec, time_series = _table(frame, str(metadata["target"]))
    if task == "classification":
        classes, y = _labels(target)
    else:
        classes, y = (), target.to_numpy(dtype=np.float64)
    stratify = y if task == "classification" and not time_series else None
    train, val = split_rows(len(y), validation_split, seed=seed, time_series=time_series, stratify=stratify)
    if len(train) < 2 or len(val) < 1:
        raise InvalidRequestError(
            f"the dataset has {len(y)} usable rows; too few to keep {validation_split:g} of them for "
            "validation and still train"
        )
    if task == "classification" and np.all(y[train] == y[train[0]]):
        raise InvalidRequestError("the training rows hold a single class; classification needs two")
    return TrainData(
        task=task,
        x_train=x[train],
        y_train=y[train],
        x_val=x[val],
        y_val=y[val],
        feature_names=spec.names,
        classes=classes,
        time_series=time_series,
        spec=spec,
    )


def split_rows(
    count: int,
    validation_split: float,
    *,
    seed: int = 0,
    time_series: bool = False,
    stratify: NDArray[np.int64] | None = None,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """(training, validation) indices of ``count`` rows: time series keep their order and validate
    on the tail; other rows are drawn at random (``seed``), per class of ``stratify`` when given
    (each class with two rows or more gives at least one to each side)."""
    if time_series:
        cut = count - round(count * validation_split)
        return np.arange(cut, dtype=np.int64), np.arange(cut, count, dtype=np.int64)
    rng = np.random.default_rng(seed)
    groups = (
        [np.arange(count)]
        if stratify is None
        else [np.flatnonzero(stratify == c) for c in np.unique(stratify)]
    )
    val: list[NDArray[np.int64]] = []
    for rows in groups:
        take = round(len(rows) * validation_split)
        if len(rows) >= 2:
            take = min(max(take, 1), len(rows) - 1)
        val.append(rng.permutation(rows)[:take])
    chosen = np.sort(np.concatenate(val)).astype(np.int64)
    kept = np.ones(count, dtype=bool)
    kept[chosen] = False  # the other rows in ascending order (a mask: setdiff1d hashes every row)
    return rng.permutation(np.flatnonzero(kept)).astype(np.int64), chosen


def _labels(target: pd.Series) -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """The class labels as text (integral floats without ``.0``: a column with gaps reads 1 as 1.0),
    sorted, and each row's index into them. The distinct values are found first (one hash pass),
    so only they are turned into text."""
    values = target
    if ptypes.is_float_dtype(values) and bool((values.dropna() % 1 == 0).all()):
        values = values.astype("Int64")
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = [str(u) for u in uniques]
    classes = tuple(sorted(set(text)))
    index = {c: i for i, c in enumerate(classes)}
    remap = np.array([index[t] for t in text], dtype=np.int64)
    return classes, remap[codes]


def _table(frame: pd.DataFrame, target: str) -> tuple[NDArray[np.float32], pd.Series, FeatureSpec, bool]:
    present = frame[target].notna()
    labelled = frame if bool(present.all()) else frame[present]
    times = {c: d for c in labelled.columns if c != target and (d := _dates(labelled[c])) is not None}
    if times:
        labelled = labelled.iloc[np.argsort(next(iter(times.values())).to_numpy(), kind="stable")]
    labelled = labelled.reset_index(drop=True)
    features = [c for c in labelled.columns if c != target and c not in times]
    if not features:
        raise InvalidRequestError("the dataset has no feature column a model can use (only dates)")
    # Filled column by column into the one float32 array (no float64 copy of the whole table), held
    # column-major while filling (contiguous writes), then made row-major in one blocked copy.
    x = np.empty((len(labelled), len(features)), dtype=np.float32, order="F")
    categories: dict[str, tuple[str, ...]] = {}
    fill: dict[str, float] = {}
    for j, name in enumerate(features):
        series = labelled[name]
        if ptypes.is_bool_dtype(series) or ptypes.is_numeric_dtype(series):
            values = series.astype(np.float64).to_numpy()
            finite = np.isfinite(values)
            whole = bool(finite.all())
            fill[str(name)] = float(np.median(values if whole else values[finite])) if finite.any() else 0.0
            x[:, j] = values
            if not whole:
                x[~finite, j] = fill[str(name)]
        else:
            text = series.astype(str).where(series.notna())
            known = tuple(sorted(set(text.dropna())))
            categories[str(name)] = known
            x[:, j] = pd.Categorical(text, categories=list(known)).codes
    spec = FeatureSpec(tuple(str(f) for f in features), categories, fill, "table", target)
    return np.ascontiguousarray(x), labelled[target], spec, bool(times)


def date_columns(frame: pd.DataFrame, target: str | None = None) -> list[str]:
    """The columns (but ``target``) that are dates by the rule training uses: datetimes, or text
    every value of which reads as a date. A table with one is a time series."""
    return [str(c) for c in frame.columns if c != target and _dates(frame[c]) is not None]


def _dates(series: pd.Series) -> pd.Series | None:
    """The column as UTC timestamps when it is one: a datetime column, or text whose every value
    reads as a date (ISO 8601, else one format throughout); None otherwise."""
    if ptypes.is_datetime64_any_dtype(series):
        return series
    if ptypes.is_numeric_dtype(series) or ptypes.is_bool_dtype(series):
        return None
    text = series.dropna()
    if text.empty or not text.map(lambda v: isinstance(v, str)).all():
        return None
    for fmt in ("ISO8601", None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandas warns when it falls back to guessing per value
            parsed = pd.to_datetime(series, errors="coerce", utc=True, format=fmt)
        if parsed[series.notna()].notna().all():
            return parsed
    return None


def _bars(frame: pd.DataFrame) -> tuple[NDArray[np.float32], pd.Series, FeatureSpec]:
    bars = frame.sort_values("timestamp", kind="stable") if "timestamp" in frame else frame
    close = bars["close"].to_numpy(dtype=np.float64)
    if len(close) < 3:
        raise InvalidRequestError("a bar dataset needs at least three bars to train on")
    x = ohlcv_features(bars)[1:-1]
    up = np.where(close[2:] > close[1:-1], "up", "down")
    spec = FeatureSpec(OHLCV_FEATURES, {}, {}, "ohlcv", None)
    return x, pd.Series(up), spec


def ohlcv_features(bars: pd.DataFrame) -> NDArray[np.float32]:
    """The per-bar features of ``OHLCV_FEATURES`` (the first bar's change features are 0)."""
    open_, high, low, close, volume = (
        bars[c].to_numpy(dtype=np.float64) for c in ("open", "high", "low", "close", "volume")
    )
    previous = np.concatenate([close[:1], close[:-1]])
    log_volume = np.log1p(np.maximum(np.nan_to_num(volume), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        features = np.column_stack(
            [
                close / previous - 1.0,
                (high - low) / close,
                (close - open_) / open_,
                np.diff(log_volume, prepend=log_volume[:1]),
            ]
        )
    out: NDArray[np.float32] = np.nan_to_num(features, nan=0.0, posinf=0.0, neginf=0.0).astype(np.float32)
    return out


def input_matrix(
    rows: Sequence[Any], spec: FeatureSpec, *, sequence_length: int | None = None
) -> NDArray[np.float32]:
    """Prediction inputs as a model's input: (rows, features) for tabular models; with
    ``sequence_length`` (sequence models) each input is a window, either ``sequence_length`` lists
    of the features or one flat list of ``sequence_length * features`` numbers, giving
    (rows, sequence_length, features). Text columns take their category code (see ``spec``).

    Raises ``InvalidRequestError`` naming the first bad input: not a list, wrong width, a value that
    is not a finite number."""
    if not isinstance(rows, list | tuple) or not rows:
        raise InvalidRequestError("inputs must be a non-empty list of input rows")
    if len(rows) > MAX_PREDICTION_ROWS:
        raise InvalidRequestError(f"at most {MAX_PREDICTION_ROWS} inputs per request; got {len(rows)}")
    width = len(spec.names)
    expected = width * (sequence_length or 1)
    out = np.empty((len(rows), expected), dtype=np.float32)
    for i, row in enumerate(rows):
        flat = _flatten(row, sequence_length, i)
        if len(flat) != expected:
            shape = f"{sequence_length} rows of {width}" if sequence_length else f"{width}"
            raise InvalidRequestError(
                f"input {i} has {len(flat)} values; the model takes {shape} ({', '.join(spec.names)})"
            )
        for j, value in enumerate(flat):
            if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
                name = spec.names[j % width]
                raise InvalidRequestError(f"input {i}, feature {name!r}: {value!r} is not a finite number")
            out[i, j] = value
    if sequence_length:
        return out.reshape(len(rows), sequence_length, width)
    return out


def _flatten(row: Any, sequence_length: int | None, index: int) -> list[Any]:
    if not isinstance(row, list | tuple):
        raise InvalidRequestError(f"input {index} is not a list of numbers")
    if sequence_length and row and all(isinstance(r, list | tuple) for r in row):
        if len(row) != sequence_length:
            raise InvalidRequestError(
                f"input {index} has {len(row)} rows; the model takes windows of {sequence_length}"
            )
        return [v for r in row for v in r]
    return list(row)


def predictions(output: NDArray[np.float64], classes: Sequence[str]) -> list[dict[str, Any]]:
    """``Predictor.predict_proba``'s output as the API answers it: per row ``class`` (the most
    probable of ``classes``) and its ``confidence`` for classifiers, ``value`` for regressors (no
    ``classes``)."""
    if not classes:
        return [{"value": v} for v in np.asarray(output, dtype=np.float64).tolist()]
    best = np.argmax(output, axis=1)
    names = np.asarray(classes, dtype=object)[best].tolist()
    confidence = np.asarray(output, dtype=np.float64)[np.arange(len(best)), best].tolist()
    return [{"class": c, "confidence": p} for c, p in zip(names, confidence, strict=True)]
