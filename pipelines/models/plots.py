"""Figures logged with training runs (matplotlib, headless)."""

from __future__ import annotations

from typing import Any

__all__ = ["equity_figure", "feature_importance_figure"]


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
