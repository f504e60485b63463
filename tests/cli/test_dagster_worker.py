"""Dagster beyond one machine, without the services: the PostgreSQL instance file and its URL, the
Celery executor's configuration and the ``tradeforge dagster worker`` command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipelines.app.dagster_workers import BACKEND_ENV, BROKER_ENV, celery_executor_config, worker_launch
from pipelines.cli import app
from pipelines.errors import InvalidRequestError
from pipelines.runtime import INSTANCE_FILES, REPO_ROOT, dagster_env
from pipelines.settings import Settings, get_settings

runner = CliRunner()
PG = "postgresql://dagster:hunter2@db.internal:5432/dagster"


def test_the_repository_instance_stays_the_single_machine_default() -> None:
    local = yaml.safe_load((REPO_ROOT / "dagster.yaml").read_text())
    assert set(local["storage"]) == {"sqlite"}
    shared = yaml.safe_load((REPO_ROOT / INSTANCE_FILES["postgres"]).read_text())
    assert shared["storage"] == {"postgres": {"postgres_url": {"env": "TRADEFORGE_DAGSTER_PG_URL"}}}
    assert shared["concurrency"] == local["concurrency"]


def test_the_postgres_instance_is_copied_and_its_url_travels_as_a_variable(settings: Settings) -> None:
    shared = settings.model_copy(update={"dagster_instance": "postgres", "dagster_pg_url": PG})
    env = dagster_env(shared)
    copied = (Path(env["DAGSTER_HOME"]) / "dagster.yaml").read_text()
    assert copied == (REPO_ROOT / INSTANCE_FILES["postgres"]).read_text()
    assert "hunter2" not in copied
    # dagster-postgres is written for psycopg2; a bare postgresql:// would be psycopg 3 under SQLAlchemy 2.1.
    assert (
        env["TRADEFORGE_DAGSTER_PG_URL"] == "postgresql+psycopg2://dagster:hunter2@db.internal:5432/dagster"
    )
    local = dagster_env(settings)  # back to the default: the file is refreshed, no URL exported
    assert (Path(local["DAGSTER_HOME"]) / "dagster.yaml").read_text() == (
        REPO_ROOT / "dagster.yaml"
    ).read_text()
    assert "TRADEFORGE_DAGSTER_PG_URL" not in local
    with pytest.raises(InvalidRequestError, match="TRADEFORGE_DAGSTER_PG_URL"):
        dagster_env(settings.model_copy(update={"dagster_instance": "postgres"}))


def test_the_executor_reads_the_broker_from_its_variable_when_it_came_from_there(settings: Settings) -> None:
    group = settings.dagster
    from_env = celery_executor_config(
        settings, {BROKER_ENV: group.dagster_celery_broker_url, BACKEND_ENV: "redis://elsewhere"}
    )
    assert from_env["broker"] == {"env": BROKER_ENV}
    assert from_env["backend"] == group.dagster_celery_backend_url == "rpc://"
    assert from_env["config_source"] == {"task_default_queue": "dagster"}


def test_a_worker_takes_the_queues_asked_for_in_the_instance_folder(settings: Settings) -> None:
    launch = worker_launch(settings, bindir=Path("/nowhere"), environ={"PYTHONPATH": "/extra"})
    args = launch.args
    assert args[1:4] == ["-A", "assets.celery_worker", "worker"]
    assert args[args.index("-Q") + 1] == "dagster" and launch.queues == ["dagster"]
    assert args[args.index("-n") + 1].startswith("tradeforge-") and "--prefetch-multiplier=1" in args
    assert "--concurrency" not in args
    assert launch.cwd == Path(launch.env["DAGSTER_HOME"]) == settings.dagster_dir.resolve()
    assert launch.env["PYTHONPATH"].split(":") == [str(REPO_ROOT), "/extra"]
    gpu = worker_launch(
        settings,
        queues=["gpu", "dagster", "gpu"],
        name="cuda0",
        concurrency=1,
        bindir=Path("/nowhere"),
        environ={},
    )
    assert gpu.args[gpu.args.index("-Q") + 1] == "gpu,dagster"
    assert gpu.args[gpu.args.index("-n") + 1] == "cuda0@%h"
    assert gpu.args[gpu.args.index("--concurrency") + 1] == "1"
    with pytest.raises(InvalidRequestError, match="unknown queue 'gpus'"):
        worker_launch(settings, queues=["gpus"], bindir=Path("/nowhere"), environ={})


def test_the_worker_command_refuses_bad_input_with_status_2(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["dagster", "worker", "--queue", "gpus"])
    assert result.exit_code == 2, result.output
    assert "unknown queue 'gpus'" in result.output and "gpu (TRADEFORGE_DAGSTER_GPU_QUEUE)" in result.output
    monkeypatch.setenv("TRADEFORGE_DAGSTER_INSTANCE", "postgres")
    get_settings.cache_clear()
    result = runner.invoke(app, ["dagster", "worker"])
    assert result.exit_code == 2 and "needs TRADEFORGE_DAGSTER_PG_URL" in result.output
    assert not (env_home / "dagster").exists()


def test_the_config_view_hides_the_instance_and_broker_passwords(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRADEFORGE_DAGSTER_PG_URL", PG)
    monkeypatch.setenv("TRADEFORGE_DAGSTER_CELERY_BROKER_URL", "amqp://tf:hunter2@mq:5672//")
    get_settings.cache_clear()
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0 and "hunter2" not in result.stdout
    fields = json.loads(result.stdout)["dagster"]["fields"]
    assert fields["dagster_pg_url"]["value"] == "postgresql://dagster:***@db.internal:5432/dagster"
    assert fields["dagster_executor"] == {
        "value": "default",
        "env": "TRADEFORGE_DAGSTER_EXECUTOR",
        "description": fields["dagster_executor"]["description"],
    }


def test_the_run_config_dagster_shows_carries_no_instance_or_broker_url(settings: Settings) -> None:
    from assets.resources import TradeforgeResource

    shared = settings.model_copy(
        update={"dagster_pg_url": PG, "dagster_celery_broker_url": "amqp://tf:hunter2@mq:5672//"}
    )
    resource = TradeforgeResource.of(shared)
    assert "hunter2" not in resource.settings_json
    assert resource.settings.dagster.dagster_pg_url is None
