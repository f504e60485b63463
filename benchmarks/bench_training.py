"""The training platform (/training, /models): what the job path costs against the library alone.

- ``training``: a seeded table (``--rows`` x 20 normal features, a two-class label from a linear
  score) stored as a ready dataset, then ``POST /training/start`` (lightgbm, ``--trees`` trees,
  validation 0.2) on the real app and a real job queue, polled through ``GET /training/status``
  until ``completed``. Against it: ``lightgbm.train`` called directly on the same float32 array with
  the same split, hyperparameters, thread count (the trainer's own rule: all cores from 50,000
  training rows) and validation set, in the same run; the job adds only ``deterministic`` and
  ``force_row_wise`` (for reproducible models) and its training-sample metric. ``--repeats`` runs of
  each, alternated, the best of each compared. The job's own breakdown (queued to started: the
  worker's spawn; started to finished) comes from its row.
- ``predict``: ``POST /models/{id}/predict`` with 1 and 1,000 rows through Litestar's test client
  (in process, no sockets), p50 and p95 of ``--calls`` calls after a warm-up (the model is loaded
  once, then served from the cache): ``client`` encodes the body with Python's ``json`` on each call
  (as ``httpx``'s ``json=`` does), ``client_pre_encoded`` sends bytes encoded once (the request's
  round trip alone), ``server`` is the app's own request time (its middleware's, the figure of the
  request-duration histogram), and ``client_json_encoding`` what the client's encoding costs.
- ``mlp``: seconds per epoch of the ``mlp`` trainer on the CPU (``--mlp-rows`` rows x 20), from its
  per-epoch callback, when the registry has that model type.

Results go to stdout and, as JSON, to benchmarks/results/bench_training.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 42
FEATURES = 20


def make_table(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(SEED)
    x = rng.normal(size=(rows, FEATURES)).astype(np.float32)
    score = x[:, :5].sum(axis=1) + rng.normal(scale=0.5, size=rows)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(FEATURES)])
    frame["label"] = np.where(score > 0, "up", "down")
    return frame


def direct_lightgbm(frame: pd.DataFrame, trees: int) -> float:
    """``lightgbm.train`` on the table's arrays: an 80/20 split, the validation set evaluated, the
    job's thread count."""
    import lightgbm as lgb

    from pipelines.learning.lgbm import _threads

    x = frame.drop(columns="label").to_numpy(dtype=np.float32)
    y = (frame["label"] == "up").to_numpy(dtype=np.int64)
    order = np.random.default_rng(SEED).permutation(len(y))
    cut = int(len(y) * 0.8)
    train, val = order[:cut], order[cut:]
    start = time.perf_counter()
    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": 31,
        "verbosity": -1,
        "seed": SEED,
        "num_threads": _threads(len(train)),
    }
    data = lgb.Dataset(x[train], y[train])
    lgb.train(params, data, num_boost_round=trees, valid_sets=[lgb.Dataset(x[val], y[val], reference=data)])
    return time.perf_counter() - start


def _job_run(container: Any, api: dict[str, Any]) -> dict[str, Any]:
    """``api`` with the job's own breakdown from its row: queued to started, started to finished."""
    from pipelines.db import Job

    with container.database.session() as session:
        job = session.get(Job, api["job_id"])
        assert job is not None and job.started_at is not None and job.finished_at is not None
        return {
            **api,
            "queued_to_started_s": (job.started_at - job.created_at).total_seconds(),
            "started_to_finished_s": (job.finished_at - job.started_at).total_seconds(),
            "job_result_seconds": (job.result or {}).get("seconds"),
            "model_id": (job.result or {})["model_id"],
        }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": 1000 * statistics.median(ordered), "p95_ms": 1000 * ordered[int(0.95 * len(ordered))]}


def train_through_api(client: Any, headers: dict[str, str], dataset_id: str, trees: int) -> dict[str, Any]:
    hyperparameters = {"n_estimators": trees, "rounds_per_epoch": 10, "num_leaves": 31, "learning_rate": 0.1}
    body = {"dataset_id": dataset_id, "model_type": "lightgbm", "hyperparameters": hyperparameters}
    start = time.perf_counter()
    answer = client.post("/training/start", json=body, headers=headers)
    if answer.status_code != 201:
        raise SystemExit(f"start refused: {answer.text}")
    job_id = answer.json()["job_id"]
    while (status := client.get(f"/training/status/{job_id}", headers=headers).json())["status"] in (
        "queued",
        "running",
    ):
        time.sleep(0.05)
    total = time.perf_counter() - start
    if status["status"] != "completed":
        raise SystemExit(f"training {status['status']}: {status.get('error')}")
    return {"job_id": job_id, "seconds": total, "estimated_time": answer.json()["estimated_time"]}


