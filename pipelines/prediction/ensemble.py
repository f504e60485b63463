"""Request checks for batches and ensembles, and the weighted combination of model signals.

The ensemble signal is the weighted mean of the members' signals and its confidence the weighted mean
of their confidences; the recommendation applies the single-model thresholds to the ensemble signal.
Weights are checked (one per model, finite, >= 0, not all 0) and normalized to sum to 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Real

from pipelines.data.symbols import parse_symbol
from pipelines.errors import InvalidRequestError, InvalidSymbolError
from pipelines.prediction.results import EnsembleMember, EnsemblePrediction, Prediction
from pipelines.prediction.signals import recommend

__all__ = ["MAX_BATCH_SYMBOLS", "MAX_ENSEMBLE_MODELS", "ensemble_of", "normalize_weights", "validate_symbols"]

MAX_BATCH_SYMBOLS = 100
MAX_ENSEMBLE_MODELS = 20


def _names(values: object, what: str, limit: int) -> list[str]:
    if isinstance(values, str) or not isinstance(values, Sequence):
        raise InvalidRequestError(f"{what} must be a list of strings")
    if not values:
        raise InvalidRequestError(f"at least one of the {what} is required")
    if len(values) > limit:
        raise InvalidRequestError(f"at most {limit} {what} per request, got {len(values)}")
    if not all(isinstance(v, str) for v in values):
        raise InvalidRequestError(f"{what} must be a list of strings")
    return list(values)


def validate_symbols(symbols: Sequence[str], limit: int = MAX_BATCH_SYMBOLS) -> list[str]:
    """The batch's symbols: 1 to ``limit`` strings (``max_symbols_per_request``), none repeated
    (``BTC_USDT`` repeats ``BTC/USDT``). A malformed symbol is not rejected here: the batch reports it
    as that symbol's error."""
    names = _names(symbols, "symbols", limit)
    seen: dict[str, str] = {}
    repeated: list[str] = []
    for raw in names:
        try:
            key = parse_symbol(raw).name
        except InvalidSymbolError:
            key = raw.strip().upper()
        if key in seen:
            repeated.append(raw if raw == seen[key] else f"{raw} (= {seen[key]})")
        seen.setdefault(key, raw)
    if repeated:
        raise InvalidRequestError(f"symbols must be distinct; repeated: {', '.join(repeated)}")
    return names


def normalize_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    """Weights that sum to 1; equal ones when ``weights`` is None."""
    if weights is None:
        return [1.0 / count] * count
    if isinstance(weights, str) or not isinstance(weights, Sequence):
        raise InvalidRequestError("weights must be a list of numbers")
    if len(weights) != count:
        raise InvalidRequestError(
            f"weights must give one weight per model: {count} models, {len(weights)} weights"
        )
    values: list[float] = []
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, Real) or not math.isfinite(float(w)) or float(w) < 0.0:
            raise InvalidRequestError(f"weight {i + 1} must be a finite number >= 0, got {w!r}")
        values.append(float(w))
    total = math.fsum(values)
    if total <= 0.0:
        raise InvalidRequestError("weights must not all be 0")
    return [v / total for v in values]


def ensemble_of(
    predict: Callable[[str, str | None], Prediction],
    model_names: Sequence[str],
    symbol: str | None,
    weights: Sequence[float] | None,
) -> EnsemblePrediction:
    """Predict ``symbol`` with every model (``predict(name, symbol)``) and combine the signals."""
    names = _names(model_names, "models", MAX_ENSEMBLE_MODELS)
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise InvalidRequestError(f"models must be distinct; repeated: {', '.join(repeated)}")
    share = normalize_weights(weights, len(names))
    if symbol is not None:
        parse_symbol(symbol)
    first = predict(names[0], symbol)
    target = first.symbol
    predictions = [first, *(predict(name, target) for name in names[1:])]
    members = tuple(
        EnsembleMember(p.model_name, p.signal, p.confidence, w, w * p.signal)
        for p, w in zip(predictions, share, strict=True)
    )
    signal = math.fsum(m.weighted_signal for m in members)
    confidence = math.fsum(m.weight * m.confidence for m in members)
    latest = max(predictions, key=lambda p: p.timestamp)
    return EnsemblePrediction(
        models_used=tuple(p.model_name for p in predictions),
        symbol=target,
        timestamp=latest.timestamp,
        ensemble_signal=signal,
        ensemble_confidence=confidence,
        individual_predictions=members,
        recommendation=recommend(signal),
        current_price=latest.current_price,
    )
