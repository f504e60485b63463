"""Train, evaluate, register and promote one model (used by the CLI, Dagster and the API).

A run reads its bars and features from one snapshot, a
:class:`pipelines.features.store.FeatureTable`, and records the snapshot's data version on the
MLflow run. The caller hands the snapshot in and nothing here fetches: the Dagster asset passes the
table the ``features`` asset materialized; the CLI and the API go through the training use case
(:func:`pipelines.app.train.train_model`), which reads the stored bars of the request's window after
fetching what the store lacks (:func:`pipelines.app.ingest.ensure_bars_table`).

The champion alias moves to a new version only when it beats the champion on the later of their
two validation windows (:mod:`pipelines.models.champion`), or when the request forces it; the
decision, both scores and the window are logged on the run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.data.version import DataVersion
from pipelines.features import FeatureSet, get_feature_set
from pipelines.features.store import FeatureTable, stored_bars_table
from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.champion import SELECTION_METRICS, ChampionDecision, Contender, Contest, decide_champion
from pipelines.models.device import DeviceChoice, resolve_device
from pipelines.models.evaluation import prefixed, regression_metrics
from pipelines.models.kinds import BaseRegressor, MemberLoader, create_model
from pipelines.models.mlflow_model import ServingMeta, save_pyfunc
from pipelines.models.plots import feature_importance_figure
from pipelines.models.registry import ModelRegistry
from pipelines.models.tracking import RunHandle, Tracker
from pipelines.models.train_request import MODEL_NAME_PATTERN, TrainRequest, plan_training
from pipelines.models.training_matrix import PreparedData, build_training_data
from pipelines.settings import Settings

__all__ = ["MODEL_NAME_PATTERN", "SELECTION_METRICS", "TrainRequest", "TrainResult", "plan_training", "train"]


@dataclass
class TrainResult:
    model_name: str
    version: str
    run_id: str
    kind: str
    metrics: dict[str, float]
    champion: bool
    decision: str
    device: str
    seconds: float
    data_range: dict[str, str]
    feature_names: list[str] = field(default_factory=list)
    data_version: DataVersion | None = None  # the feature table read (on the run, not in as_dict)
    comparison: dict[str, Any] | None = None  # the champion comparison (None for a first version)

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "version": self.version,
            "run_id": self.run_id,
            "model_type": self.kind,
            "metrics": self.metrics,
            "champion": self.champion,
            "decision": self.decision,
            "device": self.device,
            "seconds": round(self.seconds, 3),
            "data_range": self.data_range,
            "features_used": len(self.feature_names),
            "comparison": self.comparison,
        }


Progress = Callable[[float, str], None]


def _silent(_pct: float, _text: str) -> None:
    return None


@dataclass(frozen=True)
class _Fitted:
    """A fitted model with what its run logs: device choice, metrics and the train predictions."""

    model: BaseRegressor
    choice: DeviceChoice
    metrics: dict[str, float]
    train_pred: FloatMatrix
    fit_seconds: float


def _prepare(request: TrainRequest, table: FeatureTable, report: Progress) -> tuple[FeatureSet, PreparedData]:
    """The training matrices of the request's window, read from ``table`` (one snapshot)."""
    fset = get_feature_set(request.feature_set)
    bars, features = table.features(fset, request.start, request.end)
    report(20.0, f"{request.model_name}: features of {len(bars)} bars (data {table.version.content_hash})")
    data = build_training_data(
        bars,
        features,
        fset.columns,
        kind=request.kind,
        horizon=request.horizon,
        validation_split=request.validation_split,
        params=request.params,
    )
    span = {"request_start": request.start.isoformat(), "request_end": request.end.isoformat()}
    return fset, replace(data, ranges={**data.ranges, **span})


