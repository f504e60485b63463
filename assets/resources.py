"""Dagster resources: the Tradeforge settings, passed in to every asset (never read globally)."""

import dagster as dg

from pipelines.settings import Settings


def settings_resource(settings: Settings) -> dg.ResourceDefinition:
    """The very Settings the definitions were built from (home, universe, sources)."""
    return dg.ResourceDefinition.hardcoded_resource(settings, "Tradeforge settings: home, universe, sources")
