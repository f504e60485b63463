"""Where the repository's own files are, and the environment the Dagster instance needs."""

from __future__ import annotations

from pathlib import Path

from pipelines.security.files import private_dir
from pipelines.settings import Settings

__all__ = ["REPO_ROOT", "dagster_env"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def dagster_env(settings: Settings) -> dict[str, str]:
    """Variables for the Dagster instance: ``DAGSTER_HOME`` is the private storage folder under the
    home (0700: it holds Dagster's SQLite databases of runs, events and schedules, and the UI's
    ``.nux/``), holding a copy of the repository's ``dagster.yaml``, refreshed on every call."""
    storage = private_dir(settings.dagster_dir.resolve())
    config = (REPO_ROOT / "dagster.yaml").read_text()
    instance_yaml = storage / "dagster.yaml"
    if not instance_yaml.exists() or instance_yaml.read_text() != config:
        instance_yaml.write_text(config)
    return {
        "DAGSTER_HOME": str(storage),
        "TRADEFORGE_HOME": str(settings.home.resolve()),
        "TRADEFORGE_DAGSTER_STORAGE": str(storage),
        "TRADEFORGE_DAGSTER_LOGS": str(storage / "logs"),
    }
