"""The registered models as users see them: champion, latest version, metrics, device; and the model
catalogue rows of the ``/api/models`` routes (size, steps ahead, performance)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.registry_read import registered_models
from pipelines.models.tracking import RegisteredVersion, Tracker
from pipelines.settings import Settings

__all__ = [
    "CATEGORIES",
    "CATEGORY_SPELLINGS",
    "PERFORMANCE_METRICS",
    "STATUSES",
    "ModelSummary",
    "catalogue_model",
    "catalogue_row",
    "category_of",
    "home_models",
    "list_models",
    "model_catalogue",
    "model_status",
    "query_models",
    "steps_ahead",
]


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
    training_seconds: float | None = None  # the shown version's whole training run
    training_samples: int | None = None  # its training rows (None: trained before they were logged)
    # Of the version shown (the champion, else the latest): its run's parameters, its model
    # folder's artifact source and when it was registered.
    params: dict[str, str] = field(default_factory=dict)
    source: str = ""
    shown_ms: int = 0

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
    samples = shown.metrics.get("training_samples")
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
        training_seconds=shown.metrics.get("training_seconds"),
        training_samples=None if samples is None else int(samples),
        params=dict(shown.params),
        source=shown.source,
        shown_ms=shown.created_ms,
    )


def list_models(tracker: Tracker) -> list[ModelSummary]:
    return [_summary(name, versions) for name, versions in tracker.list_models() if versions]


def home_models(settings: Settings) -> list[ModelSummary]:
    """:func:`list_models` of the home's registry, read without MLflow from a local SQLite store."""
    return [_summary(name, versions) for name, versions in registered_models(settings) if versions]


# The model list (``GET /api/v1/models?category=...``) groups models by category.
CATEGORIES = {
    "simple": "machine_learning",
    "random_forest": "machine_learning",
    "lightgbm": "machine_learning",
    "xgboost": "machine_learning",
    "lstm": "deep_learning",
    "multi_ohlc": "deep_learning",
    "ensemble": "ensemble",
}
STATUSES = ("active", "training", "deprecated")
_CATEGORY_ALIASES = {"ml": "machine_learning", "dl": "deep_learning"}
CATEGORY_SPELLINGS: tuple[str, ...] = (*dict.fromkeys(CATEGORIES.values()), *_CATEGORY_ALIASES)
"""Every category filter ``query_models`` accepts: the categories, then their aliases."""


def category_of(kind: str) -> str:
    return CATEGORIES.get(kind, "machine_learning")


def model_status(summary: ModelSummary, training: frozenset[str] = frozenset()) -> str:
    """``training`` while a run for the name is in progress; ``active`` with a champion to serve;
    ``deprecated`` when no version holds the champion alias any more."""
    if summary.name in training:
        return "training"
    return "active" if summary.champion_version is not None else "deprecated"


def query_models(
    summaries: list[ModelSummary],
    *,
    category: str | None = None,
    status: str | None = None,
    page: int = 1,
    limit: int = 20,
    training: frozenset[str] = frozenset(),
) -> tuple[list[tuple[ModelSummary, str]], dict[str, int]]:
    """Filter (by category, status) and paginate; returns ((summary, status) rows, pagination)."""
    if page < 1:
        raise InvalidRequestError(f"page must be >= 1, got {page}")
    if not 1 <= limit <= 500:
        raise InvalidRequestError(f"limit must be between 1 and 500, got {limit}")
    wanted_category = _CATEGORY_ALIASES.get(category, category) if category else None
    known = set(CATEGORIES.values())
    if wanted_category is not None and wanted_category not in known:
        choices = ", ".join(sorted(known | set(_CATEGORY_ALIASES)))
        raise InvalidRequestError(f"unknown category {category!r}; expected one of {choices}")
    if status is not None and status not in STATUSES:
        raise InvalidRequestError(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}")
    rows = [(s, model_status(s, training)) for s in sorted(summaries, key=lambda s: s.name)]
    rows = [
        (s, st)
        for s, st in rows
        if (wanted_category is None or category_of(s.kind) == wanted_category)
        and (status is None or st == status)
    ]
    total = len(rows)
    total_pages = max(1, -(-total // limit))
    chunk = rows[(page - 1) * limit : page * limit]
    return chunk, {"page": page, "limit": limit, "total_pages": total_pages, "total_items": total}


# -- the model catalogue (``GET /api/models/``): one row per registered model ------------------------
PERFORMANCE_METRICS = ("train_r2", "val_r2", "train_mae", "val_mae", "train_rmse", "val_rmse")


def steps_ahead(summary: ModelSummary) -> int:
    """Bars ahead the model forecasts: a multi_ohlc model's ``n_steps``, else its ``horizon``."""
    value = summary.params.get("n_steps") if summary.kind == "multi_ohlc" else None
    try:
        return int(value or summary.params.get("horizon") or 1)
    except ValueError:
        return 1


def catalogue_row(summary: ModelSummary, tracker: Tracker) -> dict[str, Any]:
    """``name``, ``type``, ``symbol`` (pairs as ``BTC_USDT``), ``timeframe``, ``n_steps_ahead``,
    ``model_size_kb`` (the shown version's model folder; null when its artifacts cannot be listed),
    ``trained_at`` and ``performance`` (train/val R², MAE, RMSE; null when not logged)."""
    try:
        size_kb: float | None = round(tracker.artifact_bytes(summary.source) / 1024, 2)
    except Exception:  # an artifact store that is gone or unreachable: the row still lists the model
        size_kb = None
    performance = {}
    for name in PERFORMANCE_METRICS:
        value = summary.metrics.get(name)
        performance[name] = None if value is None or not math.isfinite(value) else float(value)
    trained = datetime.fromtimestamp(summary.shown_ms / 1000, tz=UTC)
    return {
        "name": summary.name,
        "type": summary.kind,
        "symbol": summary.symbol.replace("/", "_"),
        "timeframe": summary.timeframe,
        "n_steps_ahead": steps_ahead(summary),
        "model_size_kb": size_kb,
        "trained_at": trained.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "performance": performance,
    }


def model_catalogue(summaries: list[ModelSummary], tracker: Tracker) -> list[dict[str, Any]]:
    """Every registered model's catalogue row, by name."""
    return [catalogue_row(s, tracker) for s in sorted(summaries, key=lambda s: s.name)]


def catalogue_model(
    listing: Callable[[bool], list[ModelSummary]], tracker: Tracker, name: str
) -> dict[str, Any]:
    """The catalogue row of model ``name``; ``listing(refresh)`` lists the models (a cached listing is
    re-read once before the name is declared unknown: a DataNotFoundError naming the registered ones)."""
    found: list[ModelSummary] = []
    for refresh in (False, True):
        found = listing(refresh)
        for summary in found:
            if summary.name == name:
                return catalogue_row(summary, tracker)
    registered = ", ".join(sorted(s.name for s in found)) or "none"
    raise DataNotFoundError(f"no registered model named {name!r}; registered models: {registered}")
