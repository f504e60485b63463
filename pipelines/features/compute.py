"""Compute a feature set over a bars frame."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features.indicators import FeatureSet
from pipelines.features.inputs import BarData, utc_timestamps
from pipelines.features.labels import make_labels
from pipelines.features.sets import get_feature_set

__all__ = ["compute_features", "feature_block", "feature_columns", "resolve_feature_set", "warmup"]


def resolve_feature_set(feature_set: str | FeatureSet) -> FeatureSet:
    if isinstance(feature_set, FeatureSet):
        return feature_set
    if isinstance(feature_set, str):
        return get_feature_set(feature_set)
    raise InvalidRequestError(f"feature_set must be a name or a FeatureSet, got {type(feature_set).__name__}")


def feature_columns(feature_set: str | FeatureSet = "default") -> list[str]:
    """The feature column names ``compute_features`` produces, in order (``timestamp`` excluded)."""
    return resolve_feature_set(feature_set).columns


def compute_features(bars: pd.DataFrame, feature_set: str | FeatureSet = "default") -> pd.DataFrame:
    """Every feature of ``feature_set`` for ``bars``, row-aligned with it (same index and order).

    ``bars`` needs ``timestamp`` (tz-naive values are taken as UTC) and float ``open high low close
    volume``, sorted by strictly increasing time; other columns are ignored. Returns ``timestamp``
    (UTC, ns) followed by one float64 column per feature; values are NaN during an indicator's
    warm-up (so too few rows just gives NaN). A value at row t depends on rows 0..t only. Raises
    InvalidRequestError for a missing/ill-typed column, unsorted, duplicated or missing timestamps,
    or an unknown feature set.
    """
    fs = resolve_feature_set(feature_set)
    data = BarData.from_frame(bars)
    block = feature_block(data, fs)
    # block.T is a no-copy view; pandas stores it back as one (columns x rows) float64 block.
    frame = pd.DataFrame(block.T, index=bars.index, columns=fs.columns, copy=False)
    frame.insert(0, "timestamp", utc_timestamps(bars["timestamp"], data.ts_ns))
    return frame


def feature_block(data: BarData, feature_set: FeatureSet) -> npt.NDArray[np.float64]:
    """The features of validated bars as one (columns, bars) float64 block, in ``columns`` order.

    ``compute_features`` without the frame around it: what serving uses for the latest rows.
    """
    block = np.empty((len(feature_set.columns), len(data)))
    row = 0
    for step in feature_set.plan:
        step.func(data, list(block[row : row + step.width]), **step.params)
        row += step.width
    return block


def warmup() -> None:
    """Compile (or load from numba's on-disk cache) every kernel on a tiny synthetic series."""
    n = 80
    rng = np.random.default_rng(0)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    open_ = np.concatenate(([close[0]], close[:-1]))
    spread = np.abs(rng.normal(0.0, 0.005, n)) * close
    bars = pd.DataFrame(
        {
            "timestamp": pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC"),
            "open": open_,
            "high": np.maximum(open_, close) + spread,
            "low": np.minimum(open_, close) - spread,
            "close": close,
            "volume": rng.uniform(1.0, 10.0, n),
        }
    )
    compute_features(bars, "default")
    make_labels(bars)
