"""Where the repository's own files are, and the environment the Dagster instance needs."""

from __future__ import annotations

from pathlib import Path

from pipelines.security.files import private_dir
from pipelines.settings import Settings

__all__ = ["REPO_ROOT", "dagster_env"]

REPO_ROOT = Path(__file__).resolve().parents[1]


def dagster_env(settings: Settings) -> dict[str, str]:
    """Variables for ``dagster.yaml``: instance config from the repo, storage under the home (0700:
    it holds Dagster's SQLite databases of runs, events and schedules)."""
    storage = private_dir(settings.dagster_dir.resolve())
    return {
        "DAGSTER_HOME": str(REPO_ROOT),
        "TRADEFORGE_HOME": str(settings.home.resolve()),
        "TRADEFORGE_DAGSTER_STORAGE": str(storage),
        "TRADEFORGE_DAGSTER_LOGS": str(storage / "logs"),
    }
