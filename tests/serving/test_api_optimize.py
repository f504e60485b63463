"""POST /api/v1/backtest/optimize: a sync search answered in its documented shape, studies kept per
user (another user's study of the same name is another study), bad input answered 4xx before any
data is read, and a long search run as a job whose progress per trial streams over SSE."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.app.accounts import register_user
from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings
from serving.app import create_app
from serving.responses.optimize import OptimizeResult
from serving.schemas.optimize_examples import OPTIMIZE_RESULT
from tests.net_support import follow_sse
from tests.serving_support import (
    PASSWORD,
    app_client,
    assert_envelope,
    make_user,
    served_settings,
    uvicorn_thread,
)

URL = "/api/v1/backtest/optimize"
BODY = {
    "strategy": "sma_cross",
    "symbol": "AAPL",
    "source": "synthetic",
    "grid": {"fast": "3:30", "slow": "10:120:2"},
    "constraints": ["fast < slow"],
    "trials": 8,
    "start_date": "2024-01-01",
    "end_date": "2025-06-01",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Settings]]:
    settings = served_settings(tmp_path_factory.mktemp("optimize") / "home", optimize_max_trials=300)
    with app_client(settings) as client:
        yield client, settings


def _market(settings: Settings) -> set[Path]:
    return set(settings.market_dir.rglob("*")) if settings.market_dir.exists() else set()


def test_a_study_is_the_callers_own(served: tuple[Any, Settings]) -> None:
    client, settings = served
    ann, bob = make_user(client), make_user(client)
    named = {**BODY, "study_name": "sma-study"}
    first = client.post(URL, json=named, headers=ann["headers"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["trials_total"] == 8 and body["study_name"] == "sma-study"
    assert body["best_params"]["fast"] < body["best_params"]["slow"] and body["mlflow_run_id"]
    assert set(body) == set(OptimizeResult.__struct_fields__), "the documented shape, nothing more"
    assert body["heatmap"] == ["fast", "slow"] and body["trust"][0]["label"] == "in sample"
    # Ann's second call resumes her study; Bob's study of that name starts empty.
    assert client.post(URL, json=named, headers=ann["headers"]).json()["trials_total"] == 16
    assert client.post(URL, json=named, headers=bob["headers"]).json()["trials_total"] == 8
    folders = {p.parent.name for p in (settings.home / "studies").rglob("sma-study.log")}
    assert folders == {ann["id"], bob["id"]}
    # Another space under the same name is refused, the study untouched.
    other = {**named, "grid": {"fast": "3:20", "slow": "10:120:2"}}
    assert_envelope(client.post(URL, json=other, headers=ann["headers"]), 409, "CONFLICT")


def test_the_example_answer_is_the_documented_shape() -> None:
    assert set(OPTIMIZE_RESULT) == set(OptimizeResult.__struct_fields__)


def test_both_windows_stand_beside_buy_and_hold_and_the_sweeps_names_are_documented(
    served: tuple[Any, Settings],
) -> None:
    client, settings = served
    user = make_user(client)
    new = {**BODY, "grid": {"fast": "3:12"}, "params": {"slow": 40}, "trials": 4}
    body = client.post(URL, json=new, headers=user["headers"]).json()
    assert body["fixed"] == {"slow": 40} and body["best_params"]["fast"] <= 12
    inside, outside = body["benchmark_in_sample"], body["benchmark"]
    assert inside["common_bars"] == body["split"]["search_bars"]
    assert outside["common_bars"] == body["split"]["holdout_bars"]
    for block in (inside, outside):
        assert block["symbol"] == "AAPL" and "buy and hold of AAPL" in block["verdict"]
        assert {"excess_annual_return", "information_ratio", "beta", "alpha"} <= set(block)
    assert body["significance"]["benchmark_sharpe"] == inside["sharpe_ratio"]
    assert body["trust"][1]["text"].endswith(outside["verdict"])
    run = open_tracker(settings).client.get_run(body["mlflow_run_id"])
    metrics, tags = run.data.metrics, run.data.tags
    assert metrics["is_benchmark_sharpe_ratio"] == pytest.approx(inside["sharpe_ratio"])
    assert metrics["oos_benchmark_excess_annual_return"] == pytest.approx(outside["excess_annual_return"])
    assert tags["tradeforge.verdict"] == outside["verdict"]
    assert tags["tradeforge.verdict_in_sample"] == inside["verdict"]
    # The older names still answer the same search.
    old = {k: v for k, v in BODY.items() if k != "grid"} | {
        "parameters": {"fast": "3:12"},
        "fixed": {"slow": 40},
    }
    old["trials"] = 4
    again = client.post(URL, json=old, headers=user["headers"]).json()
    assert again["best_params"] == body["best_params"] and again["fixed"] == {"slow": 40}
    # OpenAPI documents the sweep's names; the older ones are marked deprecated.
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    [props] = [v["properties"] for k, v in schema.items() if k.endswith("Optimize")]
    assert {"grid", "params"} <= set(props)
    assert props["parameters"]["deprecated"] is True and props["fixed"]["deprecated"] is True


@pytest.mark.parametrize(
    ("change", "status", "code", "words"),
    [
        ({"grid": {"speed": "1:5"}}, 400, "INVALID_REQUEST", "has no parameter"),
        ({"grid": {"fast": "9:3"}}, 400, "INVALID_REQUEST", "ends below its start"),
        ({"grid": {}}, 400, "VALIDATION_ERROR", "grid"),
        ({"grid": None}, 400, "VALIDATION_ERROR", "grid is required"),
        ({"parameters": {"fast": "3:9"}}, 400, "VALIDATION_ERROR", "give grid or its older name parameters"),
        ({"params": {"slow": 50}, "fixed": {"slow": 50}}, 400, "VALIDATION_ERROR", "older name fixed"),
        ({"constraints": ["fast <> slow"]}, 400, "INVALID_REQUEST", "a OP b"),
        ({"objective": "luck"}, 400, "VALIDATION_ERROR", "objective"),
        ({"trials": 301, "async": True}, 400, "INVALID_REQUEST", "trials must be an integer 1..300"),
        ({"trials": 150}, 400, "INVALID_REQUEST", "async: true"),
        (
            {"symbol": "SOL/USDT", "timeframe": "1h", "start_date": "2010-01-01", "trials": 100},
            400,
            "INVALID_REQUEST",
            "or ask with async: true",
        ),
        ({"study_name": "../escape"}, 400, "VALIDATION_ERROR", "study_name"),
        ({"heatmap": ["fast", "nope"]}, 400, "INVALID_REQUEST", "heatmap names two"),
        ({"holdout": 0.9}, 400, "VALIDATION_ERROR", "holdout"),
        ({"owner": "someone-else"}, 400, "VALIDATION_ERROR", "owner"),
        ({"start_date": "1990-01-01", "timeframe": "1m", "async": True}, 400, "INVALID_REQUEST", "bars"),
    ],
)
def test_bad_input_is_refused_before_any_data_is_read(
    served: tuple[Any, Settings], change: dict[str, Any], status: int, code: str, words: str
) -> None:
    client, settings = served
    user = make_user(client)
    before = _market(settings)
    response = client.post(URL, json={**BODY, "symbol": "MSFT", **change}, headers=user["headers"])
    error = assert_envelope(response, status, code)
    assert words in str(error), error
    assert _market(settings) == before
    assert client.get("/api/v1/jobs", headers=user["headers"]).json()["count"] == 0


def test_a_long_search_runs_as_a_job_with_progress_per_trial(tmp_path: Path) -> None:
    settings = served_settings(tmp_path / "home")
    app = create_app(settings)
    with uvicorn_thread(app) as port, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        with app.state.container.database.transaction() as session:
            register_user(session, "optimizer", PASSWORD, tier="enterprise")
        token = http.post("/auth/login", json={"username": "optimizer", "password": PASSWORD}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        events: list[dict[str, Any]] = []
        url = f"http://127.0.0.1:{port}/api/system/task-events?token={token['access_token']}"
        reader = threading.Thread(target=follow_sse, args=(url, events, "task_completed"), daemon=True)
        reader.start()
        ticket = http.post(URL, json={**BODY, "trials": 12, "async": True}, headers=auth)
        assert ticket.status_code == 202, ticket.text
        assert ticket.json()["task_type"] == "optimize"
        reader.join(timeout=180)
        job = http.get(f"/api/v1/jobs/{ticket.json()['job_id']}", headers=auth).json()
    assert job["status"] == "completed", job
    assert job["result"]["trials_total"] == 12 and job["result"]["status"] == "success"
    progress = [e["data"] for e in events if e["type"] == "task_description_update"]
    trials = [p["detail"]["trial"] for p in progress if "detail" in p]
    assert trials and trials == sorted(trials) and trials[-1] <= 12, progress
    assert all(p["detail"]["trials"] == 12 for p in progress if "detail" in p)
    assert any("trial" in p["description"] for p in progress)
    assert events[-1]["type"] == "task_completed"
