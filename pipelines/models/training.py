"""Train, evaluate, register and promote one model (used by the CLI, Dagster and the API).

The champion alias moves to a new version only when it beats the current champion on the
selection metric, both scored on the new run's validation window: metrics recorded on different
periods are not comparable. The decision and both scores are logged on the run.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipelines.data.providers import normalize_source
from pipelines.data.service import ensure_bars
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features, get_feature_set
from pipelines.models.base import ModelKind
from pipelines.models.dataset import build_training_data
from pipelines.models.device import resolve_device
from pipelines.models.evaluation import prefixed, regression_metrics
from pipelines.models.kinds import create_model, load_model
from pipelines.models.mlflow_model import ServingMeta, read_meta, save_pyfunc
from pipelines.models.params import validate_params
from pipelines.models.plots import feature_importance_figure
from pipelines.models.tracking import Tracker
from pipelines.settings import Settings

__all__ = ["MODEL_NAME_PATTERN", "SELECTION_METRICS", "TrainRequest", "TrainResult", "plan_training", "train"]

MODEL_NAME_PATTERN = r"^[A-Za-z0-9_.-]{1,100}$"  # matched whole (fullmatch): no trailing newline
_NAME_RE = re.compile(MODEL_NAME_PATTERN)
# metric -> True when higher is better
SELECTION_METRICS = {"val_ic": True, "val_directional_accuracy": True, "val_r2": True, "val_rmse": False}


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
        }


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
) -> TrainRequest:
    """Validate a training request completely before anything is fetched, trained or registered."""
    from pipelines.data.limits import request_span

    try:
        kind = ModelKind(model_type)
    except ValueError:
        raise InvalidRequestError(
            f"unknown model_type {model_type!r}; expected one of {', '.join(k.value for k in ModelKind)}"
        ) from None
    if not _NAME_RE.fullmatch(model_name or ""):
        raise InvalidRequestError(
            f"model_name {model_name!r} must be 1-100 characters of letters, digits, '_', '-' or '.'"
        )
    sym = parse_symbol(symbol)
    tf = parse_timeframe(timeframe)
    src = normalize_source(source)
    checked = validate_params(kind, params or {})
    if not 0.0 < validation_split < 0.9:
        raise InvalidRequestError(f"validation_split must be between 0 and 0.9, got {validation_split}")
    if not 1 <= horizon <= 100:
        raise InvalidRequestError(f"horizon must be between 1 and 100 bars, got {horizon}")
    get_feature_set(feature_set)
    if selection_metric not in SELECTION_METRICS:
        raise InvalidRequestError(f"selection_metric must be one of {', '.join(SELECTION_METRICS)}")
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
    )


def train(
    settings: Settings,
    request: TrainRequest,
    tracker: Tracker,
    *,
    member_loader: Any = None,
    progress: Callable[[float, str], None] | None = None,
) -> TrainResult:
    """Fit, evaluate, log, register, and move ``champion`` when the new version wins.

    ``progress(percent, description)`` hears of each stage (a job reports it to its followers)."""
    report = progress or (lambda _pct, _text: None)
    began = time.perf_counter()
    report(5.0, f"{request.model_name}: loading {request.symbol} {request.timeframe} bars")
    bars = ensure_bars(
        settings,
        source=request.source,
        symbol=request.symbol,
        timeframe=request.timeframe,
        start=request.start,
        end=request.end,
    )
    report(20.0, f"{request.model_name}: computing features on {len(bars)} bars")
    fset = get_feature_set(request.feature_set)
    features = compute_features(bars, fset)
    data = build_training_data(
        bars,
        features,
        fset.columns,
        kind=request.kind,
        horizon=request.horizon,
        validation_split=request.validation_split,
        params=request.params,
    )
    if member_loader is None and request.kind is ModelKind.ENSEMBLE:
        from pipelines.models.registry import ModelRegistry

        member_loader = ModelRegistry(tracker, settings.models_cache_dir).member_loader
    choice = resolve_device(request.device)
    model = create_model(
        request.kind, request.params, list(fset.columns), choice.device, member_loader=member_loader
    )
    report(35.0, f"{request.model_name}: fitting {request.kind.value} on {choice.device}")
    fit_began = time.perf_counter()
    # Kinds that stop early watch their own slice; the others only score x_val after fitting.
    if data.x_stop is not None and data.y_stop is not None:
        model.fit(data.x_train, data.y_train, data.x_stop, data.y_stop)
    else:
        model.fit(data.x_train, data.y_train, data.x_val, data.y_val)
    fit_seconds = time.perf_counter() - fit_began
    report(75.0, f"{request.model_name}: evaluating")
    train_pred = np.asarray(model.predict(data.x_train), dtype=np.float64)
    metrics = {
        **prefixed(regression_metrics(data.y_train, train_pred), "train_"),
        **prefixed(regression_metrics(data.y_val, model.predict(data.x_val)), "val_"),
    }
    # The signal's scale is the spread of the model's own predictions: a typical-strength call maps
    # to tanh(1) = 0.76, while a shrunk regressor (boosting predicts a small fraction of the target's
    # spread) still reaches the +-0.2 BUY/SELL lines when it is confident by its own standards.
    scale = float(np.nanstd(train_pred)) or float(np.nanstd(data.y_train)) or 1e-9
    meta = ServingMeta(
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
        metrics=metrics,
        data_range=data.ranges,
        seed=int(request.params.get("random_state", 42)),
        error_scale=float(getattr(model, "error_scale", 0.0) or 0.0),
    )
    tags = {
        "tradeforge.kind": request.kind.value,
        "tradeforge.symbol": request.symbol,
        "tradeforge.timeframe": request.timeframe,
        "tradeforge.source": request.source,
        "tradeforge.device": model.device,
    }
    report(85.0, f"{request.model_name}: logging to MLflow and registering")
    with tracker.run(
        request.model_name, f"{request.kind.value}-{request.symbol}-{request.timeframe}", tags
    ) as run:
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
                "device": model.device,
                "device_note": choice.note,
                "train_rows": data.train_rows,
                "val_rows": data.val_rows,
                "embargo": data.embargo,
                "early_stopping_rows": data.early_stopping_rows,
                "early_stopping_best_iteration": _best_iteration(model.fit_info),
                **{f"data_{k}": v for k, v in data.ranges.items()},
            }
        )
        run.log_dict({"features": list(fset.columns), "outputs": data.outputs}, "features.json")
        importance = model.feature_importance()
        if importance:
            run.log_figure(
                feature_importance_figure(importance, request.model_name), "feature_importance.png"
            )
            run.log_dict(importance, "feature_importance.json")
        with tempfile.TemporaryDirectory(prefix="tradeforge-train-") as tmp:
            regressor_dir = Path(tmp) / "regressor"
            model.save(regressor_dir)
            example = pd.DataFrame(data.x_val[:5], columns=list(fset.columns))
            model_dir = save_pyfunc(regressor_dir, meta, Path(tmp) / "model", example)
            source = run.log_model_dir(model_dir, "model")
        version = tracker.register(request.model_name, source, run.run_id, tags)
        promoted, decision, scores = _decide_champion(tracker, request, data, model, metrics, member_loader)
        seconds = time.perf_counter() - began
        run.log_metrics(
            {
                **metrics,
                "training_seconds": seconds,
                "fit_seconds": fit_seconds,
                "promoted": float(promoted),
                **scores,
            }
        )
        run.set_tags({"tradeforge.champion_decision": decision, "tradeforge.version": version})
        if promoted:
            tracker.set_alias(request.model_name, "champion", version)
    return TrainResult(
        request.model_name,
        version,
        run.run_id,
        request.kind.value,
        metrics,
        promoted,
        decision,
        model.device,
        seconds,
        data.ranges,
        list(fset.columns),
    )


def _best_iteration(fit_info: dict[str, Any]) -> Any:
    """The boosting round (or LSTM epoch) early stopping kept, as the kind reports it; None without."""
    for key in ("best_iteration", "best_epoch"):
        if key in fit_info:
            return fit_info[key]
    return None


def _decide_champion(
    tracker: Tracker,
    request: TrainRequest,
    data: Any,
    model: Any,
    metrics: dict[str, float],
    member_loader: Any,
) -> tuple[bool, str, dict[str, float]]:
    name, metric = request.selection_metric, request.selection_metric
    higher = SELECTION_METRICS[metric]
    new_score = metrics.get(metric, float("nan"))
    current = tracker.alias_version(request.model_name, "champion")
    if current is None:
        return True, "first version: promoted to champion", {"selection_new": new_score}
    with tempfile.TemporaryDirectory(prefix="tradeforge-champion-") as tmp:
        folder = tracker.download(current.source, Path(tmp))
        regressor_dir = folder / "artifacts" / "regressor"
        old_meta = read_meta(regressor_dir)
        if old_meta.feature_names == list(data.feature_names) and old_meta.outputs == data.outputs:
            old_model = load_model(regressor_dir, member_loader=member_loader)
            old_score = prefixed(regression_metrics(data.y_val, old_model.predict(data.x_val)), "val_")[
                metric
            ]
            basis = "on this run's validation window"
        else:
            old_score = current.metrics.get(metric, float("nan"))
            basis = "as recorded (the feature sets differ)"
    if np.isnan(new_score):
        won = False
    elif np.isnan(old_score):
        won = True
    else:
        won = new_score > old_score if higher else new_score < old_score
    verdict = "promoted to champion" if won else f"champion stays version {current.version}"
    decision = f"{name} {new_score:.6g} vs champion v{current.version} {old_score:.6g} {basis}: {verdict}"
    return won, decision, {"selection_new": new_score, "selection_champion": old_score}
