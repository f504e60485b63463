"""The CLI starts fast: ``--help`` and the listing commands import no heavy library (each costs from a
tenth of a second to seconds), a model name that is not registered fails before any data is read,
and a data source being retried says so as it happens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("mlflow", "lightgbm", "xgboost", "torch", "dagster", "litestar", "sklearn", "numba", "duckdb")
# Also kept out of the commands that need no table or database of their own.
MEDIUM = ("pandas", "sqlalchemy", "jwt", "scipy")

_PROBE = """
import json, sys
from pipelines.cli import app
try:
    app(sys.argv[1:], prog_name="tradeforge")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "modules": sorted(m.split(".")[0] for m in sys.modules)}), file=sys.stderr)
"""


def _imported(args: list[str], home: Path) -> set[str]:
    """The top-level modules a fresh interpreter has imported once the command has run."""
    env = {**os.environ, "TRADEFORGE_HOME": str(home), "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    env.pop("MLFLOW_TRACKING_URI", None)
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], env=env, capture_output=True, text=True, timeout=120
    )
    report = json.loads(run.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, run.stderr[-2000:]
    return set(report["modules"])


@pytest.mark.parametrize("args", [["--help"], ["models", "list"], ["models", "list", "--json"], ["config"]])
def test_light_commands_import_no_heavy_library(tmp_path: Path, args: list[str]) -> None:
    loaded = _imported(args, tmp_path / "home")
    assert "typer" in loaded  # the probe really ran the CLI
    assert loaded.isdisjoint(HEAVY + MEDIUM), sorted(loaded & set(HEAVY + MEDIUM))


def test_listing_stored_data_imports_no_model_or_feature_library(tmp_path: Path) -> None:
    loaded = _imported(["data", "list"], tmp_path / "home")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_an_unknown_model_fails_before_any_bar_is_read(env_home: Path) -> None:
    params = '{"model_name": "nope"}'
    args = ["backtest", "--strategy", "ml_predictive", "--symbol", "AAPL", "--params", params]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "no registered model named 'nope'" in result.stderr
    assert not (env_home / "market").exists()  # nothing was ingested for a backtest that cannot run
    assert not (env_home / "mlflow").exists()  # nor an MLflow store created to find that out


def test_a_retried_source_says_so_as_it_happens(env_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network in tests: every ccxt request fails as a network error, which is retried."""
    monkeypatch.setenv("TRADEFORGE_PROVIDER_MAX_RETRIES", "2")
    monkeypatch.setenv("TRADEFORGE_PROVIDER_BACKOFF_SECONDS", "0.01")
    args = ["ingest", "--symbols", "BTC/USDT", "--source", "ccxt", "--start", "2024-01-01", "--json"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "300"})
    assert result.exit_code == 1
    retries = [line for line in result.stderr.splitlines() if line.startswith("retrying ccxt")]
    assert len(retries) == 2, result.stderr
    assert "(attempt 2/3)" in retries[0] and "(attempt 3/3)" in retries[1]
    assert "load_markets in 0.01s" in retries[0]


_GC_PROBE = """
import atexit, gc, json, sys
state = lambda: {"frozen": gc.get_freeze_count(), "thresholds": gc.get_threshold()[:2]}
atexit.register(lambda: print(json.dumps(state()), file=sys.stderr))
from pipelines.cli import app
app(sys.argv[1:], prog_name="tradeforge")
"""


def test_the_entry_point_freezes_its_heap_for_a_quick_exit(tmp_path: Path) -> None:
    """The console script collects young objects less often and freezes the heap once the command
    is done (exit then frees it without the collector's passes); the command's output is whole."""
    env = {**os.environ, "TRADEFORGE_HOME": str(tmp_path / "home"), "PYTHONPATH": str(ROOT)}
    env.pop("MLFLOW_TRACKING_URI", None)
    run = subprocess.run(
        [sys.executable, "-c", _GC_PROBE, "config", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout)["general"]["fields"]["home"]["value"] == str(tmp_path / "home")
    gc_state = json.loads(run.stderr.strip().splitlines()[-1])
    assert gc_state["frozen"] > 10_000  # the interpreter's and the CLI's objects, at least
    assert gc_state["thresholds"] == [10_000, 50]
