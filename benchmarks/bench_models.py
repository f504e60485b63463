"""Model benchmark, run by ``make bench``.

1. Training time of LightGBM and XGBoost on the same feature matrix: five years of synthetic
   hourly BTC/USDT bars, the default feature set (through ``pipelines.models.training.train``,
   so feature computation, MLflow logging and registration are included and reported apart).
2. Prediction latency of the loaded champion (``ModelRegistry.load``), single row and a
   10,000-row batch, beside the bare library's own predict on the very same booster.

Seeded (synthetic seed 42, model seed 42). JSON results in benchmarks/results/bench_models.json.
"""

from __future__ import annotations

import json
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
SEED = 42


def per_call(fn: Callable[[], Any], calls: int, repeat: int = 5) -> float:
    """Median over ``repeat`` rounds of the mean seconds per call."""
    rounds = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        rounds.append((time.perf_counter() - t0) / calls)
    return statistics.median(rounds)


def main() -> None:
    from pipelines.app.train import plan_training, train_model
    from pipelines.models.kinds import native_predict_fn
    from pipelines.models.registry import ModelRegistry
    from pipelines.models.tracking import MlflowTracker
    from pipelines.settings import Settings

    results: dict[str, Any] = {
        "seed": SEED,
        "python": platform.python_version(),
        "device": "cpu",
        "models": {},
    }
    with tempfile.TemporaryDirectory(prefix="tradeforge-bench-models-") as tmp:
        home = Path(tmp)
        settings = Settings(home=home, synthetic_seed=SEED)
        tracker = MlflowTracker(f"sqlite:///{home / 'mlflow.db'}", home / "artifacts")
        kinds = {
            "lightgbm": {"n_estimators": 300, "seed": SEED},
            "xgboost": {"n_estimators": 300, "seed": SEED},
        }
        for kind, params in kinds.items():
            request = plan_training(
                settings,
                model_type=kind,
                model_name=f"bench_{kind}",
                symbol="BTC/USDT",
                timeframe="1h",
                source="synthetic",
                start="2019-01-01",
                end="2024-01-01",
                params=params,
            )
            t0 = time.perf_counter()
            result = train_model(settings, request, tracker)
            total = time.perf_counter() - t0
            run = tracker.client.get_run(result.run_id)
            results["models"][kind] = {
                "train_rows": int(run.data.params["train_rows"]),
                "features": int(run.data.params["n_features"]),
                "train_call_seconds": total,
                "fit_seconds": run.data.metrics["fit_seconds"],
                "val_ic": result.metrics["val_ic"],
            }
        registry = ModelRegistry(tracker, home / "cache")
        for kind in kinds:
            loaded = registry.load(f"bench_{kind}")
            model, native = loaded.model, native_predict_fn(loaded.model)
            n_features = len(loaded.meta.feature_names)
            rng = np.random.default_rng(SEED)
            batch = rng.normal(size=(10_000, n_features))
            row = batch[:1].copy()
            ours_batch, bare_batch = (
                per_call(partial(model.predict, batch), 20),
                per_call(partial(native, batch), 20),
            )
            ours_row, bare_row = (
                per_call(partial(model.predict, row), 2000),
                per_call(partial(native, row), 2000),
            )
            results["models"][kind] |= {
                "batch10k_ours_ms": ours_batch * 1e3,
                "batch10k_bare_ms": bare_batch * 1e3,
                "batch10k_ratio": ours_batch / bare_batch,
                "row_ours_us": ours_row * 1e6,
                "row_bare_us": bare_row * 1e6,
                "row_added_us": (ours_row - bare_row) * 1e6,
                "load_seconds": loaded.load_seconds,
            }
    lgb, xgb = results["models"]["lightgbm"], results["models"]["xgboost"]
    print(
        f"training on {lgb['train_rows']:,} rows x {lgb['features']} features (5 years of hourly bars), CPU:"
    )
    for kind, r in results["models"].items():
        print(
            f"  {kind:<9} fit {r['fit_seconds']:6.2f} s, whole train() call {r['train_call_seconds']:6.2f} s "
            f"(features, fit, MLflow logging, registration)"
        )
    print(f"  xgboost / lightgbm fit time ratio: {xgb['fit_seconds'] / lgb['fit_seconds']:.2f}")
    print("prediction through the loaded champion vs the bare library predict on the same booster:")
    for kind, r in results["models"].items():
        print(
            f"  {kind:<9} 10k rows {r['batch10k_ours_ms']:7.2f} ms vs {r['batch10k_bare_ms']:7.2f} ms "
            f"= {r['batch10k_ratio']:.2f}x (target < 1.5x); one row {r['row_ours_us']:7.1f} us vs "
            f"{r['row_bare_us']:7.1f} us = +{r['row_added_us']:.1f} us (target < 200 us)"
        )
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "bench_models.json").write_text(json.dumps(results, indent=2, default=float))
    print(f"seed {SEED}; results in {out / 'bench_models.json'}")


if __name__ == "__main__":
    main()