def _fit(
    request: TrainRequest,
    fset: FeatureSet,
    data: PreparedData,
    member_loader: MemberLoader | None,
    report: Progress,
) -> _Fitted:
    choice = resolve_device(request.device)
    model = create_model(
        request.kind, request.params, list(fset.columns), choice.device, member_loader=member_loader
    )
    report(35.0, f"{request.model_name}: fitting {request.kind.value} on {choice.device}")
    began = time.perf_counter()
    # Kinds that stop early watch their own slice; the others only score x_val after fitting.
    if data.x_stop is not None and data.y_stop is not None:
        model.fit(data.x_train, data.y_train, data.x_stop, data.y_stop)
    else:
        model.fit(data.x_train, data.y_train, data.x_val, data.y_val)
    fit_seconds = time.perf_counter() - began
    report(75.0, f"{request.model_name}: evaluating")
    train_pred = np.asarray(model.predict(data.x_train), dtype=np.float64)
    metrics = {
        **prefixed(regression_metrics(data.y_train, train_pred), "train_"),
        **prefixed(regression_metrics(data.y_val, model.predict(data.x_val)), "val_"),
    }
    return _Fitted(model, choice, metrics, train_pred, fit_seconds)


def _serving_meta(
    request: TrainRequest, fset: FeatureSet, data: PreparedData, fitted: _Fitted
) -> ServingMeta:
    # The signal's scale is the spread of the model's own predictions: a typical-strength call maps
    # to tanh(1) = 0.76, while a shrunk regressor (boosting predicts a small fraction of the target's
    # spread) still reaches the +-0.2 BUY/SELL lines when it is confident by its own standards.
    scale = float(np.nanstd(fitted.train_pred)) or float(np.nanstd(data.y_train)) or 1e-9
    model = fitted.model
    return ServingMeta(
        model_name=request.model_name,
        kind=request.kind.value,
        symbol=request.symbol,
        timeframe=request.timeframe,
        source=request.source,
        feature_set=fset.name,
        feature_names=list(fset.columns),
        horizon=request.horizon,
        scale=scale,
        flat_threshold=0.1 * scale,
        device=model.device,
        context_rows=model.context_rows,
        outputs=data.outputs,
        metrics=fitted.metrics,
        data_range=data.ranges,
        seed=int(request.params.get("random_state", 42)),
        error_scale=float(getattr(model, "error_scale", 0.0) or 0.0),
    )


def _log_inputs(
    run: RunHandle, request: TrainRequest, fset: FeatureSet, data: PreparedData, fitted: _Fitted
) -> None:
    """The run's parameters, its feature list and the model's feature importance."""
    run.log_params(
        {
            **request.params,
            "model_type": request.kind.value,
            "symbol": request.symbol,
            "timeframe": request.timeframe,
            "source": request.source,
            "horizon": request.horizon,
            "validation_split": request.validation_split,
            "feature_set": fset.name,
            "n_features": len(fset.columns),
            "device": fitted.model.device,
            "device_note": fitted.choice.note,
            "train_rows": data.train_rows,
            "val_rows": data.val_rows,
            "embargo": data.embargo,
            "early_stopping_rows": data.early_stopping_rows,
            "early_stopping_best_iteration": _best_iteration(fitted.model.fit_info),
            **{f"data_{k}": v for k, v in data.ranges.items()},
        }
    )
    run.log_metrics({"training_samples": float(data.train_rows)})  # a metric: model lists read metrics only
    run.log_dict({"features": list(fset.columns), "outputs": data.outputs}, "features.json")
    importance = fitted.model.feature_importance()
    if importance:
        run.log_figure(feature_importance_figure(importance, request.model_name), "feature_importance.png")
        run.log_dict(importance, "feature_importance.json")


def _log_model(
    run: RunHandle, request: TrainRequest, fset: FeatureSet, data: PreparedData, fitted: _Fitted
) -> str:
    """Save the model as an MLflow pyfunc folder on the run; returns its artifact source."""
    with tempfile.TemporaryDirectory(prefix="tradeforge-train-") as tmp:
        regressor_dir = Path(tmp) / "regressor"
        fitted.model.save(regressor_dir)
        example = pd.DataFrame(data.x_val[:5], columns=list(fset.columns))
        meta = _serving_meta(request, fset, data, fitted)
        model_dir = save_pyfunc(regressor_dir, meta, Path(tmp) / "model", example)
        return run.log_model_dir(model_dir, "model")


