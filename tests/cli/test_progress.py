"""``train`` and ``walk-forward`` show their stages and folds on stderr (a bar on a terminal, lines in a
log) without MLflow's INFO lines; with ``--json`` stdout is one JSON object. A walk-forward warms its
features on the bars before ``--start``, so every fold trains on a full window."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipelines.cli import _common, app
from pipelines.data.providers import get_provider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.settings import get_settings

runner = CliRunner()
WALK = ["walk-forward", "--model-type", "simple", "--symbol", "AAPL", "--end", "2024-01-01"]
WINDOWS = ["--train-window", "252", "--test-window", "63"]


def test_walk_forward_trains_every_fold_on_a_full_window(env_home: Path) -> None:
    result = runner.invoke(app, [*WALK, "--source", "synthetic", "--start", "2022-01-01", *WINDOWS, "--json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1  # exactly one JSON object
    answer = json.loads(result.stdout)
    assert len(answer["folds"]) == 3 and answer["warnings"] == []
    assert [f["train_rows"] for f in answer["folds"]] == [252, 252, 252]
    assert (
        answer["folds"][0]["test_start"] > "2022-12-01"
    )  # the first test window follows a year from --start
    assert "fold 1/3" not in result.stderr and "INFO" not in result.stderr
    # walk-forward efficiency: mean out-of-sample over mean in-sample Sharpe ratio of the folds
    sig = answer["significance"]
    pairs = [
        (f["in_sample_metrics"]["sharpe_ratio"], f["metrics"]["sharpe_ratio"])
        for f in answer["folds"]
        if f["in_sample_metrics"]["sharpe_ratio"] is not None and f["metrics"]["sharpe_ratio"] is not None
    ]
    assert pairs and sig["in_sample_sharpe"] is not None and sig["out_of_sample_sharpe"] is not None
    mean_in = sum(i for i, _ in pairs) / len(pairs)
    wfe = sum(o for _, o in pairs) / len(pairs) / mean_in if mean_in > 0 else None
    assert sig["in_sample_sharpe"] == pytest.approx(mean_in)
    assert sig["out_of_sample_sharpe"] == pytest.approx(sum(o for _, o in pairs) / len(pairs))
    assert sig["walk_forward_efficiency"] == (None if wfe is None else pytest.approx(wfe))
    assert sig["verdict"].startswith("Sharpe ratio above 0: ") and answer["benchmark"]["verdict"]


def test_walk_forward_shows_its_stages_folds_and_short_windows(env_home: Path, tmp_path: Path) -> None:
    """A user's file holds no bars before --start: the first folds lose the features' warm-up, and say so."""
    sym, tf = parse_symbol("AAPL"), parse_timeframe("1d")
    synthetic = get_provider("synthetic", get_settings())
    bars = synthetic.fetch(
        sym, tf, pd.Timestamp("2022-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="UTC")
    )
    csv = tmp_path / "aapl.csv"
    bars[["timestamp", "open", "high", "low", "close", "volume"]].to_csv(csv, index=False)
    args = [*WALK, "--source", "file", "--path", str(csv), "--start", "2022-01-01", *WINDOWS]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "3 folds" in result.stdout and "fold" not in result.stdout.replace("3 folds", "")
    for label in ("how much to trust this", "P(true SR > 0)", "track record", "wf efficiency", "verdict"):
        assert label in result.stdout
    lines = result.stderr.splitlines()
    stages = [line.split(": ", 1)[1] for line in lines if line.startswith("walk-forward simple on AAPL 1d: ")]
    assert stages[:2] == ["loading AAPL 1d bars", f"features of {len(bars)} bars"]
    assert stages[2:] == [
        "fold 1/3 fitted",
        "fold 2/3 fitted",
        "fold 3/3 fitted",
        "backtesting 3 test windows",
    ]
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert len(warnings) == 3 and warnings[0].startswith("warning: fold 0 trained on 52 rows, not 252")

    as_json = runner.invoke(app, [*args, "--json"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["warnings"] == [w.removeprefix("warning: ") for w in warnings]


def test_train_draws_its_stages_on_a_bar_without_mlflow_logs(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(_common, "err", Console(file=screen, force_terminal=True, width=200))
    args = ["train", "--model-type", "simple", "--model-name", "bar_test", "--symbol", "AAPL"]
    result = runner.invoke(
        app, [*args, "--source", "synthetic", "--start", "2023-01-01", "--end", "2024-01-01"]
    )
    assert result.exit_code == 0, result.output
    assert "bar_test version 1" in result.stdout
    drawn = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", screen.getvalue())  # the text, without terminal codes
    for stage in (
        "loading AAPL 1d bars",
        "features of",
        "fitting simple on cpu",
        "evaluating",
        "logging to MLflow and registering",
    ):
        assert f"training simple bar_test on AAPL 1d: {stage}" in drawn
    assert "INFO" not in drawn + result.stderr  # MLflow's "Creating initial MLflow database tables..."
