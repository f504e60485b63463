"""Dagster resources: the Tradeforge settings, passed in to every asset (never read globally)."""

import dagster as dg

from pipelines.models.tracking import open_tracker
from pipelines.settings import Settings


def settings_resource(settings: Settings) -> dg.ResourceDefinition:
    """The very Settings the definitions were built from (home, universe, sources)."""
    return dg.ResourceDefinition.hardcoded_resource(settings, "Tradeforge settings: home, universe, sources")


def tracker_resource(settings: Settings) -> dg.ResourceDefinition:
    """The MLflow tracker of this home, opened when a run needs it (MLflow imports are slow)."""
    return dg.ResourceDefinition(
        resource_fn=lambda _context: open_tracker(settings), description="MLflow tracking and registry"
    )
