"""The platform's job kinds: checked at submission, run for real in a worker; the registry; the table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, inspect, select

from pipelines.app.backtest import api_backtest, backtest_task
from pipelines.app.jobs import default_tasks
from pipelines.db import Database, Job
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.jobs import JobQueue, TaskKinds, register_task, task_spec
from pipelines.jobs.worker import json_safe
from tests.db.test_migrations import schema_diff
from tests.jobs.sample_tasks import echo

MakeQueue = Callable[..., JobQueue]


def test_a_backtest_job_runs_end_to_end(make_queue: MakeQueue) -> None:
    params = {
        "symbol": "AAPL",
        "strategy": "sma_cross",
        "start_date": "2024-03-01",
        "end_date": "2024-09-01",
        "initial_capital": 5000.0,
    }
    queue = make_queue(tasks=default_tasks()).start()
    job = queue.submit("backtest", params, owner="ann")
    assert job.description == "Running backtest for AAPL..."
    assert (job.est_cpu_cores, job.est_ram_gb) == (0.5, 0.5)
    done = queue.wait(job.id, timeout=60)
    assert done.status == "completed", done.error
    assert done.result is not None and done.result["status"] == "success"
    assert done.result["period"] == {"start": "2024-03-01", "end": "2024-09-01"}
    assert done.result["num_bars"] > 100 and done.result["metrics"]["num_trades"] >= 0
    # The worker's answer is the synchronous API's answer, as JSON values.
    assert done.result == json_safe(api_backtest(queue.settings, **params))


OPT = {"symbol": "AAPL", "strategy": "sma_cross", "parameters": {"fast": "3:9"}, "study_name": "s"}


@pytest.mark.parametrize(
    ("kind", "params", "error", "message"),
    [
        ("backtest", {"symbol": "AAPL", "strategy": "nope"}, InvalidRequestError, "nope"),
        ("backtest", {"strategy": "sma_cross"}, InvalidRequestError, "symbol must be a non-empty string"),
        (
            "backtest",
            {"symbol": "AAPL", "strategy": "sma_cross", "colour": "red"},
            InvalidRequestError,
            "colour",
        ),
        (
            "backtest",
            {"symbol": "AAPL", "strategy": "sma_cross", "start_date": "2024-05-01", "end_date": "2024-01-01"},
            InvalidRequestError,
            "must be before end",
        ),
        (
            "backtest",
            {"symbol": "AAPL", "strategy": "sma_cross", "commission": "lots"},
            InvalidRequestError,
            "commission must be a number",
        ),
        ("training", {"model_type": "magic", "symbol": "AAPL"}, InvalidRequestError, "unknown model_type"),
        ("training", {"model_type": "lightgbm"}, InvalidRequestError, "needs a symbol"),
        (
            "walk_forward",
            {"symbol": "AAPL", "model_type": "lightgbm", "mode": "sideways"},
            InvalidRequestError,
            "mode",
        ),
        ("walk_forward", {"symbol": "AAPL"}, InvalidRequestError, "needs model_name"),
        ("optimize", {**OPT, "parameters": {"fast": 5}}, InvalidRequestError, "range is text"),
        ("optimize", {**OPT, "path": "/etc/passwd"}, InvalidRequestError, "unknown job parameter"),
        ("optimize", {**OPT, "owner": "../x"}, InvalidRequestError, "cannot keep studies"),
        ("optimize", {**OPT, "trials": "many"}, InvalidRequestError, "trials must be an integer"),
        ("batch_prediction", {"model_name": "m", "symbols": "AAPL"}, InvalidRequestError, "list of symbols"),
        ("batch_prediction", {"model_name": "ghost", "symbols": ["AAPL"]}, DataNotFoundError, "ghost"),
    ],
)
def test_bad_parameters_are_refused_before_anything_is_queued(
    make_queue: MakeQueue,
    database: Database,
    kind: str,
    params: dict[str, Any],
    error: type[Exception],
    message: str,
) -> None:
    queue = make_queue(tasks=default_tasks())
    with pytest.raises(error, match=message):
        queue.submit(kind, params)
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == 0


def test_a_job_declares_ram_for_the_bars_it_reads(make_queue: MakeQueue) -> None:
    queue = make_queue(tasks=default_tasks())  # not started: the jobs only wait
    daily = queue.submit("backtest", {"symbol": "BTC/USDT", "strategy": "sma_cross", "timeframe": "1d"})
    assert daily.est_ram_gb == 0.5  # the floor: a few thousand bars
    assert daily.params["start_date"].startswith("2024-01-01")  # the planned range travels with the job
    assert daily.params["end_date"] is not None
    minutes = {"symbol": "BTC/USDT", "strategy": "sma_cross", "timeframe": "1m", "start_date": "2024-01-01",
               "end_date": "2025-06-01"}  # fmt: skip
    big = queue.submit("backtest", minutes)
    assert 1.3 < big.est_ram_gb < 1.6  # about 745,000 bars at 1.5 KB each, over the 0.5 GB floor


def test_a_multi_ohlc_training_declares_ram_for_its_targets(make_queue: MakeQueue) -> None:
    queue = make_queue(tasks=default_tasks())  # not started: the jobs only wait
    window = {"symbol": "ETH/USDT", "timeframe": "1m", "source": "synthetic", "start_date": "2024-01-01",
              "end_date": "2024-03-01"}  # fmt: skip
    plain = queue.submit("training", {"model_type": "lightgbm", **window})
    params = {"n_steps": 300, "n_estimators": 5}
    paths = queue.submit("training", {"model_type": "multi_ohlc", "parameters": params, **window})
    assert plain.est_ram_gb == 2.0  # the floor: about 86,000 bars at 2 KB
    # 1,200 float64 targets a bar, about four copies: 39.5 KB a bar (a fit on half as many bars was
    # seen to hold 2 GB).
    assert 3.5 < paths.est_ram_gb < 3.8


def test_training_parameters_are_normalized_at_submission(make_queue: MakeQueue) -> None:
    queue = make_queue(tasks=default_tasks())  # not started: the job only waits
    job = queue.submit("training", {"model_type": "lightgbm", "dataset": "AAPL@1d"})
    assert job.status == "queued"
    assert job.params == {
        "model_type": "lightgbm",
        "model_name": "lightgbm_aapl_1d",
        "symbol": "AAPL",
        "timeframe": "1d",
        "source": "synthetic",
    }
    assert job.description == "Training lightgbm model lightgbm_aapl_1d on AAPL..."


def test_the_registry_maps_kinds_to_marked_functions() -> None:
    tasks = TaskKinds([echo, backtest_task])
    assert tasks.kinds == ("backtest", "echo")
    assert tasks.get("echo").fn is echo and task_spec(echo).ram_gb == 1.0
    assert set(default_tasks().kinds) == {
        "training",
        "batch_prediction",
        "prediction",
        "backtest",
        "walk_forward",
        "optimize",
        "sweep",
        "dataset",
        "exchange_sync",
        "dl_training",
    }

    @register_task("echo")
    def other(params: dict[str, Any], progress: Any) -> dict[str, Any]:
        return {}

    with pytest.raises(ValueError, match="already registered"):
        tasks.add(other)
    with pytest.raises(TypeError, match="not marked"):
        tasks.add(len)
    with pytest.raises(ValueError, match="positive"):
        register_task("x", ram_gb=0)


def test_the_migrations_create_the_job_table(database: Database) -> None:
    assert "jobs" in inspect(database.engine).get_table_names()
    assert schema_diff(database.engine.url.render_as_string(hide_password=False)) == []


def test_a_training_job_checks_ownership_when_it_runs(make_queue: MakeQueue, database: Database) -> None:
    from pipelines.db import claim_model
    from pipelines.models.tracking import open_tracker

    queue = make_queue(tasks=default_tasks()).start()
    params = {"model_type": "simple", "model_name": "someone_elses", "symbol": "AAPL"}
    job = queue.submit("training", params, owner="bob")  # accepted: the name was free then
    with database.transaction() as session:  # another user claims it before the job runs
        claim_model(session, "someone_elses", "ann")
    done = queue.wait(job.id, timeout=60)
    assert done.status == "failed" and done.error is not None
    assert "'someone_elses' is owned by another user" in done.error
    assert "someone_elses" not in dict(open_tracker(queue.settings).list_models())
