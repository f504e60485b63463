"""Figures logged with training runs (matplotlib, headless)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["equity_figure", "feature_importance_figure", "objective_heatmap"]


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


def objective_heatmap(
    x_values: Sequence[float],
    y_values: Sequence[float],
    matrix: Any,
    x_name: str,
    y_name: str,
    title: str,
) -> Any:
    """A heat map of ``matrix`` (rows: ``y_values``, columns: ``x_values``), NaN cells (untried or
    undefined) left blank, with a colour bar; tick labels thinned to about 20 per axis."""
    import matplotlib

    matplotlib.use("Agg")
    import numpy as np
    from matplotlib.figure import Figure

    cells = np.ma.masked_invalid(np.asarray(matrix, dtype=np.float64))
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    image = ax.imshow(cells, origin="lower", aspect="auto", cmap="viridis", interpolation="nearest")
    for values, ticks in ((x_values, ax.set_xticks), (y_values, ax.set_yticks)):
        positions = list(range(0, len(values), max(1, len(values) // 20)))
        ticks(positions, [format(values[i], "g") for i in positions])
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(title)
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig
