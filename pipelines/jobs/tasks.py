"""The platform's job kinds: training, batch predictions, backtests and walk-forward analyses.

Each kind's parameters are the keyword arguments of the synchronous API function it runs
(``api_train``, ``PredictionService.predict_batch``, ``api_backtest``, ``api_walk_forward``), checked by
the same planners before the job is queued: bad input is an InvalidRequestError at submission, never a
failed job. ``default_tasks()`` is the registry the server's queue runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pipelines.datasets.files import stored_bars
from pipelines.errors import DataNotFoundError, InvalidRequestError, TradeforgeError
from pipelines.jobs.registry import ProgressReporter, TaskRegistry, register_task
from pipelines.settings import Settings

__all__ = [
    "backtest_task",
    "batch_prediction_task",
    "default_tasks",
    "training_task",
    "walk_forward_task",
]

T = TypeVar("T")


def _checked(call: Callable[[], T]) -> T:
    """Run a planner; a TypeError or ValueError from ill-typed JSON is the caller's input error too."""
    try:
        return call()
    except TradeforgeError:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(f"invalid job parameters: {exc}") from None


def _only_known(
    params: dict[str, Any], fn: Callable[..., Any], skip: Iterable[str], extra: Iterable[str] = ()
) -> None:
    known = {
        name
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }
    known = (known - set(skip)) | set(extra)
    unknown = sorted(set(params) - known)
    if unknown:
        raise InvalidRequestError(
            f"unknown job parameter(s): {', '.join(unknown)}; expected: {', '.join(sorted(known))}"
        )


