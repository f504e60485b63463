"""``tradeforge config``: every settings group with its fields, variables and meanings; secrets masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.settings import field_groups, get_settings

runner = CliRunner()
SECRET = "s3cret-signing-key-value"


@pytest.fixture
def configured(env_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRADEFORGE_SECRET_KEY", SECRET)
    monkeypatch.setenv("TRADEFORGE_REDIS_URL", "redis://worker:hunter2@localhost:6379/0")
    monkeypatch.setenv("TRADEFORGE_LIVE_SPEED", "60")
    monkeypatch.setenv("TRADEFORGE_TRUSTED_PROXIES", "10.0.0.1, 10.0.0.2")
    get_settings.cache_clear()
    return env_home


def test_json_shows_every_group_and_field(configured: Path) -> None:
    result = runner.invoke(app, ["config", "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert list(view) == [
        "general",
        "data",
        "storage",
        "serving",
        "auth",
        "limits",
        "live",
        "uploads",
        "jobs",
        "learning",
        "forecast",
        "exchanges",
        "inference",
        "paper",
        "dagster",
    ]
    shown = {name: group for group, body in view.items() if group != "general" for name in body["fields"]}
    assert shown == field_groups()
    for group, body in view.items():
        assert body["description"], group
        for name, field in body["fields"].items():
            assert field["description"], f"{group}.{name}"
    live = view["live"]["fields"]["live_speed"]
    assert live == {
        "value": 60.0,
        "env": "TRADEFORGE_LIVE_SPEED",
        "description": live["description"],
    }
    assert view["serving"]["fields"]["trusted_proxies"]["value"] == ["10.0.0.1", "10.0.0.2"]
    assert view["general"]["fields"]["home"]["value"] == str(configured)
    assert view["general"]["fields"]["mlflow_tracking_uri"]["env"] == "MLFLOW_TRACKING_URI"


def test_secrets_and_url_passwords_are_masked(configured: Path) -> None:
    for args in (["config", "--json"], ["config"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert SECRET not in result.stdout
        assert "hunter2" not in result.stdout
    view = json.loads(runner.invoke(app, ["config", "--json"]).stdout)
    assert view["general"]["fields"]["secret_key"]["value"] == "***"
    assert view["general"]["fields"]["redis_url"]["value"] == "redis://worker:***@localhost:6379/0"
    assert view["general"]["fields"]["encryption_key"]["value"] is None


def test_text_output_heads_each_group(configured: Path) -> None:
    result = runner.invoke(app, ["config"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for group in ("general", "data", "serving", "auth", "limits", "live", "uploads", "jobs"):
        assert f"{group}: " in result.stdout
    assert "TRADEFORGE_MAX_BARS_PER_REQUEST" in result.stdout
