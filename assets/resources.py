"""Dagster resources: the Tradeforge settings, passed to every asset."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines.settings import Settings, get_settings


class TradeforgeResource(dg.ConfigurableResource):  # type: ignore[misc]
    """Settings from the environment; ``home`` overrides TRADEFORGE_HOME (tests, ad-hoc runs)."""

    home: str | None = None

    def settings(self) -> Settings:
        base = get_settings()
        return base.model_copy(update={"home": Path(self.home)}) if self.home else base
