"""Training targets. Labels are the one place allowed to look ahead, so they never join a FeatureSet."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.features.inputs import BarData, utc_timestamps

__all__ = ["DEFAULT_HORIZONS", "LABEL_PREFIX", "label_columns", "make_labels"]

DEFAULT_HORIZONS = (1, 5, 20)
LABEL_PREFIX = "label_"


def _horizons(horizons: Iterable[int]) -> list[int]:
    out: list[int] = []
    for h in horizons:
        if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
            raise InvalidRequestError(f"label horizons must be positive integers, got {h!r}")
        if int(h) not in out:
            out.append(int(h))
    if not out:
        raise InvalidRequestError("at least one label horizon is required")
    return out


def label_columns(horizons: Iterable[int] = DEFAULT_HORIZONS) -> list[str]:
    return [name for h in _horizons(horizons) for name in (f"label_fwd_ret_{h}", f"label_fwd_dir_{h}")]


def make_labels(bars: pd.DataFrame, horizons: Iterable[int] = DEFAULT_HORIZONS) -> pd.DataFrame:
    """Forward returns and directions, row-aligned with ``bars``.

    ``label_fwd_ret_{n}`` = close[t+n]/close[t] - 1 and ``label_fwd_dir_{n}`` = 1.0 when that return
    is positive, else 0.0; both are NaN for the last n rows, whose future bar is absent.
    """
    hs = _horizons(horizons)
    data = BarData.from_frame(bars)
    close = data.close
    n = len(data)
    columns: dict[str, np.ndarray] = {}
    for h in hs:
        ret = np.full(n, np.nan)
        if h < n:
            with np.errstate(divide="ignore", invalid="ignore"):
                ret[: n - h] = close[h:] / close[: n - h] - 1.0
        direction = np.where(np.isnan(ret), np.nan, (ret > 0.0).astype(np.float64))
        columns[f"label_fwd_ret_{h}"] = ret
        columns[f"label_fwd_dir_{h}"] = direction
    out = pd.DataFrame(columns, index=bars.index)
    out.insert(0, "timestamp", utc_timestamps(bars["timestamp"], data.ts_ns))
    return out