def _text(params: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(f"{name} must be a non-empty string")
    return value


_LIBRARIES_GB = 0.4  # a worker's interpreter with pandas, numpy, numba and pyarrow loaded


def _bars_ram(floor_gb: float, kb_per_bar: float) -> Callable[[dict[str, Any]], float]:
    """A RAM estimate growing with the bars a job reads: its ``start_date``/``end_date`` at its
    ``timeframe`` (the backtest validators write the planned dates in; without both dates the floor);
    bars of an upload add nothing here (the upload's size bounds them)."""

    def estimate(params: dict[str, Any]) -> float:
        from pipelines.data.limits import estimate_bars
        from pipelines.data.symbols import parse_symbol
        from pipelines.data.timeutil import parse_time

        if params.get("dataset_id") or not params.get("start_date") or not params.get("end_date"):
            return floor_gb
        bars = estimate_bars(
            str(params.get("timeframe") or "1d"),
            parse_time(params["start_date"]),
            parse_time(params["end_date"]),
            crypto=parse_symbol(str(params["symbol"])).is_crypto,
        )
        return max(floor_gb, _LIBRARIES_GB + bars * kb_per_bar / 1024**2)

    return estimate


def _with_span(params: dict[str, Any], request: Any) -> dict[str, Any]:
    """The job's parameters with the planned dates, so the job reads what was checked at submission."""
    return {**params, "start_date": request.start.isoformat(), "end_date": request.end.isoformat()}


def _require_model(settings: Settings, name: str) -> None:
    from pipelines.models.tracking import open_tracker

    if not dict(open_tracker(settings).list_models()).get(name):
        raise DataNotFoundError(f"no registered model named {name!r}")


# -- backtests --------------------------------------------------------------------------------------
def _validate_backtest(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from pipelines.analysis.api import TRADING_FIELDS, api_backtest, source_for, strategy_of, trading_fields
    from pipelines.analysis.backtests import plan_backtest

    _only_known(params, api_backtest, skip=("settings", "result_id"), extra=TRADING_FIELDS)
    symbol = str(_text(params, "symbol"))
    name, checked = _checked(
        lambda: strategy_of(params.get("model_name"), params.get("strategy"), params.get("params"))
    )
    with stored_bars(settings, params.get("dataset_id"), params.get("source")) as (source, path):
        request = _checked(
            lambda: plan_backtest(
                settings,
                strategy=name,
                params=checked,
                symbol=symbol,
                source=source or source_for(settings, symbol),
                timeframe=params.get("timeframe", "1d"),
                start=params.get("start_date"),
                end=params.get("end_date"),
                path=path,
                **trading_fields(params),
            )
        )
    if name == "ml_predictive":
        _require_model(settings, str(checked["model_name"]))
    return params if params.get("dataset_id") else _with_span(params, request)


@register_task(
    "backtest",
    cpu_cores=0.5,
    ram_gb=0.5,
    estimate_ram=_bars_ram(0.5, 1.5),
    validate=_validate_backtest,
    describe=lambda p: f"Running backtest for {p.get('symbol')}...",
)
def backtest_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    from pipelines.analysis.api import api_backtest

    progress.update(5.0, f"Running backtest for {params['symbol']}: loading data...")
    result = api_backtest(progress.settings, result_id=progress.job_id, **params)
    progress.update(95.0, f"Backtest for {params['symbol']} finished")
    return result


# -- walk-forward -----------------------------------------------------------------------------------
def _validate_walk_forward(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from pipelines.analysis.api import (
        TRADING_FIELDS,
        api_walk_forward,
        registered_kind,
        source_for,
        trading_fields,
    )
    from pipelines.analysis.walk_forward import plan_walk_forward

    _only_known(params, api_walk_forward, skip=("settings", "tracker", "result_id"), extra=TRADING_FIELDS)
    symbol = str(_text(params, "symbol"))
    normalized = dict(params)
    if params.get("model_type") is None:
        model_name = _text(params, "model_name", required=False)
        if model_name is None:
            raise InvalidRequestError("walk-forward needs model_name (a registered model) or model_type")
        from pipelines.models.tracking import open_tracker

        kind, timeframe = registered_kind(open_tracker(settings), model_name)
        normalized["model_type"] = kind
        normalized["timeframe"] = params.get("timeframe") or timeframe
    with stored_bars(settings, normalized.get("dataset_id"), normalized.get("source")) as (source, path):
        request = _checked(
            lambda: plan_walk_forward(
                settings,
                model_type=normalized["model_type"],
                symbol=symbol,
                params=dict(normalized.get("parameters") or {}),
                train_window=normalized.get("train_window", 252),
                test_window=normalized.get("test_window", 63),
                mode=normalized.get("mode", "rolling"),
                threshold=normalized.get("threshold", 0.2),
                source=source or source_for(settings, symbol),
                timeframe=normalized.get("timeframe") or "1d",
                start=normalized.get("start_date"),
                end=normalized.get("end_date"),
                path=path,
                **trading_fields(normalized),
            )
        )
    return normalized if normalized.get("dataset_id") else _with_span(normalized, request)


@register_task(
    "walk_forward",
    cpu_cores=1.0,
    ram_gb=2.0,
    estimate_ram=_bars_ram(1.0, 2.0),
    validate=_validate_walk_forward,
    describe=lambda p: f"Walk-forward analysis of {p.get('model_type')} on {p.get('symbol')}...",
)
def walk_forward_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    from pipelines.analysis.api import api_walk_forward
    from pipelines.models.tracking import open_tracker

    progress.update(5.0, f"Walk-forward analysis of {params['symbol']}: retraining per fold...")
    tracker = open_tracker(progress.settings)
    return api_walk_forward(progress.settings, tracker, result_id=progress.job_id, **params)


# -- training ---------------------------------------------------------------------------------------
def _validate_training(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from pipelines.data.market import source_for as market_source_for
    from pipelines.models.requests import api_train, training_target
    from pipelines.models.training import plan_training

    _only_known(params, api_train, skip=("settings", "tracker", "registry", "progress", "owners", "actor"))
    model_type = str(_text(params, "model_type"))
    normalized = dict(params)
    dataset = normalized.pop("dataset", None)
    sym, timeframe, ds_source, name = _checked(
        lambda: training_target(
            model_type,
            params.get("model_name"),
            params.get("symbol"),
            None if dataset is None else str(dataset),
            params.get("timeframe") or "1d",
        )
    )
    source = params.get("source") or ds_source or market_source_for(settings, sym)
    request = _checked(
        lambda: plan_training(
            settings,
            model_type=model_type,
            model_name=name,
            symbol=sym.name,
            timeframe=str(timeframe),
            source=str(source),
            start=params.get("start_date"),
            end=params.get("end_date"),
            params=params.get("parameters"),
            validation_split=params.get("validation_split", 0.2),
            horizon=params.get("horizon", 1),
            feature_set=params.get("feature_set", "default"),
            gpu_enabled=params.get("gpu_enabled"),
        )
    )
    normalized.update(
        model_name=request.model_name,
        symbol=request.symbol,
        timeframe=request.timeframe,
        source=request.source,
    )
    return normalized


@register_task(
    "training",
    cpu_cores=1.0,
    ram_gb=2.0,
    estimate_ram=_bars_ram(1.0, 2.0),
    validate=_validate_training,
    describe=lambda p: f"Training {p.get('model_type')} model {p.get('model_name')} on {p.get('symbol')}...",
)
def training_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Train and register; the server reloads ``result["model_name"]`` in its own registry afterwards.

    The user who queued the job must still own the model (or be an admin) when it runs: ownership is
    checked again here, with the user's role of now."""
    from pipelines.db import open_database
    from pipelines.models.ownership import ModelOwners, job_actor
    from pipelines.models.registry import ModelRegistry
    from pipelines.models.requests import api_train
    from pipelines.models.tracking import open_tracker

    settings = progress.settings
    tracker = open_tracker(settings)
    progress.update(5.0, f"Training {params['model_name']}: loading data and features...")
    registry = ModelRegistry(tracker, settings.models_cache_dir)
    database = open_database(settings)
    try:
        actor = job_actor(database, progress.job_id)
        result = api_train(
            settings,
            tracker,
            registry,
            **params,
            progress=lambda pct, text: progress.update(pct, text),
            owners=ModelOwners(database, tracker),
            actor=actor,
        )
    finally:
        database.close()
    progress.update(95.0, f"Training {params['model_name']}: registered version {result.get('version')}")
    return result


# -- batch predictions ------------------------------------------------------------------------------
_BATCH_KEYS = ("model_name", "symbols", "timeframe", "ref")


def _validate_batch(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    from pipelines.data.timeframes import parse_timeframe
    from pipelines.prediction.ensemble import validate_symbols

    unknown = sorted(set(params) - set(_BATCH_KEYS))
    if unknown:
        raise InvalidRequestError(
            f"unknown job parameter(s): {', '.join(unknown)}; expected: {', '.join(_BATCH_KEYS)}"
        )
    model_name = str(_text(params, "model_name"))
    symbols = params.get("symbols")
    if not isinstance(symbols, list):
        raise InvalidRequestError("symbols must be a list of symbols")
    limit = settings.limits.max_symbols_per_request
    normalized = dict(params, symbols=_checked(lambda: validate_symbols(symbols, limit)))
    if params.get("timeframe") is not None:
        normalized["timeframe"] = parse_timeframe(str(params["timeframe"])).name
    _require_model(settings, model_name)
    return normalized


@register_task(
    "batch_prediction",
    cpu_cores=0.5,
    ram_gb=1.0,
    validate=_validate_batch,
    describe=lambda p: (
        f"Generating predictions of {p.get('model_name')} for {len(p.get('symbols') or ())} symbols..."
    ),
)
def batch_prediction_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    from pipelines.models.registry import ModelRegistry
    from pipelines.models.tracking import open_tracker
    from pipelines.prediction.service import PredictionService

    settings = progress.settings
    tracker = open_tracker(settings)
    service = PredictionService(settings, ModelRegistry(tracker, settings.models_cache_dir))
    progress.update(10.0, f"Generating predictions of {params['model_name']}...")
    batch = service.predict_batch(
        params["model_name"], params["symbols"], params.get("ref") or "champion", params.get("timeframe")
    )
    return {"status": "success", "model": params["model_name"], **batch.as_dict()}


def default_tasks() -> TaskRegistry:
    """The job kinds of the server: training, batch_prediction, backtest, walk_forward, dataset."""
    from pipelines.datasets.task import dataset_task

    return TaskRegistry(
        [training_task, batch_prediction_task, backtest_task, walk_forward_task, dataset_task]
    )
