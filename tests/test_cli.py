"""The tradeforge CLI: JSON output, exit status 2 on bad input with stored data untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


def tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*.parquet"))}


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_ingest_json(env_home: Path) -> None:
    code, out, _ = invoke(
        "ingest",
        "--source",
        "synthetic",
        "--symbols",
        "AAPL,BTC/USDT",
        "--timeframe",
        "1d",
        "--start",
        "2024-01-01",
        "--end",
        "2024-03-01",
        "--json",
    )
    assert code == 0
    payload = json.loads(out)
    assert payload["rows_written"] == 41 + 60
    assert payload["symbols"]["AAPL"]["rows_written"] == payload["symbols"]["AAPL"]["rows_total"] == 41
    assert {k: payload["symbols"]["BTC/USDT"][k] for k in ("rows_written", "rows_total")} == {
        "rows_written": 60,
        "rows_total": 60,
    }
    assert Path(payload["symbols"]["BTC/USDT"]["path"]).is_dir()
    assert isinstance(payload["seconds"], float)
    # A second run writes nothing.
    code, out, _ = invoke(
        "ingest", "--symbols", "BTC_USDT", "--start", "2024-01-01", "--end", "2024-03-01", "--json"
    )
    assert code == 0 and json.loads(out)["rows_written"] == 0


def test_features_json_and_listing(env_home: Path) -> None:
    invoke(
        "ingest", "--symbols", "ETHUSDT", "--timeframe", "1h", "--start", "2024-01-01", "--end", "2024-02-01"
    )
    code, out, _ = invoke("features", "--symbol", "ETH/USDT", "--timeframe", "1h", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["rows"] == 31 * 24
    assert payload["columns"] > 60 and Path(payload["path"]).is_file()
    assert payload["path"].endswith("features/source=synthetic/timeframe=1h/symbol=ETH-USDT/features.parquet")
    assert payload["seconds"] >= 0
    code, out, _ = invoke("data", "list", "--json")
    (dataset,) = json.loads(out)["datasets"]
    assert (dataset["symbol"], dataset["timeframe"], dataset["rows"]) == ("ETH/USDT", "1h", 744)
    code, out, _ = invoke("data", "check", "--symbol", "ETH/USDT", "--timeframe", "1h", "--json")
    assert code == 0 and json.loads(out)["passed"] is True


def test_file_source(env_home: Path, tmp_path: Path) -> None:
    csv = tmp_path / "GOOG.csv"
    pd.DataFrame(
        {
            "Date": ["2024-01-02", "2024-01-03", "2024-01-04"],
            "Open": [100.0, 101.0, 102.0],
            "High": [102.0, 103.0, 104.0],
            "Low": [99.0, 100.0, 101.0],
            "Close": [101.0, 102.0, 103.0],
            "Adj Close": [101.0, 102.0, 103.0],
            "Volume": [1e6, 1.1e6, 1.2e6],
        }
    ).to_csv(csv, index=False)
    code, out, _ = invoke("ingest", "--source", "file", "--path", str(csv), "--symbols", "GOOG", "--json")
    assert code == 0, out
    assert json.loads(out)["symbols"]["GOOG"]["rows_total"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ingest", "--source", "nope", "--symbols", "AAPL"], "unknown source 'nope'"),
        (["ingest", "--symbols", "AAPL", "--timeframe", "3h"], "unknown timeframe '3h'"),
        (["ingest", "--symbols", "AA$PL"], "malformed symbol"),
        (
            ["ingest", "--symbols", "AAPL", "--start", "2024-05-01", "--end", "2024-01-01"],
            "must be before end",
        ),
        (["ingest", "--source", "file", "--path", "/no/such.csv", "--symbols", "X"], "no such file"),
        (["features", "--symbol", "MSFT"], "no stored 1d bars of MSFT"),
        (["features", "--symbol", "AAPL", "--feature-set", "huge"], "huge"),
        (["data", "check", "--symbol", "MSFT"], "no stored 1d bars"),
        (["resample", "--symbol", "AAPL", "--from", "1h", "--to", "5m"], "must be longer"),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(env_home: Path, args: list[str], message: str) -> None:
    invoke("ingest", "--symbols", "AAPL", "--start", "2024-01-01", "--end", "2024-02-01")
    before = tree(env_home)
    code, _, err = invoke(*args)
    assert code == 2
    assert message in err.replace("\n", " ")
    assert tree(env_home) == before


def test_console_script_exit_status(env_home: Path) -> None:
    exe = Path(sys.executable).parent / "tradeforge"
    done = subprocess.run(
        [str(exe), "ingest", "--symbols", "AAPL", "--timeframe", "7m"],
        capture_output=True,
        text=True,
        env={**os.environ},
        timeout=120,
    )
    assert done.returncode == 2
    assert "unknown timeframe '7m'" in done.stderr
    assert done.stdout == ""
