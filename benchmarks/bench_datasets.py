"""Dataset uploads (/datasets): what processing costs, against plain pandas on the same file.

One seeded table (``--rows`` rows of 12 normal features and an up/down label) as CSV, Parquet and
a ZIP of the CSV. For each file:

- ``job``: the whole path of an upload through the catalogue and a real job queue, from the call
  to ``ready`` (saving the upload, a spawned worker, reading, the classification checks and
  metadata, the atomic Parquet write);
- ``in process``: the same read, checks and write without the queue (``read_table``, ``process``,
  ``DatasetFiles.write_data``), best of ``--repeat``;
- ``pandas``: what one writes by hand: ``read_csv`` (which opens a one-file ZIP itself) or
  ``read_parquet``, then ``to_parquet``, no checks, best of ``--repeat``.

Results go to stdout and, as JSON, to benchmarks/results/bench_datasets.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 42


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def make_files(folder: Path, rows: int) -> dict[str, Path]:
    rng = np.random.default_rng(SEED)
    frame = pd.DataFrame(rng.normal(size=(rows, 12)), columns=[f"f{i}" for i in range(12)])
    frame["label"] = np.where(rng.random(rows) > 0.5, "up", "down")
    files = {"csv": folder / "table.csv", "parquet": folder / "table.parquet", "zip": folder / "table.zip"}
    frame.to_csv(files["csv"], index=False)
    frame.to_parquet(files["parquet"], index=False)
    with zipfile.ZipFile(files["zip"], "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(files["csv"], "table.csv")
    return files


def by_hand(path: Path, out: Path) -> None:
    frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    frame.to_parquet(out, index=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the in-process and pandas runs")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from pipelines.app.accounts import register_user
    from pipelines.app.datasets import DatasetCatalog, check_upload
    from pipelines.app.jobs import default_tasks
    from pipelines.datasets import file_format, process, read_table
    from pipelines.db import open_database
    from pipelines.jobs import JobQueue
    from pipelines.settings import Settings

    results: dict[str, Any] = {
        "seed": SEED,
        "rows": args.rows,
        "machine": {"python": platform.python_version(), "cores_available": os.cpu_count()},
        "when": pd.Timestamp.now(tz="UTC").isoformat(),
        "files": {},
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-") as tmp:
        folder = Path(tmp)
        files = make_files(folder, args.rows)
        settings = Settings(home=folder / "home", dataset_max_upload_mb=4000, dataset_max_unzipped_mb=8000)
        database = open_database(settings)
        with database.transaction() as session:
            user_id = register_user(session, "bench", "correct-horse-battery").id
        print(f"{args.rows:,} rows x 13 columns, seed {SEED}")
        print(
            f"{'file':<9}{'MB':>8}{'job s':>9}{'in process s':>14}{'pandas s':>10}{'in process / pandas':>21}"
        )
        with JobQueue(settings, database, default_tasks()) as queue:
            catalog = DatasetCatalog(settings, database, queue)
            for kind, path in files.items():
                name = path.name
                request = check_upload(
                    name=kind, description=None, dataset_type="classification", file_name=name
                )
                start = time.perf_counter()
                with path.open("rb") as handle:
                    view = catalog.upload(user_id, request, handle)
                info = queue.wait(str(view.record.job_id), timeout=900)
                job_seconds = time.perf_counter() - start
                if info.status != "completed":
                    raise SystemExit(f"{name}: the job {info.status}: {info.error}")

                def ours(path: Path = path, dataset_id: str = view.record.id) -> None:
                    frame = read_table(
                        path, file_format(path.name), origin=path.name, max_unzipped_bytes=8_000_000_000
                    )
                    catalog.files.write_data(
                        dataset_id, process(frame, "classification", target=None, origin=path.name).frame
                    )

                in_process = best_of(ours, args.repeat)
                pandas = best_of(lambda path=path: by_hand(path, folder / "by_hand.parquet"), args.repeat)
                size = path.stat().st_size / 1e6
                results["files"][kind] = {
                    "megabytes": size,
                    "job_seconds": job_seconds,
                    "in_process_seconds": in_process,
                    "pandas_seconds": pandas,
                    "ratio_vs_pandas": in_process / pandas,
                }
                ratio = in_process / pandas
                print(
                    f"{kind:<9}{size:>8.1f}{job_seconds:>9.2f}{in_process:>14.2f}{pandas:>10.2f}{ratio:>21.2f}"
                )
        database.close()
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_datasets.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
