"""`tradeforge train` and `tradeforge models list` over a real MLflow store in the test's home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.models.tracking import MlflowTracker

runner = CliRunner()


@pytest.fixture
def cli_home(env_home: Path, tracker: MlflowTracker, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The env home, with the session's pre-migrated MLflow store behind MLFLOW_TRACKING_URI."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracker.uri)
    return env_home


ARGS = [
    "train",
    "--model-type",
    "lightgbm",
    "--model-name",
    "lgbm_aapl",
    "--symbol",
    "AAPL",
    "--timeframe",
    "1d",
    "--source",
    "synthetic",
    "--start",
    "2019-01-01",
    "--end",
    "2023-01-01",
    "--params",
    '{"n_estimators": 30}',
    "--validation-split",
    "0.2",
]


def test_train_json_then_list(cli_home: Path) -> None:
    result = runner.invoke(app, [*ARGS, "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {"model_name", "version", "run_id", "metrics", "champion", "device", "seconds"} <= set(payload)
    assert (payload["model_name"], payload["version"], payload["champion"], payload["device"]) == (
        "lgbm_aapl",
        "1",
        True,
        "cpu",
    )
    assert "val_ic" in payload["metrics"] and payload["seconds"] > 0
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).stdout)
    assert listed["count"] == 1
    (model,) = listed["models"]
    assert (model["model_name"], model["champion_version"], model["model_type"]) == (
        "lgbm_aapl",
        "1",
        "lightgbm",
    )
    assert "val_directional_accuracy" in model["metrics"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--params", '{"n_estimators": '], "not valid JSON"),
        (["--params", "[1, 2]"], "JSON object"),
        (["--params", '{"depth": 3}'], "depth"),
        (["--model-type", "transformer"], "unknown model_type"),
        (["--validation-split", "1.5"], "validation_split"),
        (["--start", "2023-06-01"], "must be before end"),
    ],
)
def test_bad_input_exits_2_and_registers_nothing(
    cli_home: Path, tracker: MlflowTracker, change: list[str], message: str
) -> None:
    args = list(ARGS)
    flag = change[0]
    args[args.index(flag) + 1] = change[1]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr.replace("\n", " ")
    assert tracker.list_models() == []
    assert not (cli_home / "market").exists()


def test_retrain_shows_the_comparison_and_force_promotes(cli_home: Path, tracker: MlflowTracker) -> None:
    assert runner.invoke(app, [*ARGS, "--json"]).exit_code == 0
    again = runner.invoke(app, [*ARGS, "--json"])
    assert again.exit_code == 0, again.stderr
    payload = json.loads(again.stdout)
    compared = payload["comparison"]
    assert payload["champion"] is False and "champion stays version 1" in payload["decision"]
    assert compared["metric"] == "val_ic" and compared["champion_version"] == "1"
    assert compared["candidate"] == compared["champion"] == payload["metrics"]["val_ic"]  # a tie keeps it
    assert compared["window_of"] == "candidate" and compared["rows"] > 0 and not compared["forced"]
    assert compared["window_start"] >= payload["data_range"]["val_start"]
    # the same fit twice: one held-out Sharpe ratio, no spread, so the deflation changes nothing
    assert compared["trials"] == 2 and compared["trials_sharpe_variance"] == pytest.approx(0.0, abs=1e-18)
    assert compared["deflated_sharpe"] == pytest.approx(compared["candidate_psr"])

    forced = runner.invoke(app, [*ARGS, "--force"])
    assert forced.exit_code == 0, forced.stderr
    text = " ".join(forced.stdout.split())
    assert "forced: promoted to champion over v1" in text and "compared on" in text
    assert "deflated Sharpe ratio" in text and "over 3 trials" in text
    champion = tracker.alias_version("lgbm_aapl", "champion")
    assert champion is not None and champion.version == "3"
    assert tracker.client.get_run(champion.run_id).data.tags["tradeforge.champion_forced"] == "true"
