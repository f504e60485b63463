"""Rich tables shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:  # both modules import pandas, which listing models never needs
    from pipelines.app.market_data import DatasetSummary
    from pipelines.models.summaries import ModelSummary

__all__ = ["datasets_table", "models_table", "reports_table", "safe_cell"]


def safe_cell(text: str) -> str:
    """Stored text as one table cell: non-printable characters shown as escapes (a newline as
    ``\\n``), markup brackets shown literally, so a stored name cannot break or restyle the table."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return escape(shown)


def datasets_table(datasets: Iterable[DatasetSummary]) -> Table:
    table = Table(title="stored datasets")
    for col in ("symbol", "source", "tf", "bars", "first", "last", "close", "features"):
        table.add_column(col, justify="right" if col in ("bars", "close", "features") else "left")
    for d in datasets:
        table.add_row(
            safe_cell(d.symbol),
            safe_cell(d.source),
            safe_cell(d.timeframe),
            f"{d.rows:,}",
            str(d.first.date()),
            str(d.last.date()),
            f"{d.last_close:,.2f}",
            "" if d.feature_count is None else str(d.feature_count),
        )
    return table


def models_table(models: Iterable[ModelSummary]) -> Table:
    table = Table(title="registered models")
    for col in ("model", "type", "symbol", "tf", "device", "champion", "latest", "val_ic", "val_dir_acc"):
        table.add_column(col)
    for m in models:
        table.add_row(
            safe_cell(m.name),
            safe_cell(m.kind),
            safe_cell(m.symbol),
            safe_cell(m.timeframe),
            safe_cell(m.device),
            m.champion_version or "-",
            m.latest_version,
            f"{m.metrics.get('val_ic', float('nan')):.4f}",
            f"{m.metrics.get('val_directional_accuracy', float('nan')):.3f}",
        )
    return table


def _pct(value: Any) -> str:
    return "-" if value is None else f"{100 * value:+.1f}%"


def _num(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def reports_table(rows: Iterable[dict[str, Any]]) -> Table:
    """The latest report runs: each result, its excess annual return over buy and hold ("vs b&h")
    and the probability that its true Sharpe ratio is above 0 ("P(SR>0)")."""
    table = Table(title="out of sample: champion backtest | walk-forward (retrained per fold)")
    columns = ("return", "sharpe", "max dd", "vs b&h", "P(SR>0)")
    for col in ("model", *(f"bt {c}" for c in columns), *(f"wf {c}" for c in columns)):
        table.add_column(col, justify="left" if col == "model" else "right")
    for r in rows:
        cells = [r["model_name"]]
        for p in ("bt_", "wf_"):
            cells += [
                _pct(r.get(f"{p}total_return")),
                _num(r.get(f"{p}sharpe_ratio")),
                _pct(r.get(f"{p}max_drawdown")),
                _pct(r.get(f"{p}benchmark_excess_annual_return")),
                _num(r.get(f"{p}psr_vs_zero")),
            ]
        table.add_row(*cells)
    return table
