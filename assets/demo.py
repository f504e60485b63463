"""``make demo``: run the platform's main jobs on the embedded default and show the result.

Runs the real Dagster jobs (``ingest_market_data`` for every universe symbol and year, then
``build_features``) against the Dagster instance under $TRADEFORGE_HOME, so every run appears in
the Dagster UI afterwards. Synthetic data, no network.
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
from pipelines.runtime import dagster_env
from pipelines.settings import Settings, get_settings

console = Console()


def main() -> None:
    settings = get_settings()
    os.environ.update(dagster_env(settings))
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    items = resolve_universe(settings)
    years = history_years(settings)
    console.rule(f"Tradeforge demo - home {settings.home.resolve()}")
    began = time.perf_counter()
    ingest_job = defs.resolve_job_def("ingest_market_data")
    with console.status("") as status:
        for item in items:
            for year in years:
                status.update(f"ingest_market_data {item.symbol.name} {year}")
                key = dg.MultiPartitionKey({"symbol": item.key, "year": year})
                result = ingest_job.execute_in_process(
                    instance=instance, partition_key=key, raise_on_error=True
                )
                assert result.success
        features_job = defs.resolve_job_def("build_features")
        for item in items:
            status.update(f"build_features {item.symbol.name}")
            features_job.execute_in_process(instance=instance, partition_key=item.key, raise_on_error=True)
    console.print(
        f"ran {len(items) * len(years) + len(items)} Dagster runs in {time.perf_counter() - began:.1f} s"
    )
    summary(settings)
    console.print(
        "\nDagster UI:   [bold]make dagster[/]  (or .venv/bin/tradeforge dagster) -> http://127.0.0.1:3000\n"
        'Warehouse:    .venv/bin/tradeforge query "SELECT symbol, count(*) FROM bars GROUP BY ALL"\n'
        "Market data:  .venv/bin/tradeforge data list"
    )


def summary(settings: Settings) -> None:
    table = Table(title="stored datasets")
    for col in ("symbol", "source", "timeframe", "bars", "first", "last", "last close", "features"):
        table.add_column(col, justify="right" if col in ("bars", "last close", "features") else "left")
    for d in dataset_summaries(settings):
        table.add_row(
            d.symbol,
            d.source,
            d.timeframe,
            f"{d.rows:,}",
            str(d.first.date()),
            str(d.last),
            f"{d.last_close:,.2f}",
            "" if d.feature_count is None else str(d.feature_count),
        )
    console.print(table)


if __name__ == "__main__":
    main()
