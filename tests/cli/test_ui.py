"""``tradeforge dagster`` and ``tradeforge mlflow``: what they write stays under the home, and the
MLflow server starts one worker with no deprecated option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from dagster._core.nux import set_nux_seen

from pipelines.cli import ui
from pipelines.cli.ui import MLFLOW_WARNING_FILTER, mlflow_server_command
from pipelines.runtime import REPO_ROOT, dagster_env
from pipelines.settings import Settings, get_settings


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


def test_dagster_dev_runs_in_the_instance_folder_on_this_repository(
    env_home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, object] = {}

    def execve(exe: str, args: list[str], env: dict[str, str]) -> None:
        seen.update(args=args, env=env, cwd=Path.cwd())

    monkeypatch.chdir(tmp_path)  # restored after the test
    monkeypatch.setattr(ui.os, "execve", execve)
    monkeypatch.setattr(ui.subprocess, "run", lambda *a, **k: None)
    get_settings.cache_clear()
    ui.dagster(port=3001, host="127.0.0.1")
    env = seen["env"]
    assert isinstance(env, dict)
    assert seen["cwd"] == Path(env["DAGSTER_HOME"]) == get_settings().dagster_dir.resolve()
    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(REPO_ROOT)
    args = seen["args"]
    assert isinstance(args, list)
    assert args[1:] == ["dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", "3001"]
