"""The walk-forward use case (``/api/v1/backtest/walk-forward``; the ``walk_forward`` job kind):
retrain a model kind per fold and trade each fold's test window, with the same planner and engine as
the CLI."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipelines.app.backtest import AnalysisAnswer, TradingTerms, source_for, trading_fields
from pipelines.app.full_curves import keep_full_curve
from pipelines.app.job_params import bars_ram, checked, only_known, text_param, with_span
from pipelines.app.walk_forward_plan import WalkForwardRequest, plan_walk_forward, walk_forward_run
from pipelines.backtest import WalkForwardResult
from pipelines.datasets.files import stored_bars
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.jobs.task_kinds import ProgressReporter, register_task
from pipelines.models.tracking import Tracker, open_tracker
from pipelines.settings import Settings

__all__ = [
    "WalkForwardQuery",
    "api_walk_forward",
    "registered_kind",
    "run_walk_forward_query",
    "walk_forward_task",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class WalkForwardQuery(TradingTerms):
    """A walk-forward of the kind of ``model_name`` (its registered kind and timeframe) or of
    ``model_type``; ``dataset_id``: the bars of an uploaded ``ohlcv`` dataset (the caller checked
    its owner)."""

    symbol: str
    model_name: str | None = None
    model_type: str | None = None
    parameters: Mapping[str, Any] | None = None
    start_date: Any = None
    end_date: Any = None
    train_window: int = 252
    test_window: int = 63
    mode: str = "rolling"
    threshold: float = 0.2
    timeframe: str | None = None
    source: str | None = None
    dataset_id: str | None = None


def run_walk_forward_query(
    settings: Settings,
    tracker: Tracker,
    query: WalkForwardQuery,
    *,
    result_id: str | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> AnalysisAnswer:
    """Retrain per fold and trade each test window; ``result_id``: the job that keeps the full curve
    and trades when the answer cuts them; ``progress(percent, description)`` hears of each fold."""
    model_type, timeframe = query.model_type, query.timeframe
    if model_type is None:
        if query.model_name is None:
            raise InvalidRequestError("walk-forward needs model_name (a registered model) or model_type")
        model_type, model_timeframe = registered_kind(tracker, query.model_name)
        timeframe = timeframe or model_timeframe
    with stored_bars(settings, query.dataset_id, query.source) as (source, path):
        request = plan_walk_forward(
            settings,
            model_type=model_type,
            symbol=query.symbol,
            params=dict(query.parameters or {}),
            train_window=query.train_window,
            test_window=query.test_window,
            mode=query.mode,
            threshold=query.threshold,
            source=source or source_for(settings, query.symbol, timeframe or "1d"),
            timeframe=timeframe or "1d",
            start=query.start_date,
            end=query.end_date,
            path=path,
            **query.given(),
        )
        run = walk_forward_run(settings, request, progress)
    body = run.result.as_dict(settings.limits.max_response_points)
    body["full_curve"] = keep_full_curve(settings, result_id, run.result, body)
    body |= run.honest.as_dict()
    answer = AnalysisAnswer(_answer(query.model_name, request, run.result, body), run.data_version)
    log.info("walk-forward of %s on %s read %s", request.model_type, request.symbol, answer.version_note())
    return answer


def api_walk_forward(
    settings: Settings, tracker: Tracker, *, result_id: str | None = None, **fields: Any
) -> dict[str, Any]:
    """:func:`run_walk_forward_query` of the :class:`WalkForwardQuery` ``fields`` name (the JSON body
    or the job's parameters), answered as its body."""
    return run_walk_forward_query(settings, tracker, WalkForwardQuery(**fields), result_id=result_id).body


def _answer(
    model_name: str | None, request: WalkForwardRequest, result: WalkForwardResult, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "model_name": model_name,
        "model_type": request.model_type,
        "symbol": request.symbol,
        "timeframe": request.timeframe,
        "period": {"start": request.start.date().isoformat(), "end": request.end.date().isoformat()},
        "train_window": request.train_window,
        "test_window": request.test_window,
        "mode": request.mode,
        "num_folds": len(result.folds),
        **body,
        "status": "success",
    }


def registered_kind(tracker: Tracker, model_name: str) -> tuple[str, str]:
    """(kind, timeframe) of a registered model: its champion's, else its latest version's."""
    versions = dict(tracker.list_models()).get(model_name)
    if not versions:
        raise DataNotFoundError(f"no registered model named {model_name!r}")
    shown = next((v for v in versions if "champion" in v.aliases), versions[-1])
    return shown.tags.get("tradeforge.kind", ""), shown.tags.get("tradeforge.timeframe", "1d")


# -- the ``walk_forward`` job kind: the parameters are ``api_walk_forward``'s keywords ----------------
def _validate_walk_forward(params: dict[str, Any], settings: Settings) -> dict[str, Any]:
    only_known(params, WalkForwardQuery, skip=())
    symbol = str(text_param(params, "symbol"))
    normalized = dict(params)
    if params.get("model_type") is None:
        model_name = text_param(params, "model_name", required=False)
        if model_name is None:
            raise InvalidRequestError("walk-forward needs model_name (a registered model) or model_type")
        kind, timeframe = registered_kind(open_tracker(settings), model_name)
        normalized["model_type"] = kind
        normalized["timeframe"] = params.get("timeframe") or timeframe
    with stored_bars(settings, normalized.get("dataset_id"), normalized.get("source")) as (source, path):
        request = checked(
            lambda: plan_walk_forward(
                settings,
                model_type=normalized["model_type"],
                symbol=symbol,
                params=dict(normalized.get("parameters") or {}),
                train_window=normalized.get("train_window", 252),
                test_window=normalized.get("test_window", 63),
                mode=normalized.get("mode", "rolling"),
                threshold=normalized.get("threshold", 0.2),
                source=source or source_for(settings, symbol, str(normalized.get("timeframe") or "1d")),
                timeframe=normalized.get("timeframe") or "1d",
                start=normalized.get("start_date"),
                end=normalized.get("end_date"),
                path=path,
                **trading_fields(normalized),
            )
        )
    return normalized if normalized.get("dataset_id") else with_span(normalized, request)


@register_task(
    "walk_forward",
    cpu_cores=1.0,
    ram_gb=2.0,
    estimate_ram=bars_ram(1.0, 2.0),
    validate=_validate_walk_forward,
    describe=lambda p: f"Walk-forward analysis of {p.get('model_type')} on {p.get('symbol')}...",
)
def walk_forward_task(params: dict[str, Any], progress: ProgressReporter) -> dict[str, Any]:
    """The answer of ``/api/v1/backtest/walk-forward``; the job's last description names the data
    version read."""
    progress.update(5.0, f"Walk-forward analysis of {params['symbol']}: retraining per fold...")
    tracker = open_tracker(progress.settings)
    query = WalkForwardQuery(**params)
    answer = run_walk_forward_query(
        progress.settings,
        tracker,
        query,
        result_id=progress.job_id,
        progress=lambda pct, text: progress.update(
            5.0 + 0.9 * pct, f"Walk-forward analysis of {params['symbol']}: {text}"
        ),
    )
    progress.update(95.0, f"Walk-forward analysis of {params['symbol']} finished on {answer.version_note()}")
    return answer.body
