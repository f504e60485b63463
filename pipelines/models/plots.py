"""Figures logged with training runs (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["equity_figure", "feature_importance_figure", "heatmap_figure"]


def feature_importance_figure(importance: dict[str, float], title: str, top: int = 25) -> Any:
    """A horizontal bar chart of the ``top`` most important features."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    items = sorted(importance.items(), key=lambda kv: abs(kv[1]), reverse=True)[:top][::-1]
    fig = Figure(figsize=(8, max(3.0, 0.28 * len(items) + 1)))
    ax = fig.add_subplot()
    ax.barh([k for k, _ in items], [v for _, v in items], color="#3b6ea8")
    ax.set_title(f"{title}: feature importance")
    ax.set_xlabel("importance")
    fig.tight_layout()
    return fig


def equity_figure(curves: dict[str, Any], title: str) -> Any:
    """Equity curves (label -> pandas Series indexed by time) on one chart."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 4.5))
    ax = fig.add_subplot()
    for label, series in curves.items():
        ax.plot(series.index, series.to_numpy(), label=label, linewidth=1.2)
    ax.set_title(title)
    ax.set_ylabel("equity")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def heatmap_figure(
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    values: Any,
    title: str,
    *,
    x_label: str = "x",
    y_label: str = "y",
    value_label: str = "value",
) -> Any:
    """A heat map of ``values`` (rows: ``y_values``, columns: ``x_values``; NaN where nothing was
    tried, drawn blank) with a colour bar: an objective over two parameters of a search or sweep."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    grid = np.ma.masked_invalid(np.asarray(values, dtype=float))
    if grid.shape != (len(y_values), len(x_values)):
        raise ValueError(f"values are {grid.shape}, not {len(y_values)} rows x {len(x_values)} columns")
    fig = Figure(figsize=(max(5.0, 0.3 * len(x_values) + 3), max(4.0, 0.25 * len(y_values) + 2)))
    ax = fig.add_subplot()
    mesh = ax.pcolormesh(np.arange(len(x_values) + 1), np.arange(len(y_values) + 1), grid, cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=value_label)
    for axis, labels in ((ax.xaxis, x_values), (ax.yaxis, y_values)):
        every = max(1, len(labels) // 20)  # at most about 20 tick labels an axis
        axis.set_ticks([i + 0.5 for i in range(0, len(labels), every)])
        axis.set_ticklabels([_tick(v) for v in list(labels)[::every]])
    ax.set_xlabel(x_label)
    ax.set_ylabel(y_label)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def _tick(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
