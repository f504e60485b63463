"""Rich tables shared by the CLI and the demo."""

from __future__ import annotations

from collections.abc import Iterable

from rich.table import Table

from pipelines.data.service import DatasetSummary
from pipelines.models.catalog import ModelSummary

__all__ = ["datasets_table", "models_table"]


def datasets_table(datasets: Iterable[DatasetSummary]) -> Table:
    table = Table(title="stored datasets")
    for col in ("symbol", "source", "tf", "bars", "first", "last", "close", "features"):
        table.add_column(col, justify="right" if col in ("bars", "close", "features") else "left")
    for d in datasets:
        table.add_row(
            d.symbol,
            d.source,
            d.timeframe,
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
            m.name,
            m.kind,
            m.symbol,
            m.timeframe,
            m.device,
            m.champion_version or "-",
            m.latest_version,
            f"{m.metrics.get('val_ic', float('nan')):.4f}",
            f"{m.metrics.get('val_directional_accuracy', float('nan')):.3f}",
        )
    return table