def _contest(
    settings: Settings,
    request: TrainRequest,
    table: FeatureTable,
    data: PreparedData,
    fitted: _Fitted,
    member_loader: MemberLoader | None,
) -> Contest:
    """The new version against the champion; the bars of the request's own range are its snapshot,
    other ranges (the champion's validation window) are read from the store."""

    def bars_of(start: pd.Timestamp, end: pd.Timestamp) -> FeatureTable:
        if (start, end) == (request.start, request.end):
            return table
        return stored_bars_table(settings, table.key, start, end)

    candidate = Contender(
        model=fitted.model,
        feature_set=request.feature_set,
        feature_names=list(data.feature_names),
        outputs=list(data.outputs),
        horizon=data.horizon,
        ranges=data.ranges,
    )
    return Contest(
        request.model_name,
        request.selection_metric,
        candidate,
        bars_of,
        member_loader,
        request.force,
        settings.champion_min_psr,
    )


def _log_decision(run: RunHandle, decision: ChampionDecision, version: str, timing: dict[str, float]) -> None:
    run.log_metrics({**timing, **decision.metrics()})
    run.log_params(decision.params())
    run.set_tags({**decision.tags(), "tradeforge.version": version})


def _decide(tracker: Tracker, contest: Contest, version: str) -> ChampionDecision:
    """The champion decision; the held-out Sharpe ratio it measured goes on the new model version,
    where the next versions count it as a trial."""
    decision = decide_champion(tracker, contest)
    if decision.deflation is not None:
        tracker.set_version_tags(contest.model_name, version, decision.deflation.version_tags())
    return decision


def train(
    settings: Settings,
    request: TrainRequest,
    tracker: Tracker,
    *,
    table: FeatureTable,
    member_loader: MemberLoader | None = None,
    progress: Progress | None = None,
) -> TrainResult:
    """Fit, evaluate, log, register, and move ``champion`` when the new version wins.

    ``table``: the data to train on, one snapshot (the Dagster asset passes the materialized feature
    table; :func:`pipelines.app.train.train_model` passes the stored bars of a CLI or API request).
    Nothing here fetches; when the champion's validation window is the later one, the stored bars of
    the champion's data range are read for the comparison. ``progress(percent, description)`` hears
    of each stage (a job reports it to its followers)."""
    report = progress or _silent
    began = time.perf_counter()
    report(5.0, f"{request.model_name}: loading {request.symbol} {request.timeframe} bars")
    fset, data = _prepare(request, table, report)
    if member_loader is None and request.kind is ModelKind.ENSEMBLE:
        member_loader = ModelRegistry(tracker, settings.models_cache_dir).member_loader
    fitted = _fit(request, fset, data, member_loader, report)
    tags = {
        "tradeforge.kind": request.kind.value,
        "tradeforge.symbol": request.symbol,
        "tradeforge.timeframe": request.timeframe,
        "tradeforge.source": request.source,
        "tradeforge.device": fitted.model.device,
    }
    report(85.0, f"{request.model_name}: logging to MLflow and registering")
    name = f"{request.kind.value}-{request.symbol}-{request.timeframe}"
    with tracker.run(request.model_name, name, {**tags, **table.version.tags()}) as run:
        _log_inputs(run, request, fset, data, fitted)
        version = tracker.register(
            request.model_name, _log_model(run, request, fset, data, fitted), run.run_id, tags
        )
        report(90.0, f"{request.model_name}: comparing with the champion")
        loader = member_loader or ModelRegistry(tracker, settings.models_cache_dir).member_loader
        decision = _decide(tracker, _contest(settings, request, table, data, fitted, loader), version)
        seconds = time.perf_counter() - began
        timing = {"training_seconds": seconds, "fit_seconds": fitted.fit_seconds}
        _log_decision(run, decision, version, {**fitted.metrics, **timing})
        if decision.promoted:
            tracker.set_alias(request.model_name, "champion", version)
    return TrainResult(
        request.model_name,
        version,
        run.run_id,
        request.kind.value,
        fitted.metrics,
        decision.promoted,
        decision.reason,
        fitted.model.device,
        seconds,
        data.ranges,
        list(fset.columns),
        table.version,
        decision.as_dict(),
    )


def _best_iteration(fit_info: dict[str, Any]) -> Any:
    """The boosting round (or LSTM epoch) early stopping kept, as the kind reports it; None without."""
    for key in ("best_iteration", "best_epoch"):
        if key in fit_info:
            return fit_info[key]
    return None
