"""A training request, validated completely before anything is fetched, trained or registered."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from pipelines.data.limits import request_span
from pipelines.data.providers import normalize_source
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.features import get_feature_set
from pipelines.models.base import ModelKind
from pipelines.models.champion import SELECTION_METRICS
from pipelines.models.params import validate_params
from pipelines.settings import Settings

__all__ = ["MODEL_NAME_PATTERN", "TrainRequest", "plan_training"]

MODEL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"  # matched whole (fullmatch): no trailing newline
_NAME_RE = re.compile(MODEL_NAME_PATTERN)


@dataclass(frozen=True)
class TrainRequest:
    kind: ModelKind
    model_name: str
    symbol: str
    timeframe: str
    source: str
    start: pd.Timestamp
    end: pd.Timestamp
    params: dict[str, Any]
    validation_split: float = 0.2
    horizon: int = 1
    feature_set: str = "default"
    device: str = "auto"
    selection_metric: str = "val_ic"
    force: bool = False  # promote to champion whatever the comparison says


def _parse_kind(model_type: str) -> ModelKind:
    try:
        return ModelKind(model_type)
    except ValueError:
        raise InvalidRequestError(
            f"unknown model_type {model_type!r}; expected one of {', '.join(k.value for k in ModelKind)}"
        ) from None


def _check_name(model_name: str) -> None:
    if not _NAME_RE.fullmatch(model_name or ""):
        raise InvalidRequestError(
            f"model_name {model_name!r} must be 1-100 characters of letters, digits, '_', '-' or '.'"
        )


def _check_shape(validation_split: float, horizon: int, feature_set: str, selection_metric: str) -> None:
    """The request's split, horizon, feature set and selection metric, or InvalidRequestError."""
    if not 0.0 < validation_split < 0.9:
        raise InvalidRequestError(f"validation_split must be between 0 and 0.9, got {validation_split}")
    if not 1 <= horizon <= 100:
        raise InvalidRequestError(f"horizon must be between 1 and 100 bars, got {horizon}")
    get_feature_set(feature_set)
    if selection_metric not in SELECTION_METRICS:
        raise InvalidRequestError(f"selection_metric must be one of {', '.join(SELECTION_METRICS)}")


def plan_training(
    settings: Settings,
    *,
    model_type: str,
    model_name: str,
    symbol: str,
    timeframe: str = "1d",
    source: str = "synthetic",
    start: Any = None,
    end: Any = None,
    params: dict[str, Any] | None = None,
    validation_split: float = 0.2,
    horizon: int = 1,
    feature_set: str = "default",
    gpu_enabled: bool | None = None,
    selection_metric: str = "val_ic",
    force: bool = False,
) -> TrainRequest:
    """Validate a training request completely before anything is fetched, trained or registered."""
    kind = _parse_kind(model_type)
    _check_name(model_name)
    sym = parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    src = normalize_source(source)
    checked = validate_params(kind, params or {})
    _check_shape(validation_split, horizon, feature_set, selection_metric)
    if not isinstance(force, bool):
        raise InvalidRequestError(f"force must be true or false, got {force!r}")
    start_ts, end_ts = request_span(
        settings,
        start,
        end,
        default_start=settings.data.history_start,
        timeframe=tf,
        crypto=sym.is_crypto,
        bounded=src != "file",
    )
    device = "auto" if gpu_enabled is None else ("cuda" if gpu_enabled else "cpu")
    return TrainRequest(
        kind,
        model_name,
        sym.name,
        tf.name,
        src,
        start_ts,
        end_ts,
        checked,
        validation_split,
        horizon,
        feature_set,
        device,
        selection_metric,
        force,
    )
