"""POST /api/v1/backtest/sweep: the answer equals ``tradeforge sweep``'s planner and run on the same
bars, the MLflow run holds every combination and the heat map, the async job gives the same answer
with progress events, and bad input is a 4xx that stores nothing."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd
import pytest

from pipelines.app.sweep_plan import plan_sweep, sweep_run
from pipelines.app.sweep_report import EXPERIMENT
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from serving.responses import shaped
from serving.responses.sweeps import SweepAnswer
from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job
from tests.shape_support import decode_strict

SWEEP = "/api/v1/backtest/sweep"
SPAN = {"symbol": "SPY", "source": "synthetic", "start_date": "2023-01-01", "end_date": "2024-01-01"}
BODY = {
    **SPAN,
    "strategy": "sma_cross",
    "grid": {"fast": "5:20:5", "slow": [30, 50, 80]},
    "constraints": ["fast < slow"],
    "top": 5,
}
# What a second run of the same sweep answers differently.
_PER_RUN = ("seconds", "mlflow_run_id")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, str], Settings]]:
    """An app on an empty home (bars are generated on demand from the synthetic source)."""
    settings = served_settings(tmp_path_factory.mktemp("sweep") / "home")
    with app_client(settings) as client:
        yield client, make_user(client)["headers"], settings


def _same(answer: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in answer.items() if k not in _PER_RUN}


def test_sync_answer_equals_the_cli_sweep_and_logs_an_mlflow_run(served: Any) -> None:
    client, headers, settings = served
    answer = client.post(SWEEP, json=BODY, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    decode_strict(body, SweepAnswer)
    request = plan_sweep(  # what ``tradeforge sweep`` plans and runs
        settings,
        grid=BODY["grid"],
        constraints=BODY["constraints"],
        strategy="sma_cross",
        symbol="SPY",
        source="synthetic",
        start="2023-01-01",
        end="2024-01-01",
    )
    expected = sweep_run(settings, request).result.as_dict(5)
    assert body["combinations"] == expected["combinations"] == 12
    assert body["results"] == expected["results"] and len(body["results"]) == 5
    assert body["best"] == expected["best"]
    significance = expected["significance"]  # the answer adds the shape's unused fields as null
    assert {k: body["significance"][k] for k in significance} == significance
    assert body["significance"]["trials"] == 12 and body["significance"]["overfitting"]["trials"] == 12
    assert body["results_total"] == 12 and body["results_truncated"] is True
    assert body["heatmap"] == {"x": "fast", "y": "slow", "aggregate": "mean"}
    assert body["period"] == {"start": "2023-01-01", "end": "2024-01-01"}
    assert body["constraints"] == ["fast < slow"]  # implied by sma_cross and given: listed once
    # The best against buy and hold of SPY over the bars it traded, with the sweep's costs.
    bench = body["benchmark"]
    assert {k: bench[k] for k in expected["benchmark"]} == expected["benchmark"]
    assert bench["symbol"] == "SPY" and "buy and hold of SPY" in bench["verdict"]
    assert 240 <= bench["common_bars"] <= 252  # the 2023 bars traded, not the warm-up before them
    assert body["significance"]["benchmark_sharpe"] == pytest.approx(bench["sharpe_ratio"])
    assert body["significance"]["psr_vs_benchmark"] is not None
    assert body["trust"][0] == {"label": "benchmark", "text": bench["verdict"]}

    client_ml = open_tracker(settings).client
    run = client_ml.get_run(body["mlflow_run_id"])
    assert client_ml.get_experiment(run.info.experiment_id).name == EXPERIMENT
    assert run.data.params["strategy"] == "sma_cross" and run.data.params["combinations"] == "12"
    assert run.data.metrics["best_sharpe_ratio"] == pytest.approx(body["best"]["metrics"]["sharpe_ratio"])
    assert run.data.metrics["pbo"] == pytest.approx(body["significance"]["overfitting"]["pbo"])
    assert run.data.metrics["benchmark_excess_annual_return"] == pytest.approx(bench["excess_annual_return"])
    assert run.data.metrics["psr_vs_benchmark"] == pytest.approx(body["significance"]["psr_vs_benchmark"])
    assert run.data.tags["tradeforge.verdict"] == bench["verdict"]
    names = {a.path for a in client_ml.list_artifacts(run.info.run_id)}
    assert {"sweep_results.csv", "sweep_heatmap.png", "sweep_best.json", "honest_results.json"} <= names
    local = client_ml.download_artifacts(run.info.run_id, "sweep_results.csv")
    table = pd.read_csv(io.StringIO(Path(local).read_text()))
    assert len(table) == 12 and list(table["rank"]) == list(range(1, 13))
    assert table.iloc[0][["fast", "slow"]].tolist() == [
        body["best"]["params"]["fast"],
        body["best"]["params"]["slow"],
    ]


def test_async_job_answers_the_same_with_progress_events(served: Any) -> None:
    client, headers, _ = served
    events: list[dict[str, Any]] = []
    unsubscribe = client.app.state.container.jobs.subscribe(events.append)
    try:
        accepted = client.post(SWEEP, json={**BODY, "async": True}, headers=headers)
        assert accepted.status_code == 202, accepted.text
        ticket = accepted.json()
        assert ticket["task_type"] == "sweep"
        job = wait_for_job(client, ticket["job_id"], headers, timeout=180)
    finally:
        unsubscribe()
    assert job["status"] == "completed" and job["progress"] == 100, job
    sync = client.post(SWEEP, json=BODY, headers=headers).json()
    # The job keeps the use case's answer; the route answers it in the documented shape.
    assert _same(msgspec.to_builtins(shaped(SweepAnswer, job["result"]))) == _same(sync)
    assert job["result"]["mlflow_run_id"] != sync["mlflow_run_id"]
    mine = [e["data"] for e in events if e["data"].get("task_id") == ticket["job_id"]]
    updates = [d for d in mine if "progress" in d and d.get("description")]
    assert updates, mine
    assert all(d["description"].startswith("Sweep of sma_cross on SPY") for d in updates)
    progress = [d["progress"] for d in updates]
    assert progress == sorted(progress)


def _market(settings: Settings) -> set[Path]:
    return set(settings.market_dir.rglob("*")) if settings.market_dir.exists() else set()


@pytest.mark.parametrize(
    ("change", "status", "code", "named"),
    [
        ({"grid": {"nope": [1, 2]}}, 400, "INVALID_REQUEST", "nope"),
        (
            {"grid": {"fast": "1:100000:1", "slow": "2:1000:1"}},
            400,
            "INVALID_REQUEST",
            "sweep_max_combinations",
        ),
        ({"grid": {"fast": "2:400:1", "slow": "3:400:1"}}, 400, "INVALID_REQUEST", "50,000"),
        ({"objective": "luck"}, 400, "VALIDATION_ERROR", "objective"),
        ({"heatmap": ["fast", "period"]}, 400, "INVALID_REQUEST", "period"),
        ({"top": 0}, 400, "VALIDATION_ERROR", "top"),
        ({"top": 1001}, 400, "VALIDATION_ERROR", "top"),
        ({"constraints": ["fast ~ slow"]}, 400, "INVALID_REQUEST", "fast ~ slow"),
        ({"grid": {}}, 400, "VALIDATION_ERROR", "grid"),
        ({"grid": {"fast": list(range(1001))}}, 400, "VALIDATION_ERROR", "grid"),
        ({"start_date": "1800-01-01"}, 400, "INVALID_REQUEST", "1900-01-01"),
        ({"timeframe": "1m", "start_date": "2000-01-01"}, 400, "INVALID_REQUEST", "bars"),
    ],
)
def test_bad_input_is_a_4xx_naming_it_and_stores_nothing(
    served: Any, change: dict[str, Any], status: int, code: str, named: str
) -> None:
    client, headers, settings = served
    before = _market(settings)
    jobs_before = client.get("/api/v1/jobs", headers=headers).json()["count"]
    for run_async in (False, True):
        started = time.monotonic()
        answer = client.post(SWEEP, json={**BODY, **change, "async": run_async}, headers=headers)
        assert time.monotonic() - started < 15  # refused before any work (a huge grid included)
        body = assert_envelope(answer, status, code)
        assert named in body["error"]["message"], body
    assert _market(settings) == before
    assert client.get("/api/v1/jobs", headers=headers).json()["count"] == jobs_before
