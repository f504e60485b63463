"""What the prediction service returns: frozen records whose ``as_dict()`` is JSON-safe (NaN -> None)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from pipelines.data.version import DataVersion

__all__ = [
    "BatchError",
    "BatchPrediction",
    "EnsembleMember",
    "EnsemblePrediction",
    "ForecastStep",
    "Prediction",
    "SignalHistory",
    "SignalPoint",
    "json_float",
]


def json_float(value: float | None) -> float | None:
    """``value`` as a JSON number: NaN and infinities become None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True, slots=True)
class ForecastStep:
    """One bar ahead of a ``multi_ohlc`` forecast, as prices."""

    step: int
    open: float
    high: float
    low: float
    close: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "open": json_float(self.open),
            "high": json_float(self.high),
            "low": json_float(self.low),
            "close": json_float(self.close),
        }


@dataclass(frozen=True, slots=True)
class Prediction:
    model_name: str
    model_version: str
    model_kind: str
    symbol: str
    timeframe: str
    timestamp: str  # ISO UTC of the latest bar
    latest_date: str
    current_price: float
    predicted_return: float  # log return over ``horizon`` bars
    value: float  # predicted price
    direction: str
    signal: float
    confidence: float
    recommendation: str
    horizon: int
    features_used: int
    data_points: int
    source: str
    computation_time_ms: float
    forecast: tuple[ForecastStep, ...] | None = None
    # The features' version (for the prediction log and MLflow; not part of the response shape).
    data_version: DataVersion | None = None
    # RSI, MACD and Bollinger position of the bar predicted on (for the prediction log; not answered).
    indicators: dict[str, float | None] | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "model_kind": self.model_kind,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "timestamp": self.timestamp,
            "latest_date": self.latest_date,
            "current_price": json_float(self.current_price),
            "predicted_return": json_float(self.predicted_return),
            "value": json_float(self.value),
            "direction": self.direction,
            "signal": json_float(self.signal),
            "confidence": json_float(self.confidence),
            "recommendation": self.recommendation,
            "horizon": self.horizon,
            "features_used": self.features_used,
            "data_points": self.data_points,
            "source": self.source,
            "computation_time_ms": self.computation_time_ms,
        }
        if self.forecast is not None:
            out["forecast"] = [step.as_dict() for step in self.forecast]
        return out


@dataclass(frozen=True, slots=True)
class BatchError:
    symbol: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "code": self.code, "message": self.message}


@dataclass(frozen=True, slots=True)
class BatchPrediction:
    model_name: str
    predictions: tuple[Prediction, ...]
    errors: tuple[BatchError, ...]

    def summary(self) -> dict[str, int]:
        recs = [p.recommendation for p in self.predictions]
        return {
            "total": len(self.predictions) + len(self.errors),
            "successful": len(self.predictions),
            "failed": len(self.errors),
            "buy_signals": recs.count("BUY"),
            "sell_signals": recs.count("SELL"),
            "hold_signals": recs.count("HOLD"),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "predictions": [p.as_dict() for p in self.predictions],
            "errors": [e.as_dict() for e in self.errors],
            "summary": self.summary(),
        }


@dataclass(frozen=True, slots=True)
class EnsembleMember:
    model_name: str
    signal: float
    confidence: float
    weight: float  # normalized: the weights sum to 1
    weighted_signal: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "signal": json_float(self.signal),
            "confidence": json_float(self.confidence),
            "weight": self.weight,
            "weighted_signal": json_float(self.weighted_signal),
        }


@dataclass(frozen=True, slots=True)
class EnsemblePrediction:
    models_used: tuple[str, ...]
    symbol: str
    timestamp: str
    ensemble_signal: float
    ensemble_confidence: float
    individual_predictions: tuple[EnsembleMember, ...]
    recommendation: str
    current_price: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "models_used": list(self.models_used),
            "symbol": self.symbol,
            "timestamp": self.timestamp,
            "ensemble_signal": json_float(self.ensemble_signal),
            "ensemble_confidence": json_float(self.ensemble_confidence),
            "individual_predictions": [m.as_dict() for m in self.individual_predictions],
            "recommendation": self.recommendation,
            "current_price": json_float(self.current_price),
        }


@dataclass(frozen=True, slots=True)
class SignalPoint:
    timestamp: str
    price: float
    predicted_return: float
    signal: float
    confidence: float
    recommendation: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "timestamp": self.timestamp,
            "price": json_float(self.price),
            "predicted_return": json_float(self.predicted_return),
            "signal": json_float(self.signal),
            "confidence": json_float(self.confidence),
            "recommendation": self.recommendation,
        }


@dataclass(frozen=True, slots=True)
class SignalHistory:
    model_name: str
    model_version: str
    symbol: str
    timeframe: str
    source: str
    days: int
    points: tuple[SignalPoint, ...]  # oldest first

    def as_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "source": self.source,
            "days": self.days,
            "count": len(self.points),
            "signals": [p.as_dict() for p in self.points],
        }
