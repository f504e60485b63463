"""``make demo``: run the platform's main jobs on the embedded default and show the result.

Runs the real Dagster jobs against the Dagster instance under $TRADEFORGE_HOME, so every run
appears in the Dagster UI afterwards: ``ingest_market_data`` for every universe symbol and year,
``build_features`` per symbol, then ``train_models`` per model spec (MLflow runs, registered
versions, the ``champion`` alias). Synthetic data, no network.
"""

from __future__ import annotations

import os
import time

import dagster as dg
from rich.console import Console
from rich.table import Table

from assets.definitions import build_definitions
from pipelines.data.service import dataset_summaries
from pipelines.data.universe import history_years, resolve_universe
from pipelines.models.catalog import list_models
from pipelines.models.specs import load_specs
from pipelines.models.tracking import open_tracker
from pipelines.runtime import dagster_env
from pipelines.settings import Settings, get_settings

console = Console()


def main() -> None:
    settings = get_settings()
    os.environ.update(dagster_env(settings))
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    items = resolve_universe(settings)
    steps: list[tuple[str, str | dg.MultiPartitionKey, str]] = [
        ("ingest_market_data", dg.MultiPartitionKey({"symbol": i.key, "year": y}), f"{i.symbol.name} {y}")
        for i in items
        for y in history_years(settings)
    ]
    steps += [("build_features", i.key, i.symbol.name) for i in items]
    steps += [
        ("train_models", s.key, f"{s.model_name} ({s.kind.value}, {s.symbol} {s.timeframe})")
        for s in load_specs()
    ]
    console.rule(f"Tradeforge demo - home {settings.home.resolve()}")
    began = time.perf_counter()
    with console.status("") as status:
        for job_name, key, label in steps:
            status.update(f"{job_name} {label}")
            defs.resolve_job_def(job_name).execute_in_process(instance=instance, partition_key=key)
    console.print(f"ran {len(steps)} Dagster runs in {time.perf_counter() - began:.1f} s")
    datasets(settings)
    models(settings)
    console.print(
        "\nDagster UI  make dagster  -> http://127.0.0.1:3000  (assets, checks, runs, schedules)\n"
        "MLflow UI   make mlflow   -> http://127.0.0.1:5000  (an experiment per model; Models tab:\n"
        "            versions and the `champion` alias)\n"
        "CLI         .venv/bin/tradeforge --help   (data list, models list, train, query, ...)"
    )


def datasets(settings: Settings) -> None:
    table = Table(title="stored datasets")
    for col in ("symbol", "tf", "bars", "first", "last", "close", "features"):
        table.add_column(col, justify="right" if col in ("bars", "close", "features") else "left")
    for d in dataset_summaries(settings):
        table.add_row(
            d.symbol,
            d.timeframe,
            f"{d.rows:,}",
            str(d.first.date()),
            str(d.last.date()),
            f"{d.last_close:,.2f}",
            "" if d.feature_count is None else str(d.feature_count),
        )
    console.print(table)


def models(settings: Settings) -> None:
    table = Table(title="registered models")
    for col in ("model", "type", "symbol", "tf", "device", "champion", "val_ic", "val_dir_acc"):
        table.add_column(col)
    for m in list_models(open_tracker(settings)):
        table.add_row(
            m.name,
            m.kind,
            m.symbol,
            m.timeframe,
            m.device,
            m.champion_version or "-",
            f"{m.metrics.get('val_ic', float('nan')):.4f}",
            f"{m.metrics.get('val_directional_accuracy', float('nan')):.3f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
