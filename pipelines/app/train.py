"""The model use cases (train, describe; the ``training`` job kind), on the same planner and trainer
as the CLI and the Dagster assets.

A training request may name its data by ``dataset``; here a dataset is ``SYMBOL``, ``SYMBOL@TIMEFRAME``
or ``SOURCE:SYMBOL@TIMEFRAME`` (e.g. ``yfinance:AAPL@1d``), the coordinates of a stored dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipelines.app.ingest import DataRequest, ensure_bars_table
from pipelines.app.job_params import bars_ram, checked, only_known, text_param
from pipelines.data.default_source import default_source
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.db import open_database
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.features.store import FeatureTable
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.models.kinds import MemberLoader
from pipelines.models.ownership import Actor, ModelOwners, job_actor
from pipelines.models.registry import ModelRegistry
from pipelines.models.summaries import category_of, list_models, model_status
from pipelines.models.tracking import RegisteredVersion, Tracker, open_tracker
from pipelines.models.training import TrainRequest, TrainResult, plan_training, train
from pipelines.names import name_problem
from pipelines.settings import Settings

__all__ = [
    "TrainQuery",
    "TrainRequest",
    "TrainResult",
    "api_train",
    "default_model_name",
    "describe_model",
    "parse_dataset",
    "plan_query",
    "plan_training",
    "run_training",
    "summary_row",
    "train_model",
    "training_target",
    "training_task",
]

_DATASET = re.compile(r"^(?:(?P<source>[a-z_]+):)?(?P<symbol>[^@:]+)(?:@(?P<timeframe>[0-9a-z]+))?$")


def parse_dataset(dataset: str) -> tuple[str | None, str, str | None]:
    """(source, symbol, timeframe) of a dataset reference; absent parts are None."""
    problem = name_problem(dataset)
    if problem is not None:
        raise InvalidRequestError(f"dataset {dataset!r} {problem}")
    m = _DATASET.fullmatch(dataset)
    if m is None:
        raise InvalidRequestError(
            f"dataset {dataset!r} is not SYMBOL, SYMBOL@TIMEFRAME or SOURCE:SYMBOL@TIMEFRAME "
            "(e.g. yfinance:AAPL@1d)"
        )
    return m.group("source"), m.group("symbol"), m.group("timeframe")


def default_model_name(model_type: str, symbol: str, timeframe: str) -> str:
    base = f"{model_type}_{symbol}_{timeframe}".lower()
    return re.sub(r"[^a-z0-9_.-]+", "_", base).strip("_")[:100]


def training_target(
    model_type: str,
    model_name: str | None,
    symbol: str | None,
    dataset: str | None,
    timeframe: str,
) -> tuple[Symbol, str, str | None, str]:
    """(symbol, timeframe, the dataset's source, model name) a training request names; the model
    name defaults to ``{model_type}_{symbol}_{timeframe}``."""
    ds_source = ds_timeframe = None
    if dataset is not None:
        ds_source, ds_symbol, ds_timeframe = parse_dataset(dataset)
        if symbol is not None and parse_symbol(symbol).name != parse_symbol(ds_symbol).name:
            raise InvalidRequestError(f"symbol {symbol!r} and dataset {dataset!r} name different symbols")
        symbol = ds_symbol
    if symbol is None:
        raise InvalidRequestError("training needs a symbol (or a dataset naming one)")
    sym = parse_symbol(symbol)
    tf = ds_timeframe or timeframe
    return sym, tf, ds_source, model_name or default_model_name(model_type, sym.name, tf)


@dataclass(frozen=True, kw_only=True)
class TrainQuery:
    """A training request as the API and the ``training`` job kind give it: the model kind, its
    name (default ``{model_type}_{symbol}_{timeframe}``) and the data (``symbol`` or ``dataset``)."""

    model_type: str
    model_name: str | None = None
    symbol: str | None = None
    dataset: str | None = None
    start_date: Any = None
    end_date: Any = None
    timeframe: str = "1d"
    source: str | None = None
    parameters: dict[str, Any] | None = None
    validation_split: float = 0.2
    gpu_enabled: bool | None = None
    horizon: int = 1
    feature_set: str = "default"
    force: bool = False  # promote to champion whatever the comparison says


def plan_query(settings: Settings, query: TrainQuery) -> TrainRequest:
    """``query`` checked completely and resolved to its dataset, before any data is read."""
    sym, tf, ds_source, name = training_target(
        query.model_type, query.model_name, query.symbol, query.dataset, query.timeframe
    )
    return plan_training(
        settings,
        model_type=query.model_type,
        model_name=name,
        symbol=sym.name,
        timeframe=tf,
        source=query.source or ds_source or default_source(settings, sym, tf),
        start=query.start_date,
        end=query.end_date,
        params=query.parameters,
        validation_split=query.validation_split,
        horizon=query.horizon,
        feature_set=query.feature_set,
        gpu_enabled=query.gpu_enabled,
        force=query.force,
    )


def train_model(
    settings: Settings,
    request: TrainRequest,
    tracker: Tracker,
    *,
    table: FeatureTable | None = None,
    member_loader: MemberLoader | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> TrainResult:
    """The training use case of every front end: fit, log (with the data version read), register,
    promote. ``table``: the data to train on (the Dagster asset passes the materialized ``features``
    table and nothing is fetched); None reads the stored bars of the request's window through
    :func:`pipelines.app.ingest.ensure_bars_table`, which ingests only what the store lacks."""
    if table is None:
        if progress is not None:
            progress(2.0, f"{request.model_name}: loading {request.symbol} {request.timeframe} bars")
        table = ensure_bars_table(
            settings,
            DataRequest(request.source, request.symbol, request.timeframe, request.start, request.end),
        )
    return train(settings, request, tracker, table=table, member_loader=member_loader, progress=progress)


def run_training(
    settings: Settings,
    tracker: Tracker,
    registry: ModelRegistry,
    query: TrainQuery,
    *,
    progress: Callable[[float, str], None] | None = None,
    owners: ModelOwners | None = None,
    actor: Actor | None = None,
) -> dict[str, Any]:
    """Validate completely, train, register, promote; the answer carries both client styles' fields.

    With ``owners`` and ``actor`` (an API user), ``actor`` must own the model or be an admin, and
    becomes the owner of a new name; without them (CLI, Dagster) nothing is checked or claimed.
    """
    request = plan_query(settings, query)
    name = request.model_name
    guard = owners.training(name, actor) if owners is not None and actor is not None else nullcontext()
    with guard:
        result = train_model(
            settings, request, tracker, member_loader=registry.member_loader, progress=progress
        )
    registry.reload(result.model_name)
    return _answer(request, result)


def api_train(
    settings: Settings,
    tracker: Tracker,
    registry: ModelRegistry,
    *,
    progress: Callable[[float, str], None] | None = None,
    owners: ModelOwners | None = None,
    actor: Actor | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """:func:`run_training` of the :class:`TrainQuery` ``fields`` name (the JSON body or the job's
    parameters)."""
    query = TrainQuery(**fields)
    return run_training(settings, tracker, registry, query, progress=progress, owners=owners, actor=actor)


def _answer(request: TrainRequest, result: TrainResult) -> dict[str, Any]:
    body = result.as_dict()
    return {
        "status": "success",
        **body,
        "symbol": request.symbol,
        "timeframe": request.timeframe,
        "source": request.source,
        "dataset": f"{request.source}:{request.symbol}@{request.timeframe}",
        "parameters": request.params,
        "message": f"Model trained in {result.seconds:.2f}s",
        "training_time": round(result.seconds, 3),
    }


def _version_row(v: RegisteredVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "aliases": list(v.aliases),
        "run_id": v.run_id,
        "created_at": datetime.fromtimestamp(v.created_ms / 1000, tz=UTC).isoformat(),
        "device": v.tags.get("tradeforge.device", ""),
        "metrics": {k: val for k, val in sorted(v.metrics.items()) if k.startswith(("val_", "train_"))},
    }


def summary_row(summary: Any, status: str, loaded: bool) -> dict[str, Any]:
    """One row of the model list with both client styles' fields (id, name, category, status, accuracy,
    last_trained; and name, type, symbol, trained_date, parameters, status)."""
    body = summary.as_dict()
    return {
        "id": summary.name,
        "name": summary.name,
        "type": summary.kind,
        "category": category_of(summary.kind),
        "status": status,
        "loaded": loaded,
        "accuracy": summary.metrics.get("val_directional_accuracy"),
        "trained_date": summary.last_trained,
        **body,
    }


def describe_model(tracker: Tracker, name: str, *, loaded_versions: set[str] | None = None) -> dict[str, Any]:
    versions = dict(tracker.list_models()).get(name)
    if not versions:
        raise DataNotFoundError(f"no registered model named {name!r}")
    summary = next((s for s in list_models(tracker) if s.name == name), None)
    if summary is None:  # its first version is still being registered
        raise DataNotFoundError(f"no registered model named {name!r}")
    loaded = loaded_versions or set()
    row = summary_row(summary, model_status(summary), bool(loaded))
    return {**row, "versions_detail": [_version_row(v) for v in versions], "loaded_versions": sorted(loaded)}


# -- the ``training`` job kind: the parameters are ``api_train``'s keywords ---------------------------
def _validate_training(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    only_known(params, TrainQuery, skip=())
    model_type = str(text_param(params, "model_type"))
    normalized = dict(params)
    dataset = normalized.pop("dataset", None)
    sym, timeframe, ds_source, name = checked(
        lambda: training_target(
            model_type,
            params.get("model_name"),
            params.get("symbol"),
            None if dataset is None else str(dataset),
            params.get("timeframe") or "1d",
        )
    )
    source = (
        params.get("source") or ds_source or checked(lambda: default_source(settings, sym, str(timeframe)))
    )
    request = checked(
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
            force=params.get("force", False),
        )
    )
    normalized.update(
        model_name=request.model_name,
        symbol=request.symbol,
        timeframe=request.timeframe,
        source=request.source,
    )
    return normalized


def _training_ram(params: dict[str, Any]) -> float:
    """RAM of a training job: 2 KB per bar, and a multi_ohlc model's 4 * n_steps float64 targets per bar
    about four times over (the targets, their standardized copy and the fit's working arrays)."""
    steps = 0
    if params.get("model_type") == "multi_ohlc":
        raw = (params.get("parameters") or {}).get("n_steps", 5)
        steps = raw if isinstance(raw, int) and not isinstance(raw, bool) else 5
    return bars_ram(1.0, 2.0 + 0.125 * steps)(params)


@register_task(
    "training",
    cpu_cores=1.0,
    ram_gb=2.0,
    estimate_ram=_training_ram,
    validate=_validate_training,
    describe=lambda p: f"Training {p.get('model_type')} model {p.get('model_name')} on {p.get('symbol')}...",
)
def training_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """Train and register; the server reloads ``result["model_name"]`` in its own registry afterwards.

    The user who queued the job must still own the model (or be an admin) when it runs: ownership is
    checked again here, with the user's role of now."""
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