def time_predictions(
    client: Any, headers: dict[str, str], model_id: str, rows: np.ndarray, calls: int
) -> dict[str, Any]:
    url = f"/models/{model_id}/predict"
    server = _server_seconds(client, url)
    out: dict[str, Any] = {}
    for count in (1, 1000):
        body = {"input": rows[0].tolist()} if count == 1 else {"inputs": rows[:count].tolist()}
        raw = json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"}
        for _ in range(20):  # warm-up: load the model, fill the caches
            assert client.post(url, json=body, headers=headers).status_code == 200
        encoded, pre_encoded, encoding = [], [], []
        server.clear()
        for _ in range(calls):
            start = time.perf_counter()
            client.post(url, json=body, headers=headers)
            encoded.append(time.perf_counter() - start)
            start = time.perf_counter()
            client.post(url, content=raw, headers=sent)
            pre_encoded.append(time.perf_counter() - start)
            start = time.perf_counter()
            json.dumps(body).encode()
            encoding.append(time.perf_counter() - start)
        out[f"rows_{count}"] = {
            "client": percentiles(encoded),
            "client_pre_encoded": percentiles(pre_encoded),
            "server": percentiles(list(server)),
            "client_json_encoding": percentiles(encoding),
        }
    return out


def _server_seconds(client: Any, url: str) -> list[float]:
    """The app's own time of each request to ``url`` (what its middleware hands to the observer)."""
    observer = client.app.state.container.observer
    seen: list[float] = []
    observe = observer.observe_request

    def recording(scope: Any, **fields: Any) -> None:
        if scope["path"] == url:
            seen.append(fields["seconds"])
        observe(scope, **fields)

    observer.observe_request = recording
    return seen


def mlp_epochs(rows: int, epochs: int) -> dict[str, Any] | None:
    from pipelines.learning.base import EarlyStopping
    from pipelines.learning.data import train_data
    from pipelines.learning.registry import MODEL_TYPES, validate_hyperparameters

    if "mlp" not in MODEL_TYPES:
        return None
    frame = make_table(rows)
    metadata = {"target": "label", "target_summary": {"num_classes": 2}}
    data = train_data(frame, metadata, 0.2, seed=SEED, dataset_type="classification")
    hp, errors = validate_hyperparameters("mlp", {"epochs": epochs, "batch_size": 256})
    if errors:
        raise SystemExit(f"mlp hyperparameters: {errors}")
    stamps: list[float] = [time.perf_counter()]
    MODEL_TYPES["mlp"].trainer(data, hp, EarlyStopping(), lambda *_: stamps.append(time.perf_counter()))
    per_epoch = np.diff(stamps)
    return {"rows": rows, "epochs": epochs, "seconds_per_epoch": float(np.median(per_epoch))}


def main() -> None:
    """Long because it is the benchmark's script: set up, three measurements, the report."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2, help="job and direct runs, alternated (best of)")
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--mlp-rows", type=int, default=100_000)
    parser.add_argument("--mlp-epochs", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from litestar.testing import TestClient

    from pipelines.app.accounts import register_user
    from pipelines.settings import Settings
    from serving.app import create_app

    results: dict[str, Any] = {
        "seed": SEED,
        "rows": args.rows,
        "features": FEATURES,
        "trees": args.trees,
        "machine": {"python": platform.python_version(), "cores_available": os.cpu_count()},
        "when": pd.Timestamp.now(tz="UTC").isoformat(),
        "load_average_at_start": os.getloadavg(),
    }
    frame = make_table(args.rows)
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-") as tmp:
        folder = Path(tmp)
        table = folder / "table.parquet"
        frame.to_parquet(table, index=False)
        settings = Settings(
            home=folder / "home", dataset_max_upload_mb=4000, secret_key="bench-secret-0123456789abcdef"
        )
        with TestClient(create_app(settings)) as client:
            container = client.app.state.container
            with container.database.transaction() as session:
                register_user(session, "bench", "correct-horse-battery", tier="enterprise")
            token = client.post(
                "/auth/login", json={"username": "bench", "password": "correct-horse-battery"}
            )
            headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
            with table.open("rb") as handle:
                upload = client.post(
                    "/datasets/upload",
                    files={"file": ("table.parquet", handle)},
                    data={"name": "bench", "dataset_type": "classification"},
                    headers=headers,
                )
            dataset_id = upload.json()["id"]
            container.jobs.wait(upload.json()["job_id"], timeout=1800)
            runs, directs = [], []
            for _ in range(args.repeats):  # alternated: the job, then the library on the same array
                runs.append(_job_run(container, train_through_api(client, headers, dataset_id, args.trees)))
                directs.append(direct_lightgbm(frame, args.trees))
            api = min(runs, key=lambda r: r["seconds"])
            model_id = api["model_id"]
            direct = min(directs)
            results["training"] = {
                **api,
                "direct_lightgbm_seconds": direct,
                "ratio": api["seconds"] / direct,
                "every_run": {"job_seconds": [r["seconds"] for r in runs], "direct_seconds": directs},
            }
            rows = frame.drop(columns="label").to_numpy(dtype=np.float64)
            results["predict"] = time_predictions(client, headers, model_id, rows, args.calls)
    results["mlp"] = mlp_epochs(args.mlp_rows, args.mlp_epochs)
    results["load_average_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_training.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
