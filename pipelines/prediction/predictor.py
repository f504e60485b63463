"""Predictions of registered models for the API: one symbol, a batch, an ensemble, a signal history.

``Predictor(settings, registry)`` owns no global state; the serving app (or a test) makes one
and shares it between threads. A model predicts any symbol of its own asset class at its own
timeframe, on the latest cached feature rows (see ``features.py``); a symbol with no stored data is
ingested first from its configured source. The model itself is called by a ``ModelCaller`` (in
this process by default; an inference service when one is configured). The cached path of
``predict`` is numpy and scalar math only: the model's columns picked from a cached matrix, the
model called on that row, and the signal rules applied to one float (``SignalRule.one``). The cached
features are those the loaded models read, not the whole feature set (see ``inputs.py``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.data.store import ParquetStore
from pipelines.data.symbols import AssetClass, Symbol, parse_symbol
from pipelines.data.timeframes import Timeframe, parse_timeframe
from pipelines.errors import DataNotFoundError, InvalidRequestError, ModelError, TradeforgeError
from pipelines.features import get_feature_set
from pipelines.features.indicators import FeatureSet
from pipelines.models.base import FloatMatrix
from pipelines.models.registry import LoadedModel, ModelRegistry
from pipelines.prediction.calls import InProcessCaller, ModelCaller
from pipelines.prediction.ensemble import ensemble_of, validate_symbols
from pipelines.prediction.features import FeatureCache, FeatureRows
from pipelines.prediction.indicators import IndicatorColumns, logged_columns
from pipelines.prediction.inputs import InputSets, ModelInputs, features_read
from pipelines.prediction.memo import AnswerMemo, Outcome
from pipelines.prediction.resolve import ModelResolver
from pipelines.prediction.results import (
    BatchError,
    BatchPrediction,
    EnsemblePrediction,
    ForecastStep,
    Prediction,
    SignalHistory,
    SignalPoint,
)
from pipelines.prediction.signals import SignalRule
from pipelines.settings import Settings

__all__ = ["MAX_HISTORY_DAYS", "Predictor"]

MAX_HISTORY_DAYS = 3650
_MAX_SYMBOLS = 10_000  # parsed symbol spellings held (a bound, not an expected number)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What serving one registered version needs, derived once from its metadata."""

    loaded: LoadedModel
    symbol: Symbol
    timeframe: Timeframe
    feature_set: FeatureSet  # the registered set the model was trained on
    inputs: ModelInputs  # its input rows from the computed features
    rule: SignalRule
    context_rows: int
    output: int | None  # column of the predicted return in a multi-output prediction
    n_steps: int  # bars a multi_ohlc model forecasts, else 0
    horizon: int  # bars ahead of the predicted return (a multi_ohlc model's last step)


def _plan(loaded: LoadedModel) -> _Plan:
    meta = loaded.meta
    feature_set = get_feature_set(meta.feature_set)
    produced = set(feature_set.columns)
    missing = [n for n in meta.feature_names if n not in produced]
    if missing:
        raise ModelError(
            f"model {loaded.name!r} v{loaded.version} uses features that feature set {meta.feature_set!r} "
            f"does not produce: {', '.join(missing[:5])}"
        )
    output, n_steps = None, 0
    if len(meta.outputs) > 1:
        n_steps = len(meta.outputs) // 4
        try:
            output = meta.outputs.index(f"close_t+{n_steps}")
        except ValueError:
            raise ModelError(
                f"model {loaded.name!r} has outputs {meta.outputs[:4]}...; no final close"
            ) from None
    return _Plan(
        loaded=loaded,
        symbol=parse_symbol(meta.symbol),
        timeframe=parse_timeframe(meta.timeframe),
        feature_set=feature_set,
        inputs=ModelInputs(meta.feature_names, features_read(loaded.model)),
        rule=SignalRule.from_meta(meta),
        context_rows=max(1, int(meta.context_rows)),
        output=output,
        n_steps=n_steps,
        horizon=n_steps or int(meta.horizon),
    )


