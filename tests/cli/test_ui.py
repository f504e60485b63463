"""``tradeforge dagster`` and ``tradeforge mlflow``: what they write stays under the home, and the
MLflow server starts one worker with no deprecated option."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from dagster._core.nux import set_nux_seen

from pipelines.cli.ui import MLFLOW_WARNING_FILTER, mlflow_server_command
from pipelines.runtime import REPO_ROOT, dagster_env
from pipelines.settings import Settings
from tests.net_support import free_port


def test_dagster_home_is_under_the_home_with_the_repository_instance(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = dagster_env(settings)
    home = Path(env["DAGSTER_HOME"])
    assert home == settings.dagster_dir.resolve()
    assert (home / "dagster.yaml").read_text() == (REPO_ROOT / "dagster.yaml").read_text()
    (home / "dagster.yaml").write_text("stale: true\n")
    dagster_env(settings)  # refreshed from the repository on every start
    assert (home / "dagster.yaml").read_text() == (REPO_ROOT / "dagster.yaml").read_text()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    had_nux = (REPO_ROOT / ".nux").exists()
    set_nux_seen()  # what the UI writes when its welcome is dismissed
    assert (home / ".nux" / "nux.yaml").is_file()
    assert (REPO_ROOT / ".nux").exists() == had_nux


def test_mlflow_server_runs_one_worker_without_deprecated_options(tmp_path: Path) -> None:
    args, env = mlflow_server_command(
        "mlflow", "sqlite:///m.db", tmp_path, "127.0.0.1", 5001, {"PYTHONWARNINGS": "error::UserWarning"}
    )
    assert args[:2] == ["mlflow", "server"]
    assert args[args.index("--workers") + 1] == "1"
    assert args[args.index("--port") + 1] == "5001"
    assert not {"--gunicorn-opts", "--waitress-opts", "--serve-artifacts", "-h"} & set(args)
    assert env["MLFLOW_TRACKING_URI"] == "sqlite:///m.db"
    assert env["PYTHONWARNINGS"] == f"error::UserWarning,{MLFLOW_WARNING_FILTER}"


def test_the_mlflow_filter_drops_only_the_starlette_wsgi_warning(tmp_path: Path) -> None:
    code = (
        "import warnings\n"
        "warnings.warn('starlette.middleware.wsgi is deprecated and will be removed', DeprecationWarning)\n"
        "warnings.warn('something else is deprecated', DeprecationWarning)\n"
    )
    _, env = mlflow_server_command(
        "mlflow", "sqlite:///m.db", tmp_path, "127.0.0.1", 5001, {"PYTHONWARNINGS": "always"}
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "something else is deprecated" in done.stderr
    assert "starlette" not in done.stderr


def test_dagster_runs_the_webserver_and_daemon_not_the_superseded_dev_command(tmp_path: Path) -> None:
    """A real start: the UI answers, the daemon runs beside it in the instance folder, nothing says a
    command is superseded, and a SIGTERM to the command stops both."""
    home, port = tmp_path / "home", free_port()
    env = {**os.environ, "TRADEFORGE_HOME": str(home), "TRADEFORGE_AUTOMATIONS_RUNNING": "false"}
    log = tmp_path / "dagster.log"
    with log.open("wb") as out:
        command = [str(Path(sys.executable).with_name("tradeforge")), "dagster", "--port", str(port)]
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline, answered = time.monotonic() + 120, False
        while time.monotonic() < deadline and process.poll() is None and not answered:
            try:
                answered = (
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2).status == 200
                )
            except OSError:
                time.sleep(0.5)
        assert answered, log.read_text()
        children = {" ".join(c.cmdline()[1:3]): c for c in psutil.Process(process.pid).children()}
        daemon = next(c for k, c in children.items() if "dagster-daemon" in k)
        assert Path(daemon.cwd()) == (home / "dagster").resolve()
        assert not any("dev" in c.cmdline()[1:3] for c in children.values())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children.values())
    text = log.read_text()
    assert "superseded" not in text and "dg dev" not in text, text
    assert not (tmp_path / ".nux").exists()  # the working directory gets nothing
