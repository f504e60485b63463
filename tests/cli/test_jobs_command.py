"""``tradeforge jobs worker``: refuses to start without the job broker or with bad options (exit 2),
before it opens anything."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import get_settings

runner = CliRunner()


def test_the_worker_needs_the_broker_and_checks_its_options(
    env_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runner.invoke(app, ["jobs", "worker"])
    assert result.exit_code == 2 and "TRADEFORGE_JOB_BROKER_URL is not set" in result.output
    monkeypatch.setenv("TRADEFORGE_JOB_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
    get_settings.cache_clear()
    for args, message in ((["--concurrency", "0"], "--concurrency"), (["-Q", "a,bad queue"], "bad queue")):
        result = runner.invoke(app, ["jobs", "worker", *args])
        assert result.exit_code == 2 and message in result.output, result.output
    assert not env_home.exists()  # refused before anything was opened
