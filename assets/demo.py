"""``make demo``: run the platform's main jobs on the embedded default and show the result.

Runs the real Dagster jobs against the Dagster instance under $TRADEFORGE_HOME, so every run
appears in the Dagster UI afterwards: ``ingest_market_data`` for every universe symbol and year,
``build_features`` per symbol, then ``train_models`` and ``backtest_models`` per model spec
(MLflow runs, registered versions, the ``champion`` alias, backtest and walk-forward reports).
Synthetic data, no network.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Sequence

import dagster as dg
from rich.console import Console

from assets.definitions import build_definitions
from pipelines.app.demo_credentials import ensure_demo_credentials
from pipelines.app.market_data import dataset_summaries
from pipelines.app.reports import latest_reports
from pipelines.cli.progress import stage_progress
from pipelines.cli.tables import datasets_table, models_table, reports_table
from pipelines.data.universe import history_years, resolve_universe
from pipelines.models.specs import load_specs
from pipelines.models.summaries import list_models
from pipelines.models.tracking import open_tracker
from pipelines.runtime import dagster_env
from pipelines.settings import get_settings

console = Console()
# Every event is in the Dagster UI; the terminal shows progress and problems only.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
Step = tuple[str, str | dg.MultiPartitionKey]  # (job, partition key)


def step_labels(steps: Sequence[Step]) -> list[str]:
    """Each step as ``job partition (i/n)``, counted within its job: ``ingest_market_data AAPL|2019 (3/70)``
    is the third of 70 ingest runs."""
    totals = Counter(job for job, _ in steps)
    seen: Counter[str] = Counter()
    labels = []
    for job, key in steps:
        seen[job] += 1
        labels.append(f"{job} {key} ({seen[job]}/{totals[job]})")
    return labels


def main() -> None:
    settings = get_settings()
    os.environ.update(dagster_env(settings))
    defs = build_definitions(settings)
    instance = dg.DagsterInstance.get()
    items = resolve_universe(settings)
    steps: list[Step] = [
        ("ingest_market_data", dg.MultiPartitionKey({"symbol": i.key, "year": y}))
        for i in items
        for y in history_years(settings)
    ]
    steps += [("build_features", i.key) for i in items]
    specs = load_specs()
    steps += [("train_models", s.key) for s in specs]
    steps += [("backtest_models", s.key) for s in specs]
    console.rule(f"Tradeforge demo - home {settings.home.resolve()}")
    began = time.perf_counter()
    # A bar on a terminal, a line per run in a log; MLflow's INFO lines stay out of it.
    with stage_progress(True, "Dagster run", total=len(steps)) as update:
        for done, ((job_name, key), label) in enumerate(zip(steps, step_labels(steps), strict=True)):
            update(done, label)
            defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=key, run_config=QUIET
            )
    console.print(f"ran {len(steps)} Dagster runs in {time.perf_counter() - began:.1f} s")
    console.print(datasets_table(dataset_summaries(settings)))
    tracker = open_tracker(settings)
    console.print(models_table(list_models(tracker)))
    console.print(reports_table(latest_reports(tracker, [s.model_name for s in specs])))
    creds = ensure_demo_credentials(settings)
    model = specs[0].model_name
    api = f"http://127.0.0.1:{os.environ.get('PORT') or 8000}"
    console.print(
        "\nDagster UI  make dagster  -> http://127.0.0.1:3000  (assets, checks, runs, schedules)\n"
        "MLflow UI   make mlflow   -> http://127.0.0.1:5000  (an experiment per model; Models tab:\n"
        "            versions and the `champion` alias)\n"
        "CLI         .venv/bin/tradeforge --help   (data list, models list, train, query, ...)\n"
        f"API         {api}/docs  (Swagger UI; ReDoc at /redoc, OpenAPI at /openapi.json,\n"
        "            Prometheus at /metrics), served now: stop it with Ctrl-C\n"
        "Live        the recent synthetic market replayed 60x faster than real time (an hourly bar\n"
        "            a minute, source `replay`, never past now):\n"
        f"            {api.replace('http', 'ws', 1)}/api/v1/ws/prices/BTC_USDT?api_key=<key>\n"
        f"Demo login  user {creds['username']!r}, password {creds['password']!r} (admin, unlimited);\n"
        f"            API key {creds['api_key']}\n"
        f"            (kept in {settings.home.resolve() / 'demo_credentials.json'})\n"
        f"Try         curl -s -X POST {api}/api/v1/predictions/predict \\\n"
        f"              -H 'X-API-Key: {creds['api_key']}' -H 'Content-Type: application/json' \\\n"
        f'              -d \'{{"model_name": "{model}"}}\'',
        soft_wrap=True,
    )


if __name__ == "__main__":
    main()
