"""Which folder is the Tradeforge home, and how it was found.

``TRADEFORGE_HOME`` when set; else the nearest ``.tradeforge/`` folder in the working directory or
one of its parents (a project's home is found from any of its subfolders, as git finds ``.git``);
else the per-user data folder (``~/.local/share/tradeforge`` on Linux, from ``platformdirs``).
Finding a home creates nothing: a command that only reads says which home it read when it holds
nothing, and only commands that store something create it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_data_path

__all__ = ["HOME_DIR_NAME", "HOME_ENV", "HomeChoice", "HomePaths", "describe_home", "find_home"]

HOME_ENV = "TRADEFORGE_HOME"
HOME_DIR_NAME = ".tradeforge"


@dataclass(frozen=True)
class HomeChoice:
    """A home folder and, in words, why it is the one in use."""

    path: Path
    reason: str


def find_home(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> HomeChoice:
    """The home a process in ``cwd`` (default: the working directory) uses, and why."""
    env = os.environ if environ is None else environ
    if env.get(HOME_ENV):
        return HomeChoice(Path(env[HOME_ENV]).expanduser(), f"from {HOME_ENV}")
    here = (cwd or Path.cwd()).absolute()
    for folder in (here, *here.parents):
        candidate = folder / HOME_DIR_NAME
        if candidate.is_dir():
            where = "the working directory" if folder == here else f"{folder}, above the working directory"
            return HomeChoice(candidate, f"{HOME_ENV} unset; the {HOME_DIR_NAME}/ folder in {where}")
    return HomeChoice(
        user_data_path("tradeforge", appauthor=False),
        f"{HOME_ENV} unset and no {HOME_DIR_NAME}/ folder in {here} or above it; the per-user data folder",
    )


def describe_home(home: Path, cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> str:
    """Why ``home`` is in use: the reason :func:`find_home` gives when it finds this very folder,
    else that it was set explicitly (a keyword to ``Settings``, a test)."""
    found = find_home(cwd, environ)
    if found.path.absolute() == home.absolute():
        return found.reason
    return "set explicitly, not from the environment"


class HomePaths:
    """The folders and files of the home, as properties of the settings that name it."""

    home: Path

    @property
    def home_origin(self) -> str:
        """How the home was found, in words (``tradeforge config``, notes on an empty home)."""
        return describe_home(self.home)

    @property
    def market_dir(self) -> Path:
        return self.home / "market"

    @property
    def features_dir(self) -> Path:
        return self.home / "features"

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def dagster_dir(self) -> Path:
        return self.home / "dagster"

    @property
    def models_cache_dir(self) -> Path:
        """Registered model folders downloaded for prediction."""
        return self.home / "models"

    @property
    def locks_dir(self) -> Path:
        return self.home / "locks"

    @property
    def secrets_dir(self) -> Path:
        """Generated dev keys (0700, files 0600), outside what ``tradeforge query`` may read."""
        return self.home / "secrets"

    @property
    def secret_key_path(self) -> Path:
        """Where a generated dev JWT key lives when ``TRADEFORGE_SECRET_KEY`` is unset."""
        return self.secrets_dir / "secret_key"

    @property
    def encryption_key_path(self) -> Path:
        """Where a generated dev encryption key lives when ``TRADEFORGE_ENCRYPTION_KEY`` is unset."""
        return self.secrets_dir / "encryption_key"

    @property
    def datasets_dir(self) -> Path:
        """Uploaded datasets, one folder per dataset id."""
        return self.home / "datasets"

    @property
    def metrics_dir(self) -> Path:
        """Saved monitoring snapshots (``POST /api/v1/monitoring/save``)."""
        return self.home / "metrics"

    @property
    def results_dir(self) -> Path:
        """Full equity curves and trade lists of cut answers, one folder per job id."""
        return self.home / "results"
