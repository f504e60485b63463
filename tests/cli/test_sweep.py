"""`tradeforge sweep`: ranked JSON equal to the backtest command's own runs, the table, and bad input
exiting 2 with a clear message before any bar is read."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe

runner = CliRunner()


@pytest.fixture
def bars_file(tmp_path: Path) -> Path:
    now = pd.Timestamp("2024-01-01", tz="UTC")
    bars = SyntheticProvider(5, now=lambda: now).fetch(
        parse_symbol("GOOG"), parse_timeframe("1d"), pd.Timestamp("2021-01-01", tz="UTC"), now
    )
    path = tmp_path / "GOOG.csv"
    bars.assign(timestamp=bars["timestamp"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def _file_args(path: Path) -> list[str]:
    return ["--strategy", "sma_cross", "--symbol", "GOOG", "--source", "file", "--path", str(path)]


def test_sweep_json_ranks_combinations_as_their_backtests(env_home: Path, bars_file: Path) -> None:
    args = [
        "sweep",
        *_file_args(bars_file),
        "--param",
        "fast=4:12:4",
        "--param",
        "slow=10,20,30",
        "--constraint",
        "slow != 20",
        "--objective",
        "total_return",
        "--top",
        "3",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["combinations"] == 5 and payload["grid_size"] == 9
    assert payload["constraints"] == ["fast < slow", "slow != 20"]
    assert [row["rank"] for row in payload["results"]] == [1, 2, 3]
    returns = [row["metrics"]["total_return"] for row in payload["results"]]
    assert returns == sorted(returns, reverse=True)
    best = payload["results"][0]
    single = runner.invoke(
        app, ["backtest", *_file_args(bars_file), "--params", json.dumps(best["params"]), "--json"]
    )
    assert single.exit_code == 0, single.stderr
    assert json.loads(single.stdout)["metrics"]["total_return"] == pytest.approx(
        best["metrics"]["total_return"], rel=1e-9
    )
    sig = payload["significance"]
    assert sig["trials"] == 5 and sig["deflated_sharpe"] is not None
    assert sig["overfitting"]["trials"] == 5
    bench = payload["benchmark"]  # the best against buy and hold of the file's bars
    assert bench["symbol"] == "GOOG" and "buy and hold of GOOG" in bench["verdict"]
    held = runner.invoke(app, ["backtest", *_file_args(bars_file), "--json"])
    held_json = json.loads(held.stdout)  # the backtest's own benchmark block: the same buy and hold
    assert bench["total_return"] == pytest.approx(held_json["benchmark"]["total_return"], rel=1e-9)
    assert sig["benchmark_sharpe"] == pytest.approx(bench["sharpe_ratio"])
    assert not (env_home / "market").exists()


def test_sweep_prints_a_table_and_the_deflated_sharpe(env_home: Path, bars_file: Path) -> None:
    args = ["sweep", *_file_args(bars_file), "--param", "fast=3:9:3", "--param", "slow=15:25:10"]
    result = runner.invoke(app, [*args, "--sample", "4", "--seed", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stderr
    assert "top 4 of 4 by sharpe" in result.stdout
    assert "deflated Sharpe of the best" in result.stdout and "PBO" in result.stdout
    text = " ".join(result.stdout.split())
    assert "how much to trust this" in text and "buy and hold of GOOG" in text
    assert "P(true SR > 0)" in text and "deflated SR" in text


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "fats=5:10"], "has no parameter 'fats'"),
        (["--param", "fast"], "must be NAME=START:STOP:STEP"),
        (["--param", "fast=5:10", "--param", "fast=6"], "given twice"),
        (["--param", "fast=5:x"], "'x' is not a number"),
        (["--param", "fast=5:10", "--constraint", "fast <> slow"], "must be 'a OP b'"),
        (["--param", "fast=5:10", "--objective", "luck"], "unknown objective 'luck'"),
        (
            ["--param", "fast=1:20", "--param", "slow=2:21"],
            "the sweep has 210 combinations, over the limit of 50",
        ),
    ],
)
def test_bad_input_exits_2(
    env_home: Path, bars_file: Path, monkeypatch: pytest.MonkeyPatch, extra: list[str], message: str
) -> None:
    monkeypatch.setenv("TRADEFORGE_SWEEP_MAX_COMBINATIONS", "50")
    from pipelines.settings import get_settings

    get_settings.cache_clear()
    result = runner.invoke(app, ["sweep", *_file_args(bars_file), *extra], env={"COLUMNS": "300"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.stderr.split())
