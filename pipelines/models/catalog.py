"""The registered models as users see them: champion, latest version, metrics, device."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.models.tracking import RegisteredVersion, Tracker

__all__ = ["ModelSummary", "list_models"]


@dataclass
class ModelSummary:
    name: str
    kind: str
    symbol: str
    timeframe: str
    device: str
    versions: int
    latest_version: str
    champion_version: str | None
    metrics: dict[str, float] = field(default_factory=dict)  # the champion's (else the latest's)
    last_trained: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.name,
            "model_type": self.kind,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "device": self.device,
            "versions": self.versions,
            "latest_version": self.latest_version,
            "champion_version": self.champion_version,
            "metrics": self.metrics,
            "last_trained": self.last_trained,
        }


def _summary(name: str, versions: list[RegisteredVersion]) -> ModelSummary:
    latest = versions[-1]
    champion = next((v for v in versions if "champion" in v.aliases), None)
    shown = champion or latest
    return ModelSummary(
        name=name,
        kind=shown.tags.get("tradeforge.kind", ""),
        symbol=shown.tags.get("tradeforge.symbol", ""),
        timeframe=shown.tags.get("tradeforge.timeframe", ""),
        device=shown.tags.get("tradeforge.device", ""),
        versions=len(versions),
        latest_version=latest.version,
        champion_version=champion.version if champion else None,
        metrics={k: v for k, v in sorted(shown.metrics.items()) if k.startswith(("val_", "train_"))},
        last_trained=datetime.fromtimestamp(latest.created_ms / 1000, tz=UTC).isoformat(),
    )


def list_models(tracker: Tracker) -> list[ModelSummary]:
    return [_summary(name, versions) for name, versions in tracker.list_models() if versions]
