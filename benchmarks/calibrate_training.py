"""The training cost per unit of work of each tabular model type, for the registry's time estimates.

A seeded table (``--rows`` x 20 normal features, two classes from a linear score, validation 0.2)
is trained by each model type's trainer in process for ``--epochs`` epochs with its default
hyperparameters (trees: ``epochs`` x the default rounds or trees per epoch). The cost is the
process's CPU seconds (steadier than wall time on a shared machine) over rows x features x epochs,
the unit of ``ModelSpec.seconds_per_unit``. Printed as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument(
        "--types", default="lightgbm,xgboost,random_forest,logistic,mlp,resnet18,resnet50,lstm"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    sys.path.insert(0, str(HERE))
    from dataclasses import replace

    from bench_training import FEATURES, SEED, make_table

    from pipelines.learning.base import EarlyStopping
    from pipelines.learning.data import train_data
    from pipelines.learning.registry import MODEL_TYPES

    frame = make_table(args.rows)
    metadata = {"target": "label", "target_summary": {"num_classes": 2}}
    data = train_data(frame, metadata, 0.2, seed=SEED, dataset_type="classification")
    out: dict[str, object] = {"rows": args.rows, "features": FEATURES, "load_average": os.getloadavg()}
    for name in args.types.split(","):
        spec = MODEL_TYPES[name]
        cases = replace(data, time_series=True) if spec.time_series_only else data
        started = time.process_time()
        wall = time.perf_counter()
        spec.trainer(cases, {"epochs": args.epochs}, EarlyStopping(), lambda *_: None)
        cpu = time.process_time() - started
        units = args.rows * FEATURES * args.epochs
        out[name] = {
            "cpu_s": round(cpu, 2),
            "wall_s": round(time.perf_counter() - wall, 2),
            "per_unit": cpu / units,
        }
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
