"""Backtests as trading-bot clients ask for them (``/api/backtests``): a request in their terms
becomes a job of the ``backtest`` kind (:mod:`pipelines.app.backtest`), and a backtest job reads back
as their record (performance and trading blocks, or the error of a failed run).

A caller sees only their own backtests (an admin every one); someone else's id reads as unknown. An
anonymous caller owns none.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from pipelines.app.backtest import TRADING_FIELDS
from pipelines.backtest.strategies import get_strategy
from pipelines.data.symbols import parse_symbol
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.jobs import JobQueue
from pipelines.jobs.records import JobInfo, Requester

__all__ = [
    "BACKTEST_KIND",
    "HONEST_BLOCKS",
    "PERFORMANCE_FIELDS",
    "TRADING_BLOCK",
    "backtest_record",
    "backtest_started",
    "bot_backtest",
    "bot_backtest_params",
    "bot_backtests",
    "parse_params",
    "submit_bot_backtest",
    "visible_backtest",
]

BACKTEST_KIND = "backtest"
PERFORMANCE_FIELDS = (
    "total_return",
    "sharpe_ratio",
    "max_drawdown",
    "win_rate",
    "sortino_ratio",
    "calmar_ratio",
)
# The trading block's fields and the metric each one is.
TRADING_BLOCK = {
    "total_trades": "num_trades",
    "winning_trades": "winning_trades",
    "losing_trades": "losing_trades",
    "avg_win": "avg_win",
    "avg_loss": "avg_loss",
    "avg_trade_duration": "avg_trade_duration",
    "profit_factor": "profit_factor",
}
# The blocks a run's answer carries beside its metrics (runs stored before them have none).
HONEST_BLOCKS = ("benchmark", "significance")
# The clients name the registered model of a model-driven strategy ``model_path``.
_PARAM_SPELLINGS = {"model_path": "model_name"}


def parse_params(text: str | None) -> dict[str, Any]:
    """The strategy parameters a query string carries as JSON text (absent: none)."""
    if text is None or not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidRequestError(f"params must be a JSON object: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"params must be a JSON object, got {type(value).__name__}")
    return value


def bot_backtest_params(
    *,
    strategy: str,
    symbol: str,
    start_date: str | None,
    end_date: str | None,
    initial_capital: float,
    params: Mapping[str, Any] | None,
    timeframe: str | None = None,
) -> dict[str, Any]:
    """The ``backtest`` job's parameters (``BacktestQuery`` fields) of a client's request: ``model_path``
    is the model's name, and a trading setting the strategy does not take itself (``position_size``
    of ``sma_cross``) is the backtest's."""
    declared = {p.name for p in get_strategy(strategy).params}
    strategy_params: dict[str, Any] = {}
    trading: dict[str, Any] = {}
    for key, value in (params or {}).items():
        name = _PARAM_SPELLINGS.get(key, key)
        if name not in declared and name in TRADING_FIELDS and name != "initial_capital":
            trading[name] = value
        else:
            strategy_params[name] = value
    query: dict[str, Any] = {
        "symbol": symbol,
        "strategy": strategy,
        "params": strategy_params,
        "initial_capital": initial_capital,
        **trading,
    }
    optional = {"start_date": start_date, "end_date": end_date, "timeframe": timeframe}
    return {**query, **{k: v for k, v in optional.items() if v is not None}}


def submit_bot_backtest(queue: JobQueue, params: dict[str, Any], owner: str | None) -> JobInfo:
    """Queue the backtest after every check the ``backtest`` job kind makes (bad input queues nothing)."""
    return queue.submit(BACKTEST_KIND, params, owner)


def backtest_started(info: JobInfo) -> dict[str, Any]:
    """The answer to a run request: queued (with its position) or already running."""
    if info.status == "queued":
        return {
            "status": "queued",
            "backtest_id": info.id,
            "task_id": info.id,
            "queue_position": info.queue_position,
            "reason": info.reason,
            "message": info.message,
        }
    return {
        "status": info.status,
        "backtest_id": info.id,
        "task_id": info.id,
        "message": "Backtest started in background. Check Status Center for progress.",
    }


def _iso(value: Any) -> str | None:
    """A job's date as ``2025-01-01T00:00:00Z`` (a date without a zone is UTC's)."""
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def backtest_record(info: JobInfo) -> dict[str, Any]:
    """A backtest job as the clients' record (pairs written ``ETH_USDT``): ``status`` is ``success``
    for a completed run (with its ``performance`` and ``trading`` blocks, and beside them the
    ``benchmark`` and ``significance`` blocks of the ``/api/v1`` answer), ``failed`` with its
    ``error``, else the job's status."""
    p = info.params
    record: dict[str, Any] = {
        "id": info.id,
        "status": "success" if info.status == "completed" else info.status,
        "strategy": p.get("strategy") or "ml_predictive",
        "symbol": parse_symbol(str(p.get("symbol"))).name.replace("/", "_"),
        "timeframe": p.get("timeframe", "1d"),
        "start_date": _iso(p.get("start_date")),
        "end_date": _iso(p.get("end_date")),
        "initial_capital": p.get("initial_capital"),
        "created_at": info.as_dict()["created_at"],
    }
    if info.status == "completed" and info.result is not None:
        metrics = info.result.get("metrics", {})
        record["performance"] = {k: metrics.get(k) for k in PERFORMANCE_FIELDS}
        record["trading"] = {k: metrics.get(m) for k, m in TRADING_BLOCK.items()}
        record |= {k: info.result[k] for k in HONEST_BLOCKS if k in info.result}
    elif info.status in ("failed", "cancelled"):
        record["error"] = info.error or f"the backtest was {info.status}"
    return record


def bot_backtests(queue: JobQueue, caller: Requester | None, limit: int = 100) -> list[dict[str, Any]]:
    """The caller's backtests, newest first (an admin's: everyone's; an anonymous caller's: none)."""
    if caller is None:
        return []
    return [backtest_record(info) for info in queue.list_jobs(caller, kind=BACKTEST_KIND, limit=limit)]


def visible_backtest(queue: JobQueue, backtest_id: str, caller: Requester | None) -> JobInfo:
    """The backtest job ``backtest_id`` if the caller may see it; someone else's is unknown too."""
    unknown = DataNotFoundError(f"no backtest with id {backtest_id!r}")
    try:
        info = queue.info(backtest_id)
    except DataNotFoundError:
        raise unknown from None
    mine = caller is not None and (caller.is_admin or info.user_id == caller.id)
    if info.kind != BACKTEST_KIND or not mine:
        raise unknown
    return info


def bot_backtest(queue: JobQueue, backtest_id: str, caller: Requester | None) -> dict[str, Any]:
    return backtest_record(visible_backtest(queue, backtest_id, caller))
