"""Dagster steps on Celery workers against the in-process executor, on the same partitions.

``--partitions`` (default 100) ``market_bars`` partitions (synthetic daily bars, symbol x year: 20
symbols x 5 years for 100) are materialized twice in the same run, on one Dagster instance in a
PostgreSQL database of the run's own:

1. in process: one after another with ``execute_in_process`` (the step runs in the caller);
2. through Celery: ``--workers`` (default 2) ``tradeforge dagster worker`` processes, one step at a
   time each, on RabbitMQ (127.0.0.1:5672, queues of the run's own), with ``--coordinators`` (default
   4) runs in flight at once, each run's coordinator queuing its step and waiting for its events.

The stored bars are removed between the two, so both write the same data (seed 42). Reported: the
wall time of each, per partition, the Celery overhead per partition ((Celery - in process) / N) and
the ratio Celery / in process; the workers' start-up is measured apart. Needs RabbitMQ and PostgreSQL
on 127.0.0.1. JSON results in benchmarks/results/bench_celery.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _processes import machine, versions

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SEED = 42
SYMBOLS = [f"SYN{i:02d}" for i in range(100)]


def universe(partitions: int) -> tuple[list[str], int]:
    """Symbols and years whose product is ``partitions`` (5 years a symbol when it divides)."""
    years = 5 if partitions % 5 == 0 else 1
    return SYMBOLS[: partitions // years], years


def in_process(partitions: list[str]) -> float:
    import dagster as dg

    from assets.definitions import defs
    from tests.celery_support import QUIET

    job = defs.resolve_job_def("ingest_market_data")
    began = time.perf_counter()
    with dg.DagsterInstance.get() as instance:
        for key in partitions:
            result = job.execute_in_process(partition_key=key, instance=instance, run_config=QUIET)
            assert result.success, key
    return time.perf_counter() - began


def run(env: dict[str, str], work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from pipelines.runtime import dagster_env
    from pipelines.settings import get_settings
    from tests.celery_support import celery_workers, fresh_code_location, materialize

    os.environ.update(env)
    settings = get_settings()
    os.environ.update(dagster_env(settings))
    with fresh_code_location():
        from assets.definitions import defs

        keys = list(defs.resolve_job_def("ingest_market_data").partitions_def.get_partition_keys())
        assert len(keys) == args.partitions, (len(keys), args.partitions)
        baseline = in_process(keys)
        shutil.rmtree(settings.market_dir)
        settings.warehouse_path.unlink(missing_ok=True)
        began = time.perf_counter()
        names = [f"w{i}" for i in range(args.workers)]
        with celery_workers(os.environ, names, work):
            started = time.perf_counter() - began
            began = time.perf_counter()
            runs = materialize("ingest_market_data", keys, processes=args.coordinators)
            celery = time.perf_counter() - began
    assert all(r.success for r in runs), [r.partition for r in runs if not r.success]
    n = len(keys)
    return {
        "partitions": n,
        "workers": args.workers,
        "coordinators": args.coordinators,
        "in_process_seconds": round(baseline, 2),
        "celery_seconds": round(celery, 2),
        "in_process_per_partition_s": round(baseline / n, 3),
        "celery_per_partition_s": round(celery / n, 3),
        "celery_overhead_per_partition_s": round((celery - baseline) / n, 3),
        "ratio_celery_vs_in_process": round(celery / baseline, 2),
        "mean_run_latency_celery_s": round(sum(r.seconds for r in runs) / n, 2),
        "workers_start_seconds": round(started, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--partitions", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--coordinators", type=int, default=4)
    args = parser.parse_args()
    from tests.celery_support import celery_env, scratch_pg_database, services_missing

    missing = services_missing()
    if missing:
        sys.exit(missing)
    symbols, years = universe(args.partitions)
    first = datetime.now(UTC).year - years + 1
    results: dict[str, Any] = {
        "seed": SEED,
        "machine": machine(None),
        "versions": versions("dagster", "dagster-celery", "dagster-postgres", "celery"),
    }
    with tempfile.TemporaryDirectory(prefix="bench-celery-") as tmp, scratch_pg_database() as pg_url:
        env = celery_env(Path(tmp) / "home", pg_url, symbols, f"{first}-01-01")
        env["TRADEFORGE_SYNTHETIC_SEED"] = str(SEED)
        results |= run(env, Path(tmp), args)
    results["machine"]["loadavg_after"] = os.getloadavg()
    out = HERE / "results" / "bench_celery.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(
        f"per partition: in process {results['in_process_per_partition_s']} s, Celery "
        f"{results['celery_per_partition_s']} s; overhead {results['celery_overhead_per_partition_s']} s "
        f"(goal <= 0.5 s); Celery / in process = {results['ratio_celery_vs_in_process']}x"
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
