"""N-step OHLC forecasts of a symbol (``GET /api/predictions/``, its stream and its job kind): which
``multi_ohlc`` model serves a symbol and timeframe, when that model is too old, training it, and its
forecast as prices per step.

A forecaster is named ``{SYMBOL}_{timeframe}_{n}steps_multi_ohlc`` with pairs written ``BTC_USDT``.
It is retrained when older than its timeframe's age limit: 2 days below an hour, 7 days below a
day, 30 days for daily bars and longer. How training runs (at once on the caller's thread, or inside
a job) is the caller's: :func:`forecast` takes a ``train`` function.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erf  # type: ignore[import-untyped]

from pipelines.app.train import TrainQuery, plan_query
from pipelines.data.limits import check_bar_span, days_for_bars
from pipelines.data.symbols import Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.models.summaries import ModelSummary
from pipelines.prediction import Predictor
from pipelines.prediction.results import Prediction, json_float
from pipelines.prediction.signals import SignalRule
from pipelines.settings import Settings

__all__ = [
    "MAX_DAYS_HISTORY",
    "MAX_STEPS",
    "ForecastQuery",
    "Progress",
    "age_limit_days",
    "bot_symbol",
    "find_forecaster",
    "forecast",
    "forecast_body",
    "forecaster_name",
    "forecaster_training",
    "smoothness_score",
]

MAX_STEPS = 500
MAX_DAYS_HISTORY = 3650
MIN_TRAINING_BARS = 1000  # rows an automatic training learns from, beyond warm-up and embargo
_KIND = "multi_ohlc"
_NAME = re.compile(r"^(?P<symbol>.+)_(?P<timeframe>[0-9a-z]+)_(?P<steps>\d+)steps_multi_ohlc$")
_SQRT2 = math.sqrt(2.0)

# A progress line of a forecast: (step, title, message); steps are check, fetch, train, predict.
Progress = Callable[[str, str, str], None]


@dataclass(frozen=True, slots=True)
class ForecastQuery:
    symbol: str
    timeframe: str
    auto_train: bool = True
    force_retrain: bool = False


def bot_symbol(symbol: Symbol) -> str:
    """A symbol as the forecast routes write it: pairs ``BTC_USDT``, tickers as they are."""
    return symbol.name.replace("/", "_")


def forecaster_name(symbol: Symbol, timeframe: Timeframe, n_steps: int) -> str:
    return f"{bot_symbol(symbol)}_{timeframe.name}_{n_steps}steps_{_KIND}"


def age_limit_days(timeframe: Timeframe) -> float:
    """How old a forecaster of ``timeframe`` may get before it is retrained."""
    if timeframe.seconds < 3600:
        return 2.0
    if timeframe.seconds < 86_400:
        return 7.0
    return 30.0


def _whole(value: Any, name: str, low: int, high: int, hint: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidRequestError(f"{name} must be a whole number from {low} to {high}{hint}, got {value!r}")
    return int(value)


def forecaster_training(
    settings: Settings, symbol: str, timeframe: str, n_steps: Any, days_history: Any
) -> TrainQuery:
    """The training of ``{SYMBOL}_{timeframe}_{n_steps}steps_multi_ohlc`` on the last ``days_history``
    days of bars (None: :func:`history_days`), checked completely (the model's parameters and the
    bars limit included)."""
    steps = _whole(n_steps, "n_steps_ahead", 1, MAX_STEPS, " (bars ahead to forecast)")
    sym, tf = parse_symbol(symbol), parse_timeframe(timeframe)
    if days_history is None:
        days_history = history_days(settings, sym, tf, steps)
    days = _whole(days_history, "days_history", 1, MAX_DAYS_HISTORY)
    end = pd.Timestamp.now(tz="UTC").floor("min")
    start = end - pd.Timedelta(days=days)
    check_bar_span(settings, tf, start, end, crypto=sym.is_crypto, names=(f"days_history {days}: from", "to"))
    query = TrainQuery(
        model_type=_KIND,
        model_name=forecaster_name(sym, tf, steps),
        symbol=sym.name,
        timeframe=tf.name,
        start_date=start.isoformat(),
        end_date=end.isoformat(),
        parameters={**settings.forecast.forecast_params, "n_steps": steps},
    )
    plan_query(settings, query)
    return query


def history_days(settings: Settings, symbol: Symbol, timeframe: Timeframe, n_steps: int) -> int:
    """Days of bars an automatic training reads: the configured ``forecast_days_history``, raised so
    that they hold the indicators' warm-up, an embargo and a validation tail of ``n_steps`` each and
    ``MIN_TRAINING_BARS`` rows to learn from (30 days of hourly bars cannot train 300 steps ahead)."""
    needed = days_for_bars(timeframe, MIN_TRAINING_BARS + 3 * n_steps, crypto=symbol.is_crypto)
    by_limit = days_for_bars(timeframe, settings.limits.max_bars_per_request - 2, crypto=symbol.is_crypto)
    return min(max(settings.forecast.forecast_days_history, needed), by_limit - 1, MAX_DAYS_HISTORY)


def _steps_of(summary: ModelSummary) -> int | None:
    m = _NAME.fullmatch(summary.name)
    return None if m is None else int(m.group("steps"))


def find_forecaster(
    summaries: list[ModelSummary], symbol: Symbol, timeframe: Timeframe, preferred_steps: int
) -> ModelSummary | None:
    """The served forecaster of ``symbol`` at ``timeframe``: the one of ``preferred_steps`` when
    registered, else the most recently trained; None when there is none with a champion."""
    prefix = f"{bot_symbol(symbol)}_{timeframe.name}_"
    found = [
        s
        for s in summaries
        if s.kind == _KIND
        and s.champion_version is not None
        and s.name.startswith(prefix)
        and _steps_of(s) is not None
        and s.name == forecaster_name(symbol, timeframe, _steps_of(s) or 0)
    ]
    if not found:
        return None
    return max(found, key=lambda s: (_steps_of(s) == preferred_steps, s.shown_ms))


def _age_days(summary: ModelSummary, now: float) -> float:
    return max(0.0, now - summary.shown_ms / 1000) / 86_400


def smoothness_score(path: np.ndarray) -> float:
    """1 for a straight path, towards 0 as it zigzags: 1 / (1 + sum |second differences| / sum |first
    differences|) of the prices (1 when the path is flat)."""
    first = np.diff(path)
    moved = float(np.abs(first).sum())
    if moved == 0.0 or not math.isfinite(moved):
        return 1.0
    return 1.0 / (1.0 + float(np.abs(np.diff(first)).sum()) / moved)


def _numbers(values: np.ndarray, digits: int | None = None) -> list[float | None]:
    """``values`` as JSON numbers (NaN and infinities as None), rounded to ``digits`` when given."""
    if digits is not None:
        values = np.round(values, digits)
    out: list[float | None] = values.tolist()
    if not np.isfinite(values).all():
        out = [v if v is not None and math.isfinite(v) else None for v in out]
    return out


def forecast_body(
    prediction: Prediction, rule: SignalRule, timeframe: Timeframe, *, trained: bool, age_days: float
) -> dict[str, Any]:
    """The answer of ``GET /api/predictions/``. Step k's ``confidence`` is the model's signal
    confidence of its return with the model's error scale grown as sqrt(k / n) (the error is
    calibrated at the last step, n)."""
    steps = prediction.forecast or ()
    close = prediction.current_price
    n = len(steps)
    ohlc = np.array([(s.open, s.high, s.low, s.close) for s in steps], dtype=np.float64).reshape(n, 4)
    k = np.arange(1, n + 1)
    err = rule.scale if rule.error_scale is None else rule.error_scale
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = ohlc[:, 3] / close
        spread = err * np.sqrt(k / max(n, 1)) * _SQRT2
        confidence = erf(np.abs(np.log(ratio)) / spread)
    last = np.datetime64(prediction.timestamp.removesuffix("Z"), "s")
    stamps = np.datetime_as_string(last + k * np.timedelta64(timeframe.seconds, "s")).tolist()
    columns = zip(
        k.tolist(),
        (k * timeframe.minutes).tolist(),
        *(_numbers(ohlc[:, j]) for j in range(4)),
        _numbers(ratio - 1.0),
        _numbers(confidence, 4),
        stamps,
        strict=True,
    )
    rows = [
        {
            "step": step,
            "minutes_ahead": minutes,
            "predicted_open": o,
            "predicted_high": h,
            "predicted_low": lo,
            "predicted_close": c,
            "predicted_return": r,
            "confidence": conf,
            "timestamp": stamp + "Z",
        }
        for step, minutes, o, h, lo, c, r, conf, stamp in columns
    ]
    return {
        "timestamp": prediction.timestamp,
        "current_price": json_float(close),
        "predictions": rows,
        "smoothness_score": round(smoothness_score(np.concatenate(([close], ohlc[:, 3]))), 4),
        "model_trained": trained,
        "model_name": prediction.model_name,
        "model_age_days": round(age_days, 2),
    }


def _say(progress: Progress | None, step: str, title: str, message: str) -> None:
    if progress is not None:
        progress(step, title, message)


def forecast(
    predictor: Predictor,
    query: ForecastQuery,
    train: Callable[[TrainQuery], None],
    *,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The next steps' OHLC of ``query.symbol``: from its forecaster, trained first (through
    ``train``) when there is none, it is past its age limit or ``force_retrain`` asks for it, and
    ``auto_train`` allows it. With no forecaster and ``auto_train`` false: DataNotFoundError."""
    settings = predictor.settings
    sym, tf = parse_symbol(query.symbol), parse_timeframe(query.timeframe)
    label = f"{bot_symbol(sym)} {tf.name}"
    _say(progress, "check", "Checking for model", f"Looking for a trained model of {label}...")
    summary = find_forecaster(predictor.resolver.summaries(), sym, tf, settings.forecast.forecast_steps)
    age = None if summary is None else _age_days(summary, time.time())
    limit = age_limit_days(tf)
    if summary is None:
        why = f"no forecaster of {label} is registered"
    elif query.force_retrain:
        why = f"{summary.name} is retrained on request"
    elif age is not None and age > limit:
        why = f"{summary.name} is {age:.1f} days old, over the {limit:g}-day limit of {tf.name} models"
    else:
        why = None
    if summary is None and not (query.auto_train or query.force_retrain):
        raise DataNotFoundError(f"{why}; ask with auto_train=true or train one with POST /api/models/train")
    _say(progress, "fetch", "Fetching market data", f"Loading the latest {label} bars...")
    trained = False
    if why is not None and (query.auto_train or query.force_retrain):
        steps = _steps_of(summary) if summary is not None else settings.forecast.forecast_steps
        plan = forecaster_training(settings, sym.name, tf.name, steps, None)
        _say(progress, "train", "Training model", f"Training {plan.model_name}: {why}")
        train(plan)
        predictor.reload(plan.model_name)
        summary = find_forecaster(predictor.resolver.summaries(refresh=True), sym, tf, steps or 0)
        if summary is None:
            raise DataNotFoundError(f"{plan.model_name} was trained but has no champion to serve")
        trained, age = True, 0.0
    elif summary is not None:
        _say(progress, "train", "Loading model", f"Using {summary.name} ({age or 0.0:.1f} days old)")
    if summary is None:  # unreachable: no model either raised above or was trained
        raise DataNotFoundError(f"no forecaster of {label} is registered")
    _say(progress, "predict", "Generating predictions", f"Forecasting {label} with {summary.name}...")
    prediction = predictor.predict(summary.name, sym.name, tf.name)
    rule = SignalRule.from_meta(predictor.registry.load(summary.name).meta)
    return forecast_body(prediction, rule, tf, trained=trained, age_days=age or 0.0)
