"""The model context of live ``ml_predictive`` strategies: registered models' signals bar by bar.

:meth:`LiveModels.bind` checks, when a strategy is activated, that its model is registered and
forecasts returns (refused with a 400 otherwise, before anything runs) and gives each of the
strategy's runners a :class:`LiveSignal`. On each bar the runner asks it for the model's signal over
its window: the model (the version its alias names, as the backtest's ``RegistrySignals`` picks it,
from the shared registry's cache of loaded models) predicts on its features over the series' whole
stored history, updated incrementally per bar (see ``live_features``), and the backtest's own
``model_outputs`` derives the signal that ``ml_predictive`` thresholds, so the runner trades what
the backtest of the same bars trades. The prediction of the newest bar is
logged once in the predictions log with its confidence, stamped with the bar's close in market time
(the time the paper ledger stamps the trade it decides with), so a trade the strategy opens shows it
as ``ml_confidence``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.app.live_features import LiveFeatures, Outputs
from pipelines.app.runner_bars import RunnerBars
from pipelines.backtest.strategies import get_strategy
from pipelines.data.limits import feature_history_start
from pipelines.data.symbols import parse_symbol
from pipelines.data.timeframes import parse_timeframe
from pipelines.db import Database, PendingLog, PredictionLog
from pipelines.db.logs import add_many
from pipelines.errors import InvalidRequestError, TradeforgeError
from pipelines.features import get_feature_set
from pipelines.features.inputs import utc_nanos
from pipelines.settings import Settings
from pipelines.trading.runner import RunnerConfig

if TYPE_CHECKING:  # the registry pulls in mlflow, seconds to import
    from pipelines.db.strategy_models import LiveStrategy
    from pipelines.models.registry import LoadedModel, ModelRegistry

__all__ = ["LiveModels", "LiveSignal"]

log = logging.getLogger("tradeforge.trading.strategies")

FloatArray = npt.NDArray[np.float64]
LogSink = Callable[[PendingLog], object]


class LiveModels:
    """The registered models live strategies read, and where their predictions are logged.

    ``registry`` is the app's shared one (its loaded models are cached); None: one is opened on the
    first model-driven strategy. ``log`` takes a prediction log row (the app's buffered writer);
    None: written at once."""

    def __init__(
        self,
        settings: Settings,
        database: Database,
        *,
        registry: ModelRegistry | None = None,
        log: LogSink | None = None,
        ref: str = "champion",
    ) -> None:
        self.settings = settings
        self.database = database
        self._registry = registry
        self.sink: LogSink = log or self._write
        self.ref = ref
        self._history: RunnerBars | None = None

    @property
    def history(self) -> RunnerBars:
        """The stored bars a runner's features start from (the strategies' own reader, when set)."""
        if self._history is None:
            self._history = RunnerBars(self.settings)
        return self._history

    @history.setter
    def history(self, bars: RunnerBars) -> None:
        self._history = bars

    def stored_before(
        self, symbol: str, timeframe: str, first: pd.Timestamp, last: pd.Timestamp
    ) -> pd.DataFrame:
        """The stored bars of (``symbol``, ``timeframe``) before ``first``, from where the features of
        a series ending at ``last`` start (as serving and training start it)."""
        crypto = parse_symbol(symbol).is_crypto
        start = feature_history_start(self.settings, timeframe, last, crypto=crypto)
        if start >= first:
            return pd.DataFrame()
        frame = self.history.read(symbol, timeframe, start)
        return frame[frame["timestamp"] < first] if len(frame) else frame

    @property
    def registry(self) -> ModelRegistry:
        if self._registry is None:
            from pipelines.models.registry import ModelRegistry
            from pipelines.models.tracking import open_tracker

            self._registry = ModelRegistry(open_tracker(self.settings), self.settings.models_cache_dir)
        return self._registry

    def load(self, model_name: str) -> LoadedModel:
        """The model ``ml_predictive`` would trade on; a 400 naming the problem when there is none
        or it forecasts price paths rather than returns."""
        try:
            loaded = self.registry.load(model_name, self.ref)
        except TradeforgeError as exc:
            raise InvalidRequestError(f"ml_predictive cannot run on model {model_name!r}: {exc}") from None
        meta = loaded.meta
        if len(meta.outputs) != 1:
            raise InvalidRequestError(
                f"model {model_name!r} ({meta.kind}) forecasts {len(meta.outputs)} outputs (price paths); "
                "ml_predictive needs a model that forecasts returns"
            )
        try:
            get_feature_set(meta.feature_set)
        except TradeforgeError as exc:
            raise InvalidRequestError(f"model {model_name!r} cannot be served: {exc}") from None
        return loaded

    def bind(self, strategy: LiveStrategy, configs: list[RunnerConfig]) -> list[RunnerConfig]:
        """``configs`` of ``strategy``, each given its model context when the strategy needs one
        (its model checked first: see :meth:`load`)."""
        if not configs or not get_strategy(configs[0].strategy).needs_context:
            return configs
        self.load(str(configs[0].params.get("model_name")))
        timeframe = str(strategy.params.get("timeframe", "1m"))
        return [dataclasses.replace(c, context=LiveSignal(self, c, timeframe)) for c in configs]

    def _write(self, row: PendingLog) -> None:
        with self.database.transaction() as session:
            add_many(session, [row])


class LiveSignal:
    """One runner's model context (a ``StrategyContext``): the model's signals over the bars it is
    given, the newest one logged (once per bar)."""

    def __init__(self, models: LiveModels, config: RunnerConfig, timeframe: str) -> None:
        self.models = models
        self.config = config
        self.timeframe = timeframe
        self.logged_ts: int | None = None  # the newest bar whose prediction is logged
        stored = models.stored_before
        self.features = LiveFeatures(lambda first, last: stored(config.symbol, timeframe, first, last))

    def model_signal(self, model_name: str, bars: pd.DataFrame) -> FloatArray:
        """The signal per bar; NaN (no position) while the model cannot be loaded (deleted since)."""
        try:
            loaded = self.models.load(model_name)
        except InvalidRequestError as exc:
            log.warning("strategy %s has no model to trade on: %s", self.config.strategy_id, exc)
            return np.full(len(bars), np.nan)
        if not len(bars):
            return np.empty(0)
        out = self.features.outputs(loaded, bars)
        self._log(loaded, bars, out)
        signal: FloatArray = out["signal"]
        return signal

    def _log(self, loaded: LoadedModel, bars: pd.DataFrame, out: Outputs) -> None:
        last = int(utc_nanos(bars["timestamp"].iloc[-1:])[0])
        confidence = float(out["confidence"][-1])
        if last == self.logged_ts or not math.isfinite(confidence):
            return
        self.logged_ts = last
        cfg = self.config
        fields = {
            "user_id": cfg.user_id,
            "endpoint": f"strategy/{cfg.strategy_id}",
            "model_name": loaded.name,
            "model_version": str(loaded.version),
            "symbol": cfg.symbol,
            "timeframe": self.timeframe,
            "created_at": self._close_of(last),
            **{k: _scalar(out[k][-1]) for k in ("signal", "confidence", "predicted_return", "value")},
            **{k: str(out[k][-1]) for k in ("direction", "recommendation")},
            "current_price": float(bars["close"].iloc[-1]),
        }
        try:
            self.models.sink((PredictionLog, fields))
        except Exception:  # the log must never stop the strategy from trading
            log.exception("logging the prediction of strategy %s failed", cfg.strategy_id)

    def _close_of(self, ts_ns: int) -> dt.datetime:
        """When the bar opened at ``ts_ns`` closed (market time, as the trades it decides are stamped):
        the prediction was made then, at or before the next bar's open where its order fills."""
        opened = pd.Timestamp(ts_ns, tz="UTC")
        tf = parse_timeframe(self.timeframe)
        step = pd.offsets.MonthBegin(1) if tf.name == "1mo" else pd.Timedelta(seconds=tf.seconds)
        closed: dt.datetime = (opened + step).to_pydatetime()
        return closed


def _scalar(value: Any) -> float | None:
    v = float(value)
    return v if math.isfinite(v) else None
