"""Forecast route (``GET /api/predictions/``) on a fresh 300-step model, run by ``make bench``.

A fresh home trains ``ETH_USDT_1m_300steps_multi_ohlc`` through ``POST /api/models/train`` (300 bars
ahead, ``--days`` days of synthetic 1m bars, seed 42; few boosters so that set-up stays short: the
route's cost does not depend on how the boosters were fitted beyond their count). The real app
(``create_app`` under Litestar's test client: request id, bearer authentication of an enterprise-tier
user, rate limit, the thread hop, the model lookup and age check, the forecast, JSON encoding) then
answers ``GET /api/predictions/?symbol=ETH_USDT&timeframe=1m`` with the model fresh, so nothing is
trained on the measured path; the body is checked once (300 steps, the model's name, not trained).
Beside it, in the same run: the model's own ``predict`` on the same feature row in-process (the
peer: the floor of any server of this model), and ``Predictor.predict`` alone (the application's
prediction service, no forecast body and no HTTP).

Each measure is timed ``--repeat`` times per round over ``--rounds`` rounds, alternating, after a
warm-up; the best round's p50 is reported and every round is kept. Goal: the route's p50 <= 5 ms.
JSON results in benchmarks/results/forecast.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _in_process import login, p50_ms

HERE = Path(__file__).resolve().parent
SEED = 42
STEPS = 300
GOAL_MS = 5.0
MODEL = f"ETH_USDT_1m_{STEPS}steps_multi_ohlc"
URL = "/api/predictions/?symbol=ETH_USDT&timeframe=1m"
USER, PASSWORD = "benchforecast", "bench-forecast-password-42"
SECRET = "bench-forecast-secret-key-0123456789abcdef"


def _never(query: Any) -> None:
    raise AssertionError(f"the model is fresh: nothing may train ({query.model_name})")


def _measure(client: Any, headers: dict[str, str], args: argparse.Namespace) -> dict[str, list[float]]:
    import numpy as np

    from pipelines.app.forecast import ForecastQuery, forecast

    predictor = client.app.state.container.predictions
    loaded = predictor.registry.load(MODEL)
    row = predictor.feature_row(MODEL)["features"]
    x = np.array([[row[n] for n in loaded.meta.feature_names]], dtype=np.float64)

    def route() -> bytes:
        answer = client.get(URL, headers=headers)
        assert answer.status_code == 200, answer.text
        return bytes(answer.content)

    body = json.loads(route())
    assert body["model_name"] == MODEL and not body["model_trained"] and len(body["predictions"]) == STEPS
    measures = {
        "route": route,
        "model_predict": lambda: loaded.model.predict(x),
        "predictor_predict": lambda: predictor.predict(MODEL, "ETH_USDT", "1m"),
        "app_function": lambda: forecast(predictor, ForecastQuery("ETH_USDT", "1m"), _never),
    }
    for fn in measures.values():  # warm-up
        p50_ms(fn, 5)
    rounds: dict[str, list[float]] = {name: [] for name in measures}
    for _ in range(args.rounds):
        for name, fn in measures.items():
            rounds[name].append(p50_ms(fn, args.repeat))
    return rounds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=7, help="days of 1m bars the model trains on")
    parser.add_argument("--estimators", type=int, default=50, help="boosting rounds per component")
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE.parent))
    from litestar.testing import TestClient

    from pipelines.settings import Settings
    from serving.app import create_app

    with tempfile.TemporaryDirectory(prefix="bench-forecast-") as tmp:
        settings = Settings(
            home=Path(tmp) / "home",
            synthetic_seed=SEED,
            secret_key=SECRET,
            forecast_steps=STEPS,
            forecast_params={"n_estimators": args.estimators, "early_stopping_rounds": 0},
        )
        with TestClient(create_app(settings)) as client:
            headers = login(client, USER, PASSWORD)
            began = time.perf_counter()
            train = {
                "symbol": "ETH_USDT",
                "timeframe": "1m",
                "n_steps_ahead": STEPS,
                "days_history": args.days,
            }
            trained = client.post("/api/models/train", json=train, headers=headers, timeout=3600)
            assert trained.status_code == 200, trained.text
            train_s = time.perf_counter() - began
            rounds = _measure(client, headers, args)
    best = {name: min(values) for name, values in rounds.items()}
    ratio = best["route"] / best["model_predict"]
    print(f"GET /api/predictions/, {STEPS}-step multi_ohlc model, fresh (p50, best of {args.rounds} rounds)")
    print(f"  (set-up: trained in {train_s:.1f} s on {args.days} days of 1m bars)")
    print(f"  route (test client, whole app)       {best['route']:8.3f} ms (goal <= {GOAL_MS} ms)")
    print(f"  forecast() alone (no HTTP)           {best['app_function']:8.3f} ms")
    print(f"  Predictor.predict (no HTTP, no body) {best['predictor_predict']:8.3f} ms")
    print(f"  model.predict on the feature row     {best['model_predict']:8.3f} ms (peer)")
    print(f"  ratio route / model.predict: {ratio:.2f}x")
    results = {
        "seed": SEED,
        "steps": STEPS,
        "days": args.days,
        "estimators": args.estimators,
        "repeat": args.repeat,
        "train_seconds": train_s,
        "rounds": rounds,
        "best_p50_ms": best,
        "ratio_route_vs_model_predict": ratio,
        "goal_ms": GOAL_MS,
        "machine": {
            "cpu_count": os.cpu_count(),
            "loadavg": os.getloadavg(),
            "python": platform.python_version(),
        },
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "forecast.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
