"""Dagster resources: the Tradeforge settings and the MLflow tracker, typed and injected by type.

``TradeforgeResource`` carries the very Settings the definitions were built from (home, universe,
sources) as its config, so every asset reads them from its run, never from the environment.
Secrets are left out of that config (Dagster shows a resource's config in its UI and run storage),
and no asset needs them. ``TrackerResource`` opens the MLflow tracker of that home when a run asks
for it (MLflow imports are slow).
"""

from __future__ import annotations

import json
import os
from typing import Any

import dagster as dg

from pipelines.db import Database, open_database
from pipelines.features.store import FeatureTable, read_feature_table
from pipelines.models.tracking import MlflowTracker, open_tracker
from pipelines.settings import Settings

__all__ = ["SECRET_FIELDS", "TrackerResource", "TradeforgeResource"]

# Settings fields never written into a resource's config, at whatever depth they are nested.
SECRET_FIELDS = frozenset(
    {
        "secret_key",
        "encryption_key",
        "database_url",
        "redis_url",
        "metrics_token",
        "dagster_pg_url",
        "dagster_celery_broker_url",
        "dagster_celery_backend_url",
    }
)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    if isinstance(value, list):
        return [_without_secrets(v) for v in value]
    return value


class TradeforgeResource(dg.ConfigurableResource):  # type: ignore[type-arg]  # it vends itself
    """The Tradeforge settings of a run (home, universe, sources) and the stores under its home."""

    settings_json: str

    @classmethod
    def of(cls, settings: Settings) -> TradeforgeResource:
        document = _without_secrets(json.loads(settings.model_dump_json()))
        return cls(settings_json=json.dumps(document, sort_keys=True))

    @property
    def settings(self) -> Settings:
        return Settings.model_validate_json(self.settings_json)

    def database(self) -> Database:
        """The app database: its URL (a secret, left out of the config) from the run's environment
        (``TRADEFORGE_DATABASE_URL``), else SQLite in the home."""
        url = os.environ.get("TRADEFORGE_DATABASE_URL")
        settings = self.settings if not url else self.settings.model_copy(update={"database_url": url})
        return open_database(settings)

    def feature_table(self, *, source: str, symbol: str, timeframe: str) -> FeatureTable:
        """The materialized feature table of one series (``DataNotFoundError`` names the asset)."""
        return read_feature_table(self.settings, source=source, symbol=symbol, timeframe=timeframe)


class TrackerResource(dg.ConfigurableResource):  # type: ignore[type-arg]  # it vends itself
    """The MLflow tracking store and model registry of the run's home."""

    tradeforge: TradeforgeResource

    def open(self) -> MlflowTracker:
        return open_tracker(self.tradeforge.settings)
