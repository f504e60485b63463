"""Commands that open the UIs (dagster, mlflow) and the Dagster step workers (dagster worker)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from pipelines.app.dagster_workers import worker_launch
from pipelines.cli._common import SwitchGroup, app, errors
from pipelines.cli.serve_logging import uvicorn_log_config
from pipelines.runtime import REPO_ROOT, dagster_env
from pipelines.settings import get_settings


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def dagster_commands(bindir: Path, host: str, port: int) -> tuple[list[str], list[str]]:
    """The daemon and the webserver command lines: what ``dagster dev`` runs, through the two
    commands a deployment uses (``dagster dev`` now warns that it is superseded)."""
    workspace = ["-w", str(REPO_ROOT / "workspace.yaml")]

    def exe(name: str) -> str:
        return shutil.which(name, path=str(bindir)) or name

    daemon = [exe("dagster-daemon"), "run", *workspace]
    webserver = [exe("dagster-webserver"), *workspace, "-h", host, "-p", str(port)]
    return daemon, webserver


dagster_app = typer.Typer(cls=SwitchGroup, invoke_without_command=True)
app.add_typer(dagster_app, name="dagster")


@dagster_app.callback()
def dagster(
    ctx: typer.Context,
    port: Annotated[int, typer.Option(help="Dagster UI port")] = 3000,
    host: Annotated[str, typer.Option(help="Dagster UI host")] = "127.0.0.1",
) -> None:
    """Open the Dagster UI with its daemon (schedules, sensors, run queue) on this repository's
    workspace and instance (TRADEFORGE_DAGSTER_INSTANCE: local SQLite, or PostgreSQL).

    Both run in the instance folder (DAGSTER_HOME), so what they write to their working directory
    stays under the home, with this repository first on PYTHONPATH for the code location."""
    if ctx.invoked_subcommand is not None:
        return
    with errors():
        env = {**os.environ, **dagster_env(get_settings())}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
    bindir = Path(sys.executable).parent
    daemon, webserver = dagster_commands(bindir, host, port)
    cwd = env["DAGSTER_HOME"]
    # The pool limit lives in the instance; set it on every start so a fresh home gets it too.
    dagster_exe = shutil.which("dagster", path=str(bindir)) or "dagster"
    subprocess.run(
        [dagster_exe, "instance", "concurrency", "set", "gpu", "1"],
        env=env,
        cwd=cwd,
        check=False,
        capture_output=True,
    )
    # A SIGTERM ends the command like Ctrl-C: both children are stopped, none is left behind.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    background = subprocess.Popen(daemon, env=env, cwd=cwd)
    try:
        code = subprocess.run(webserver, env=env, cwd=cwd, check=False).returncode
    except KeyboardInterrupt:
        code = 0
    finally:
        background.terminate()
        try:
            background.wait(timeout=20)
        except subprocess.TimeoutExpired:
            background.kill()
    raise typer.Exit(code)


@dagster_app.command("worker")
def dagster_worker(
    queue: Annotated[
        list[str] | None,
        typer.Option(
            "--queue",
            "-q",
            help="Queue to take steps from, repeatable (default: the default queue; gpu on GPU machines)",
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Worker name on this host (default: a unique one)")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="Steps run at once (default: one per CPU)", min=1, max=256)
    ] = None,
) -> None:
    """Start a Celery worker that runs Dagster steps (TRADEFORGE_DAGSTER_EXECUTOR=celery) from the
    broker's queues, against this home's instance and stores; Ctrl-C or a SIGTERM stops it after its
    running steps."""
    with errors():
        launch = worker_launch(
            get_settings(),
            queues=queue or (),
            name=name,
            concurrency=concurrency,
            bindir=Path(sys.executable).parent,
            environ=os.environ,
        )
    os.chdir(launch.cwd)
    os.execve(launch.args[0], launch.args, launch.env)


# MLflow's server imports starlette.middleware.wsgi, which warns in every worker process; the
# warning is about MLflow's own code, so it is dropped by its exact message and nothing else.
MLFLOW_WARNING_FILTER = "ignore:starlette.middleware.wsgi is deprecated"


def mlflow_server_command(
    exe: str, uri: str, artifacts: Path, host: str, port: int, environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The ``mlflow server`` command line and environment: one worker (a local UI needs no more,
    and MLflow's default of four prints every start-up message four times)."""
    args = [exe, "server", "--backend-store-uri", uri, "--default-artifact-root", artifacts.as_uri()]
    args += ["--host", host, "--port", str(port), "--workers", "1"]
    warnings = ",".join(w for w in (environ.get("PYTHONWARNINGS"), MLFLOW_WARNING_FILTER) if w)
    return args, {**environ, "MLFLOW_TRACKING_URI": uri, "PYTHONWARNINGS": warnings}


@app.command("mlflow")
def mlflow_ui(
    port: Annotated[int, typer.Option(help="MLflow UI port")] = 5000,
    host: Annotated[str, typer.Option(help="MLflow UI host")] = "127.0.0.1",
) -> None:
    """Open the MLflow tracking server and UI on this home's store."""
    settings = get_settings()
    uri = settings.resolved_mlflow_uri()
    artifacts = (settings.home / "mlflow" / "artifacts").resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    args, env = mlflow_server_command(exe, uri, artifacts, host, port, os.environ)
    os.execve(exe, args, env)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes", min=1, max=64)] = 1,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Serve the REST API (Litestar on uvicorn): docs at /docs, metrics at /metrics."""
    # Imported on use, for the CLI's start-up time: uvicorn.
    import uvicorn

    settings = get_settings()  # fail here, not in a worker, on a bad environment
    proxies = settings.serving.trusted_proxies
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "log_level": log_level,
        "log_config": uvicorn_log_config(),  # query credentials masked in every log line
        "access_log": False,  # the app logs requests itself (request log table, Prometheus)
        # X-Forwarded-For/-Proto are believed only from TRADEFORGE_TRUSTED_PROXIES (none by default):
        # otherwise any caller could choose the address its per-address limits are counted under.
        "proxy_headers": bool(proxies),
        "forwarded_allow_ips": ",".join(proxies) if proxies else "",
        # uvicorn's sans-I/O protocol plus a frame sink per connection, so the live fan-out writes one
        # framed message to every subscriber in one loop (serving/wsprotocol.py).
        "ws": "serving.wsprotocol:FanOutWebSocketProtocol",
    }
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run("serving.app:create_app_from_env", app_dir=str(REPO_ROOT), **options)
        return
    # Each worker on a socket of its own: the kernel spreads connections over them (serve_workers).
    from uvicorn.config import STARTUP_FAILURE

    from pipelines.cli.serve_workers import WorkerProcesses, reuse_port_sockets

    sys.path.insert(0, str(REPO_ROOT))  # what uvicorn's app_dir does; spawned workers inherit it
    config = uvicorn.Config("serving.app:create_app_from_env", **options)
    try:
        sockets = reuse_port_sockets(host, port, workers, config.backlog)
    except OSError as exc:  # as uvicorn says it, and its exit status
        reason = exc.strerror or str(exc)
        typer.echo(f"error while attempting to bind on address ({host!r}, {port}): {reason}", err=True)
        raise typer.Exit(1) from None
    manager = WorkerProcesses(config, sockets)
    manager.run()
    if manager.failed:
        raise typer.Exit(STARTUP_FAILURE)  # as uvicorn exits when its one worker cannot start