def _call(caller: ModelCaller, plan: _Plan, x: FloatMatrix) -> FloatMatrix:
    try:
        out: FloatMatrix = caller(plan.loaded, x)
    except TradeforgeError:
        raise
    except Exception as exc:
        raise ModelError(
            f"model {plan.loaded.name!r} v{plan.loaded.version} failed to predict: {exc}"
        ) from exc
    return out


class Predictor:
    def __init__(
        self,
        settings: Settings,
        registry: ModelRegistry,
        *,
        store: ParquetStore | None = None,
        resolver_ttl: float = 30.0,
        caller: ModelCaller | None = None,
    ) -> None:
        self.settings = settings
        self.caller: ModelCaller = caller or InProcessCaller()  # where models predict
        self.registry = registry
        self.store = store or ParquetStore.open(settings)
        self.features = FeatureCache(settings, self.store)
        self.inputs = InputSets(self.features.forget)  # the features predictions compute
        self.resolver = ModelResolver(registry.tracker, ttl=resolver_ttl)
        self._plans: dict[tuple[str, str], _Plan] = {}
        self._indicators: dict[str, IndicatorColumns] = {}  # by computed feature set name
        self._memo = AnswerMemo()  # the last outcome per model version and series
        self._symbols: dict[str, Symbol] = {}  # requested spellings, parsed
        self._lock = threading.Lock()

    def close(self) -> None:
        """Releases the model caller's connections (an inference service's)."""
        self.caller.close()

    # -- models ----------------------------------------------------------------------------------
    def resolve_model(self, model: str, symbol: str | None = None, timeframe: str | None = None) -> str:
        """The registered model that ``model`` names: itself when registered, else the best model
        of the kind ``model`` for ``symbol`` and ``timeframe`` (see ``resolve.ModelResolver``)."""
        if isinstance(model, str) and any(m.name == model for m in self.registry.loaded()):
            return model
        return self.resolver.resolve(model, symbol, timeframe)

    def reload(self, model_name: str | None = None) -> None:
        """Forget loaded versions and aliases (of one model or all): the next call reloads them."""
        self.registry.reload(model_name)
        self.resolver.invalidate()
        self._memo.clear()
        with self._lock:
            for key in [k for k in self._plans if model_name is None or k[0] == model_name]:
                del self._plans[key]

    def invalidate(self, symbol: str, timeframe: str | None = None) -> int:
        """Drop cached feature rows of ``symbol`` (new bars arrived); returns how many entries."""
        return self.features.invalidate(symbol, timeframe)

    def extend(self, symbol: str, timeframe: str, bars: pd.DataFrame, source: str | None = None) -> int:
        """New ``bars`` of ``symbol`` were stored (a live feed): see ``FeatureCache.extend``."""
        return self.features.extend(symbol, timeframe, bars, source)

    def _model(self, model_name: str, ref: str) -> _Plan:
        loaded = self.registry.load(model_name, ref)
        plan = self._plans.get((loaded.name, loaded.version))
        if plan is None or plan.loaded is not loaded:
            plan = _plan(loaded)
            logged = logged_columns(plan.feature_set.columns)  # recorded with each prediction
            self.inputs.widen(plan.feature_set, plan.inputs.reads.union(logged))
            with self._lock:
                self._plans[(loaded.name, loaded.version)] = plan
        return plan

    def _target(self, plan: _Plan, symbol: str | None, timeframe: str | None) -> Symbol:
        name = plan.loaded.name
        if timeframe is not None and parse_timeframe(timeframe).name != plan.timeframe.name:
            raise InvalidRequestError(
                f"model {name!r} predicts {plan.timeframe.name} bars, not {timeframe!r}: ask for "
                f"timeframe {plan.timeframe.name} or use a model trained on {timeframe}"
            )
        if symbol is None:
            return plan.symbol
        sym = self._symbols.get(symbol)
        if sym is None:  # parsed once per spelling (a bad one raises here every time)
            sym = parse_symbol(symbol)
            if len(self._symbols) >= _MAX_SYMBOLS:
                self._symbols.clear()
            self._symbols[symbol] = sym
        if sym.asset_class is not plan.symbol.asset_class:
            kind = "crypto" if plan.symbol.asset_class is AssetClass.CRYPTO else "stock"
            raise InvalidRequestError(
                f"model {name!r} was trained on {kind} data ({plan.symbol.name}) and predicts only "
                f"{kind} symbols, not {sym.name}"
            )
        return sym

    def ready(
        self, model_name: str, symbol: str | None = None, timeframe: str | None = None, ref: str = "champion"
    ) -> bool:
        """Whether ``predict`` would answer from memory (model loaded, feature row fresh): cheap
        enough to call on an event loop; otherwise run it in a worker thread."""
        loaded = self.registry.cached(model_name, ref)
        plan = None if loaded is None else self._plans.get((loaded.name, loaded.version))
        if plan is None:
            return False
        try:
            sym = self._target(plan, symbol, timeframe)
        except TradeforgeError:
            return True  # bad input: answered at once with its error
        return self.features.fresh(sym, plan.timeframe, self.inputs.get(plan.feature_set), plan.context_rows)

    # -- one prediction --------------------------------------------------------------------------
    def predict(
        self,
        model_name: str,
        symbol: str | None = None,
        timeframe: str | None = None,
        ref: str = "champion",
        source: str | None = None,
    ) -> Prediction:
        """The model's prediction for the latest bar of ``symbol`` (default: its own symbol) from
        ``source`` (default: the one configured for the symbol; a live replay names its own)."""
        began = time.perf_counter()
        plan = self._model(model_name, ref)
        sym = self._target(plan, symbol, timeframe)
        meta = plan.loaded.meta
        computed = self.inputs.get(plan.feature_set)
        rows = self.features.rows(sym, plan.timeframe, computed, plan.context_rows, source)
        key = (plan.loaded.name, plan.loaded.version, rows.source, sym.name)
        o = self._memo.get(key, plan, rows.matrix, computed)
        if o is None:
            o = self._outcome(plan, sym, rows, computed)
            self._memo.put(key, plan, rows.matrix, computed, o)
        return Prediction(
            model_name=plan.loaded.name,
            model_version=plan.loaded.version,
            model_kind=meta.kind,
            symbol=sym.name,
            timeframe=plan.timeframe.name,
            timestamp=rows.timestamp,
            latest_date=rows.latest_date,
            current_price=rows.last_close,
            predicted_return=o.predicted,
            value=o.value,
            direction=o.direction,
            signal=o.signal,
            confidence=o.confidence,
            recommendation=o.recommendation,
            horizon=plan.horizon,
            features_used=len(meta.feature_names),
            data_points=rows.data_points,
            source=rows.source,
            computation_time_ms=round((time.perf_counter() - began) * 1000.0, 3),
            forecast=o.forecast,
            data_version=rows.version,
            indicators=o.indicators,
        )

    def _outcome(self, plan: _Plan, sym: Symbol, rows: FeatureRows, computed: FeatureSet) -> Outcome:
        """The model called on the latest rows, and the signal rules applied to its output."""
        x = plan.inputs.gather(rows.matrix[-plan.context_rows :], computed)
        if x.shape[0] < plan.context_rows:
            raise DataNotFoundError(
                f"model {plan.loaded.name!r} needs {plan.context_rows} consecutive bars; {sym.name} has "
                f"{x.shape[0]} stored"
            )
        out = _call(self.caller, plan, x)[-1]
        forecast = None
        if plan.output is None:
            predicted = float(out)
        else:
            predicted = float(out[plan.output])
            forecast = self._forecast(out, rows.last_close, plan.n_steps)
        value, direction, signal, confidence, recommendation = plan.rule.one(predicted, rows.last_close)
        indicators = self._indicator_columns(computed).values(rows.matrix[-1], rows.last_close)
        return Outcome(predicted, forecast, value, direction, signal, confidence, recommendation, indicators)

    def _indicator_columns(self, computed: FeatureSet) -> IndicatorColumns:
        columns = self._indicators.get(computed.name)
        if columns is None:
            columns = self._indicators[computed.name] = IndicatorColumns(computed.columns)
        return columns

    @staticmethod
    def _forecast(out: FloatMatrix, close: float, n_steps: int) -> tuple[ForecastStep, ...]:
        with np.errstate(over="ignore"):
            prices = close * np.exp(out[: 4 * n_steps].reshape(n_steps, 4))
        return tuple(
            ForecastStep(k + 1, float(o), float(h), float(lo), float(c))
            for k, (o, h, lo, c) in enumerate(prices.tolist())
        )

    def feature_row(
        self, model_name: str, symbol: str | None = None, timeframe: str | None = None, ref: str = "champion"
    ) -> dict[str, Any]:
        """The features the model sees for the latest bar of ``symbol``, by name."""
        plan = self._model(model_name, ref)
        sym = self._target(plan, symbol, timeframe)
        # every feature, also those the model never reads (predictions leave them out)
        rows: FeatureRows = self.features.rows(sym, plan.timeframe, plan.feature_set, 1)
        row = plan.inputs.gather(rows.matrix[-1:], plan.feature_set)[0]
        values = [None if not math.isfinite(v) else v for v in row.tolist()]
        return {
            "symbol": sym.name,
            "timestamp": rows.timestamp,
            "features": dict(zip(plan.loaded.meta.feature_names, values, strict=True)),
        }

    # -- many predictions ------------------------------------------------------------------------
    def predict_batch(
        self, model_name: str, symbols: Sequence[str], ref: str = "champion", timeframe: str | None = None
    ) -> BatchPrediction:
        """One prediction per symbol; a symbol that fails is reported with its error code and message."""
        checked = validate_symbols(symbols, self.settings.limits.max_symbols_per_request)
        plan = self._model(model_name, ref)
        self._target(plan, None, timeframe)
        done: list[Prediction] = []
        errors: list[BatchError] = []
        for raw in checked:
            try:
                done.append(self.predict(plan.loaded.name, raw, timeframe, ref))
            except TradeforgeError as exc:
                errors.append(BatchError(raw, exc.code, str(exc)))
        return BatchPrediction(plan.loaded.name, tuple(done), tuple(errors))

    def predict_ensemble(
        self,
        model_names: Sequence[str],
        symbol: str | None = None,
        weights: Sequence[float] | None = None,
        ref: str = "champion",
    ) -> EnsemblePrediction:
        """Weighted signals of several models for one symbol (default: the first model's symbol)."""
        return ensemble_of(lambda name, sym: self.predict(name, sym, None, ref), model_names, symbol, weights)

    def signal_history(
        self, model_name: str, symbol: str | None = None, days: int = 30, ref: str = "champion"
    ) -> SignalHistory:
        """The model's signal on each of the last ``days`` bars, oldest first (one vectorized predict)."""
        if (
            isinstance(days, bool)
            or not isinstance(days, int | np.integer)
            or not 1 <= days <= MAX_HISTORY_DAYS
        ):
            raise InvalidRequestError(
                f"days must be a whole number from 1 to {MAX_HISTORY_DAYS}, got {days!r}"
            )
        plan = self._model(model_name, ref)
        sym = self._target(plan, symbol, None)
        computed = self.inputs.get(plan.feature_set)
        table = self.features.table(sym, plan.timeframe, computed)
        keep = min(int(days), len(table.timestamps))
        take = min(len(table.timestamps), keep + plan.context_rows - 1)
        x = plan.inputs.gather(table.matrix[-take:], computed)
        out = _call(self.caller, plan, x)
        predicted = (out if plan.output is None else out[:, plan.output])[-keep:]
        close = table.close[-keep:]
        signals = plan.rule.many(predicted, close)
        stamps = pd.DatetimeIndex(table.timestamps[-keep:], tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")
        points = tuple(
            SignalPoint(t, p, r, s, c, rec)
            for t, p, r, s, c, rec in zip(
                stamps,
                close.tolist(),
                signals["predicted_return"].tolist(),
                signals["signal"].tolist(),
                signals["confidence"].tolist(),
                signals["recommendation"].tolist(),
                strict=True,
            )
        )
        return SignalHistory(
            plan.loaded.name,
            plan.loaded.version,
            sym.name,
            plan.timeframe.name,
            table.source,
            int(days),
            points,
        )
