"""`tradeforge optimize`: a search that keeps to its constraints, resumes its named study, logs one
MLflow run with the trials and the heat map, prints the in/out-of-sample table and the trust lines;
bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlflow import MlflowClient
from pipelines.cli import app
from pipelines.settings import get_settings

runner = CliRunner()
COMMAND = ["optimize", "--strategy", "sma_cross", "--symbol", "AAPL", "--source", "synthetic"]
SPAN = ["--start", "2024-01-01", "--end", "2025-06-01"]
PARAMS = ["--param", "fast=3:30", "--param", "slow=10:120:2", "--constraint", "fast<slow"]
BASE = [*COMMAND, *PARAMS, *SPAN]


def test_a_named_study_resumes_and_is_logged_to_mlflow(env_home: Path) -> None:
    first = runner.invoke(app, [*BASE, "--trials", "12", "--study", "aapl-sma", "--json"])
    assert first.exit_code == 0, first.stderr
    body = json.loads(first.stdout)
    assert body["trials_total"] == 12 and body["study_name"] == "aapl-sma"
    assert body["best_params"]["fast"] < body["best_params"]["slow"]
    assert body["best_params"]["slow"] % 2 == 0  # the step of the range
    assert body["split"]["holdout_bars"] > 0 and body["out_of_sample"]["num_trades"] >= 0
    assert {line["label"] for line in body["trust"]} >= {"in sample", "out of sample", "verdict"}
    assert (env_home / "studies" / "cli" / "aapl-sma.log").is_file()

    again = json.loads(runner.invoke(app, [*BASE, "--trials", "5", "--study", "aapl-sma", "--json"]).stdout)
    assert again["trials_total"] == 17, "the stored study was resumed"
    assert [t["number"] for t in again["trials"][:12]] == [t["number"] for t in body["trials"]]

    client = MlflowClient(get_settings().resolved_mlflow_uri())
    run = client.get_run(body["mlflow_run_id"])
    assert run.data.tags["tradeforge.report"] == "optimize"
    assert run.data.params["best_fast"] == str(body["best_params"]["fast"])
    assert run.data.metrics["oos_sharpe_ratio"] == pytest.approx(body["out_of_sample"]["sharpe_ratio"])
    assert "deflated_sharpe" in run.data.metrics
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "optimize-sma_cross"
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"trials.json", "optimization.json", "objective_heatmap.png"} <= artifacts


def test_the_table_and_trust_lines(env_home: Path) -> None:
    result = runner.invoke(app, [*BASE, "--trials", "8", "--no-prune", "--objective", "sortino"])
    assert result.exit_code == 0, result.stderr
    text = result.stdout
    assert "in sample vs out of sample" in text and "sortino_ratio" in text
    assert "how much to trust this" in text and "deflated SR" in text and "out of sample" in text
    assert "MLflow run" in text
    assert not (env_home / "studies").exists(), "an unnamed study is kept in memory"


def test_params_holds_values_fixed_as_in_a_sweep_and_fixed_still_works(env_home: Path) -> None:
    args = [*COMMAND, "--param", "fast=3:12", *SPAN, "--trials", "3", "--json"]
    new = runner.invoke(app, [*args, "--params", '{"slow": 40}'])
    old = runner.invoke(app, [*args, "--fixed", '{"slow": 40}'])
    assert new.exit_code == 0 and old.exit_code == 0, new.stderr + old.stderr
    body, again = json.loads(new.stdout), json.loads(old.stdout)
    assert body["fixed"] == again["fixed"] == {"slow": 40}
    assert body["best_params"] == again["best_params"]
    both = runner.invoke(app, [*args, "--params", '{"slow": 40}', "--fixed", '{"slow": 50}'])
    assert both.exit_code == 2 and "not both" in both.stderr
    shown = runner.invoke(app, ["optimize", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--params" in shown and "--fixed" not in shown  # the older name is accepted, not shown
    # Both windows stand beside buy and hold, in the answer and in the MLflow run.
    assert "buy and hold of AAPL" in body["benchmark_in_sample"]["verdict"]
    assert body["benchmark_in_sample"]["common_bars"] == body["split"]["search_bars"]
    run = MlflowClient(get_settings().resolved_mlflow_uri()).get_run(body["mlflow_run_id"])
    assert run.data.metrics["is_benchmark_annual_return"] == pytest.approx(
        body["benchmark_in_sample"]["annual_return"]
    )
    assert run.data.metrics["oos_benchmark_annual_return"] == pytest.approx(
        body["benchmark"]["annual_return"]
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "speed=1:5"], "has no parameter"),
        (["--param", "fast"], "name=low:high"),
        (["--param", "fast=9:3"], "ends below its start"),
        (["--constraint", "fast <> slow"], "a OP b"),
        (["--constraint", "fast < nope"], "not a parameter of the search"),
        (["--trials", "0"], "trials must be an integer"),
        (["--trials", "6"], "trials must be an integer 1..5"),
        (["--holdout", "0.9"], "holdout must be a fraction"),
        (["--objective", "luck"], "objective must be one of"),
        (["--study", "../escape"], "study name"),
        (["--heatmap", "fast,fast"], "heatmap names two different"),
        (["--start", "1900-01-01", "--timeframe", "1m"], "bars"),
    ],
)
def test_bad_input_exits_2_and_writes_nothing(
    env_home: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.setenv("TRADEFORGE_OPTIMIZE_MAX_TRIALS", "5")
    get_settings.cache_clear()
    params = ["--param", "slow=10:20"] if "--param" in args else PARAMS  # no name given twice
    result = runner.invoke(app, [*COMMAND, *params, *SPAN, "--trials", "3", *args])
    assert result.exit_code == 2, result.stdout + result.stderr
    assert message in " ".join(result.stderr.split())
    assert not (env_home / "market").exists() and not (env_home / "studies").exists()
