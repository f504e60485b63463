"""`tradeforge backtest`: JSON shape, file source, model strategies, bad input exits 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.data.providers.synthetic import SyntheticProvider
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.settings import get_settings

runner = CliRunner()
DESIGN_METRICS = {
    "total_return",
    "annual_return",
    "sharpe_ratio",
    "sortino_ratio",
    "calmar_ratio",
    "max_drawdown",
    "volatility",
    "num_trades",
    "win_rate",
    "profit_factor",
    "avg_win",
    "avg_loss",
    "avg_trade_duration",
    "winning_trades",
    "losing_trades",
    "exposure",
}


@pytest.fixture
def goog_csv(tmp_path: Path) -> Path:
    now = pd.Timestamp("2025-01-01", tz="UTC")
    bars = SyntheticProvider(7, now=lambda: now).fetch(
        parse_symbol("GOOG"), parse_timeframe("1d"), pd.Timestamp("2020-01-01", tz="UTC"), now
    )
    frame = pd.DataFrame(
        {
            "Date": bars["timestamp"].dt.strftime("%Y-%m-%d"),
            "Open": bars["open"],
            "High": bars["high"],
            "Low": bars["low"],
            "Close": bars["close"],
            "Volume": bars["volume"],
        }
    )
    path = tmp_path / "GOOG.csv"
    frame.to_csv(path, index=False)
    return path


def test_backtest_json_from_a_file(env_home: Path, goog_csv: Path) -> None:
    result = runner.invoke(
        app,
        [
            "backtest",
            "--strategy",
            "sma_cross",
            "--params",
            '{"fast": 10, "slow": 20}',
            "--symbol",
            "GOOG",
            "--source",
            "file",
            "--path",
            str(goog_csv),
            "--timeframe",
            "1d",
            "--initial-capital",
            "10000",
            "--commission",
            "0.002",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert set(payload["metrics"]) >= DESIGN_METRICS
    assert payload["num_bars"] == len(pd.read_csv(goog_csv))
    assert payload["final_equity"] == pytest.approx(payload["equity_curve"][-1][1])
    assert payload["equity_curve"][0][0].startswith("2020-01-02")
    assert payload["metrics"]["num_trades"] == len(payload["trades"]) > 0
    assert {"entry_time", "exit_time", "entry_price", "exit_price", "pnl", "exit_reason"} <= set(
        payload["trades"][0]
    )
    assert not (env_home / "market").exists(), "a user's file is read, not stored"


def test_shorting_and_stops_change_the_result(env_home: Path, goog_csv: Path) -> None:
    base = [
        "backtest",
        "--strategy",
        "sma_cross",
        "--symbol",
        "GOOG",
        "--source",
        "file",
        "--path",
        str(goog_csv),
        "--json",
    ]
    long_only = json.loads(runner.invoke(app, base).stdout)
    both = json.loads(runner.invoke(app, [*base, "--allow-short"]).stdout)
    stopped = json.loads(runner.invoke(app, [*base, "--stop-loss", "0.01"]).stdout)
    assert both["metrics"]["exposure"] > long_only["metrics"]["exposure"]
    assert any(t["exit_reason"] == "stop_loss" for t in stopped["trades"])
    assert np.isfinite(both["final_equity"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "moon"], "moon"),
        (["--params", '{"fast": "ten"}'], "fast"),
        (["--params", '{"speed": 3}'], "speed"),
        (["--commission", "0.5"], "commission"),
        (["--position-size", "2"], "position_size"),
        (["--source", "file"], "--path"),
        (["--start", "2024-02-01", "--end", "2024-01-01"], "must be before end"),
        (["--strategy", "ml_predictive", "--params", '{"model_name": "nobody"}'], "nobody"),
    ],
)
def test_bad_input_exits_2(env_home: Path, args: list[str], message: str) -> None:
    base = {"--strategy": "sma_cross", "--symbol": "AAPL", "--start": "2024-01-01", "--end": "2024-06-01"}
    flat = [x for kv in base.items() for x in kv]
    for i in range(0, len(args), 2):
        if args[i] in base:
            flat[flat.index(args[i]) + 1] = args[i + 1]
        else:
            flat += args[i : i + 2]
    result = runner.invoke(app, ["backtest", *flat])
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr.replace("\n", " ")


def test_backtest_says_how_much_to_trust_it(
    env_home: Path, goog_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Buy and hold of the same bars and, with a benchmark symbol set, of that symbol; the
    significance of the Sharpe ratio; all of it in --json, a short block in the text."""
    monkeypatch.setenv("TRADEFORGE_BACKTEST_BENCHMARK_SYMBOL", "SPY")
    get_settings.cache_clear()
    args = [
        "backtest",
        "--strategy",
        "sma_cross",
        "--symbol",
        "GOOG",
        "--source",
        "file",
        "--path",
        str(goog_csv),
    ]
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    bench, sig = payload["benchmark"], payload["significance"]
    assert bench["symbol"] == "GOOG" and bench["strategy"] == "buy_and_hold"
    assert bench["common_bars"] == payload["num_bars"]
    assert bench["excess_return"] == pytest.approx(payload["metrics"]["total_return"] - bench["total_return"])
    assert bench["verdict"].startswith(("beat buy and hold of GOOG", "did not beat buy and hold of GOOG"))
    (spy,) = bench["others"]
    assert spy["symbol"] == "SPY" and spy["common_bars"] > 100
    assert sig["sharpe_ratio"] == pytest.approx(payload["metrics"]["sharpe_ratio"])
    assert sig["benchmark_sharpe"] == pytest.approx(bench["sharpe_ratio"])
    assert (
        0.0 < sig["psr_vs_zero"] < 1.0
        and sig["trials"] == 1
        and sig["observations"] == payload["num_bars"] - 1
    )
    text = runner.invoke(app, args)
    assert text.exit_code == 0, text.stderr
    assert "how much to trust this" in text.stdout
    assert bench["verdict"] in text.stdout and spy["verdict"] in text.stdout
    assert f"{sig['psr_vs_zero']:.3f}" in text.stdout
    assert f"> buy and hold's: {sig['psr_vs_benchmark']:.3f}" in text.stdout
    mintrl = sig["min_track_record_years"]
    assert (f"{mintrl:.1f} years needed" if mintrl is not None else "no length makes") in text.stdout
    assert sig["verdict"] in text.stdout
    assert "not significant at 95%" in text.stdout or "significant at 95%" in text.stdout
