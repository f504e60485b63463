"""A cut backtest or walk-forward answer keeps its whole curve and trades as files of the caller's job,
downloadable as Parquet or CSV through the job routes, by the job's owner only."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from pipelines.app.backtest import strategy_of
from pipelines.app.backtest_plan import plan_backtest, run_backtest_request
from pipelines.backtest.engine import BacktestResult
from pipelines.settings import Settings
from serving.responses.trading import Backtest, WalkForwardResult
from tests.serving_support import app_client, assert_envelope, make_user, served_settings, wait_for_job
from tests.shape_support import decode_strict

RUN = "/api/v1/backtest/run"
WALK = "/api/v1/backtest/walk-forward"
SMA = {"strategy": "sma_cross", "params": {"fast": 5, "slow": 20}}
LONG = {"symbol": "BTC/USDT", **SMA, "timeframe": "1h", "start_date": "2024-01-01", "end_date": "2024-02-01"}
MAX_POINTS = 50


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Settings]]:
    settings = served_settings(tmp_path_factory.mktemp("files") / "home", max_response_points=MAX_POINTS)
    with app_client(settings) as client:
        yield client, settings


def _engine_result(settings: Settings, body: dict[str, Any]) -> BacktestResult:
    """The same backtest straight through the engine, every bar and trade of it."""
    name, params = strategy_of(None, body["strategy"], body["params"])
    request = plan_backtest(
        settings,
        strategy=name,
        params=params,
        symbol=body["symbol"],
        source="synthetic",
        timeframe=body["timeframe"],
        start=body["start_date"],
        end=body["end_date"],
    )
    return run_backtest_request(settings, request)


def _parquet(answer: Any) -> pd.DataFrame:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/vnd.apache.parquet")
    assert "attachment" in answer.headers["content-disposition"]
    return pq.read_table(io.BytesIO(answer.content)).to_pandas()


def test_an_async_cut_backtest_keeps_its_full_curve_and_trades(served: tuple[Any, Settings]) -> None:
    client, settings = served
    user, other = make_user(client), make_user(client)
    accepted = client.post(RUN, json={**LONG, "async": True}, headers=user["headers"])
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    job = wait_for_job(client, job_id, user["headers"], timeout=120.0)
    assert job["status"] == "completed", job
    out = job["result"]
    assert out["equity_curve_downsampled"] is True and out["equity_curve_points"] <= MAX_POINTS
    full = out["full_curve"]
    assert decode_strict(out, Backtest).full_curve is not None  # the documented shape
    assert full["job_id"] == job_id and full["formats"] == ["parquet", "csv"]
    assert full["equity_curve_url"] == f"/api/v1/jobs/{job_id}/files/equity_curve"
    assert (settings.results_dir / job_id / "equity_curve.parquet").is_file()

    engine = _engine_result(settings, LONG)
    curve = _parquet(client.get(full["equity_curve_url"], headers=user["headers"]))
    assert list(curve.columns) == ["timestamp", "equity", "drawdown"]
    assert len(curve) == engine.num_bars == out["equity_curve_total_points"] > MAX_POINTS
    assert curve["equity"].tolist() == engine.equity.tolist()
    assert (curve["timestamp"] == engine.timestamps).all()
    assert curve["drawdown"].max() == 0.0 and curve["drawdown"].min() == out["metrics"]["max_drawdown"]
    by_time = dict(zip(curve["timestamp"], curve["equity"], strict=True))
    for when, equity in out["equity_curve"]:  # every point shown is the same bar of the full curve
        assert by_time[pd.Timestamp(when)] == equity

    trades = _parquet(client.get(full["trades_url"], headers=user["headers"]))
    assert len(trades) == len(engine.trades) == out["trades_total"] > 0
    assert trades["pnl"].tolist() == engine.trades.pnl.tolist()
    shown = pd.DataFrame(out["trades"])
    assert trades["entry_bar"].head(len(shown)).tolist() == shown["entry_bar"].tolist()
    assert trades["exit_reason"].head(len(shown)).tolist() == shown["exit_reason"].tolist()

    csv = client.get(full["equity_curve_url"], params={"format": "csv"}, headers=user["headers"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    from_csv = pd.read_csv(io.StringIO(csv.text))
    assert list(from_csv.columns) == ["timestamp", "equity", "drawdown"] and len(from_csv) == engine.num_bars
    assert from_csv["equity"].tolist() == pytest.approx(engine.equity.tolist(), rel=1e-12)
    trades_csv = client.get(full["trades_url"], params={"format": "csv"}, headers=user["headers"])
    assert len(pd.read_csv(io.StringIO(trades_csv.text))) == out["trades_total"]

    # another user: exactly what the job's own route answers them
    foreign = client.get(full["equity_curve_url"], headers=other["headers"])
    as_job = client.get(f"/api/v1/jobs/{job_id}", headers=other["headers"])
    assert_envelope(foreign, 403, "FORBIDDEN")
    assert foreign.json()["error"]["message"] == as_job.json()["error"]["message"]
    admin = make_user(client, role="admin")
    assert client.get(full["trades_url"], headers=admin["headers"]).status_code == 200


def test_bad_names_formats_and_unknown_jobs_are_refused(served: tuple[Any, Settings]) -> None:
    client, _ = served
    user = make_user(client)
    accepted = client.post(RUN, json={**LONG, "async": True}, headers=user["headers"])
    job_id = accepted.json()["job_id"]
    wait_for_job(client, job_id, user["headers"], timeout=120.0)
    assert_envelope(client.get(f"/api/v1/jobs/{job_id}/files/secret_key", headers=user["headers"]), 400,
                    "VALIDATION_ERROR")  # fmt: skip
    bad_format = client.get(f"/api/v1/jobs/{job_id}/files/trades?format=xlsx", headers=user["headers"])
    assert_envelope(bad_format, 400, "VALIDATION_ERROR")
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_envelope(client.get(f"/api/v1/jobs/{unknown}/files/trades", headers=user["headers"]), 404,
                    "NOT_FOUND")  # fmt: skip
    assert client.get(f"/api/v1/jobs/{job_id}/files/trades").status_code == 401


def test_a_sync_cut_answer_is_kept_under_a_job_of_its_caller(served: tuple[Any, Settings]) -> None:
    client, settings = served
    user, other = make_user(client), make_user(client)
    answer = client.post(RUN, json=LONG, headers=user["headers"])
    assert answer.status_code == 200, answer.text
    out = answer.json()
    full = out["full_curve"]
    job = client.get(f"/api/v1/jobs/{full['job_id']}", headers=user["headers"]).json()
    assert job["status"] == "completed" and job["task_type"] == "backtest" and job["user_id"] == user["id"]
    assert job["result"]["full_curve"] == full
    curve = _parquet(client.get(full["equity_curve_url"], headers=user["headers"]))
    assert len(curve) == out["equity_curve_total_points"] == out["num_bars"]
    assert curve["equity"].iloc[-1] == out["final_equity"]
    assert_envelope(client.get(full["trades_url"], headers=other["headers"]), 403, "FORBIDDEN")
    assert client.get("/api/v1/jobs", headers=other["headers"]).json()["count"] == 0
    assert (settings.results_dir / full["job_id"] / "trades.parquet").is_file()


def test_a_cut_walk_forward_keeps_its_stitched_curve(served: tuple[Any, Settings]) -> None:
    client, _ = served
    user = make_user(client)
    body = {"symbol": "BTC/USDT", "model_type": "simple", "timeframe": "1h", "start_date": "2024-01-01",
            "end_date": "2024-02-01", "train_window": 300, "test_window": 100}  # fmt: skip
    answer = client.post(WALK, json=body, headers=user["headers"])
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["equity_curve_downsampled"] is True
    assert decode_strict(out, WalkForwardResult).full_curve is not None
    curve = _parquet(client.get(out["full_curve"]["equity_curve_url"], headers=user["headers"]))
    assert len(curve) == out["equity_curve_total_points"] > MAX_POINTS
    assert curve["equity"].iloc[-1] == out["final_equity"]
    trades = _parquet(client.get(out["full_curve"]["trades_url"], headers=user["headers"]))
    assert len(trades) == out["trades_total"]


def test_an_answer_that_was_not_cut_keeps_no_files(served: tuple[Any, Settings]) -> None:
    client, settings = served
    user = make_user(client)
    short = {**LONG, "timeframe": "1d", "start_date": "2024-01-01", "end_date": "2024-02-01"}
    answer = client.post(RUN, json=short, headers=user["headers"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["equity_curve_downsampled"] is False and answer.json()["trades_truncated"] is False
    assert answer.json()["full_curve"] is None
    accepted = client.post(RUN, json={**short, "async": True}, headers=user["headers"])
    job_id = accepted.json()["job_id"]
    assert wait_for_job(client, job_id, user["headers"], timeout=120.0)["result"]["full_curve"] is None
    assert not (settings.results_dir / job_id).exists()
    assert_envelope(client.get(f"/api/v1/jobs/{job_id}/files/equity_curve", headers=user["headers"]), 404,
                    "NOT_FOUND")  # fmt: skip
    mine = client.get("/api/v1/jobs", headers=user["headers"]).json()
    assert [j["job_id"] for j in mine["jobs"]] == [job_id]  # the sync run that kept nothing is not a job
