"""Long per-bar series made short enough to answer: an equity curve of a million bars drawn with a
few thousand points that keep its shape.

The curve is cut into equal buckets of bars; each bucket keeps its lowest and its highest point (so
no spike or dip disappears), and the first and last points, the running peak before the deepest
drawdown and that drawdown's trough are always kept. The points keep their order and their values:
every point shown is a real bar's equity.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["DOWNSAMPLE_METHOD", "curve_points", "downsample_indices", "drawdown"]

DOWNSAMPLE_METHOD = "min-max per bucket; first, last, drawdown peak and trough kept"
IntArray = npt.NDArray[np.int64]


def drawdown(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Each point's fall from the running peak before it, as a negative fraction (0 at a peak)."""
    running_peak = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: npt.NDArray[np.float64] = np.where(running_peak > 0, values / running_peak - 1.0, 0.0)
    return out


def downsample_indices(values: npt.NDArray[np.float64], max_points: int) -> IntArray:
    """The positions of at most ``max_points`` (>= 4) points of ``values`` to show, ascending."""
    n = int(values.size)
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    trough = int(np.argmin(drawdown(values)))
    peak = int(np.argmax(values[: trough + 1]))
    keep = [0, n - 1, peak, trough]
    buckets = max(1, (max_points - len(keep)) // 2)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    for lo, hi in itertools.pairwise(edges.tolist()):
        if hi > lo:
            chunk = values[lo:hi]
            keep.extend((lo + int(np.argmin(chunk)), lo + int(np.argmax(chunk))))
    return np.unique(np.asarray(keep, dtype=np.int64))  # 4 + 2 * buckets <= max_points


def curve_points(
    timestamps_ns: IntArray, equity: npt.NDArray[np.float64], max_points: int | None
) -> dict[str, Any]:
    """``equity_curve`` as [[ISO time, equity], ...] (at most ``max_points``; None: every bar) and
    how it was drawn. Only the points shown are formatted."""
    total = int(equity.size)
    idx = np.arange(total) if max_points is None else downsample_indices(equity, max_points)
    times = pd.to_datetime(timestamps_ns[idx], utc=True).map(lambda t: t.isoformat())
    points = [[t, float(e)] for t, e in zip(times, equity[idx].tolist(), strict=True)]
    out: dict[str, Any] = {
        "equity_curve": points,
        "equity_curve_points": len(points),
        "equity_curve_total_points": total,
        "equity_curve_downsampled": len(points) < total,
    }
    if len(points) < total:
        out["equity_curve_method"] = DOWNSAMPLE_METHOD
    return out
