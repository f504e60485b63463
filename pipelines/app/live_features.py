"""A live ``ml_predictive`` runner's model outputs, over the series' whole stored history, bar by bar.

The runner trades what the backtest of the same bars trades only if the model sees the backtest's
features, and some are cumulative (on-balance volume sums every bar since the series' start), so a
bar's row depends on every bar before it, not only on the runner's window. :class:`LiveFeatures`
reads the stored bars before the window once (from ``feature_history_start``, where training and
serving start a series) and then takes each new bar of the window; serving's ``FeatureStream``
computes the new bar's row from the indicator kernels' states, bit for bit the row the whole history
gives, in time that does not grow with it. The model predicts the new rows only (plus the context a
sequence model reads); the outputs of earlier bars are kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest.strategies.ml import input_outputs
from pipelines.features import get_feature_set
from pipelines.features.inputs import BarData
from pipelines.features.stream import FeatureStream, GrowingBars

if TYPE_CHECKING:  # the registry pulls in mlflow, seconds to import
    from pipelines.models.registry import LoadedModel

__all__ = ["LiveFeatures", "Outputs", "StoredBefore"]

Outputs = dict[str, npt.NDArray[Any]]
StoredBefore = Callable[
    [pd.Timestamp, pd.Timestamp], pd.DataFrame
]  # (first, last) -> stored bars before first


class LiveFeatures:
    """One runner's series: its bars since the history start, the feature stream over them, and the
    model outputs of its newest bars. ``stored_before(first, last)``: the stored bars of the series
    before ``first``, from where a series ending at ``last`` starts. Not thread-safe (one runner)."""

    def __init__(self, stored_before: StoredBefore) -> None:
        self.stored_before = stored_before
        self._bars: GrowingBars | None = None
        self._stream: FeatureStream | None = None
        self._model: tuple[str, str] | None = None  # (name, version) of the kept outputs
        self._out: Outputs = {}
        self._columns: tuple[tuple[str, str], npt.NDArray[np.intp]] | None = None  # the model's, by version
        self._end = 0  # history bars the kept outputs reach (the last kept row is bar _end - 1)
        self.seeds = 0  # how many times the history was read from the store

    def outputs(self, loaded: LoadedModel, bars: pd.DataFrame) -> Outputs:
        """``model_outputs`` of ``loaded`` for each of ``bars`` (the runner's window, not empty), its
        features computed over the whole history up to the window's last bar."""
        data = self._history(BarData.from_frame(bars))
        n, total = len(bars), len(data)
        kept = len(self._out["signal"]) if self._out else 0
        model = (loaded.name, loaded.version)
        if self._model == model and total - n <= self._end <= total and self._end - kept <= total - n:
            new = total - self._end
        else:
            new, kept, self._out = n, 0, {}
        if new:
            fresh = self._predict(loaded, data, new)
            if kept:
                fresh = {k: np.concatenate((self._out[k], v))[-n:] for k, v in fresh.items()}
            self._out, self._model, self._end = fresh, model, total
        return {k: v[-n:] for k, v in self._out.items()}

    def _predict(self, loaded: LoadedModel, data: BarData, new: int) -> Outputs:
        """The outputs of the last ``new`` bars of ``data``; the model reads as many rows more as its
        context needs (a sequence model's predictions there equal those over the whole history)."""
        meta = loaded.meta
        feature_set = get_feature_set(meta.feature_set)
        if self._stream is None or self._stream.feature_set.name != feature_set.name:
            self._stream = FeatureStream(feature_set)
        rows = min(len(data), new + max(1, int(loaded.model.context_rows)) - 1)
        matrix = self._stream.tail(data, rows)
        model = loaded.model
        if self._columns is None or self._columns[0] != (loaded.name, loaded.version):
            position = {name: j for j, name in enumerate(feature_set.columns)}
            take = np.array([position[name] for name in model.feature_names], dtype=np.intp)
            self._columns = ((loaded.name, loaded.version), take)
        x = matrix[:, self._columns[1]]
        out = input_outputs(model, x, data.close[-rows:], meta.scale, meta.error_scale or None)
        return {k: np.asarray(v)[-new:] for k, v in out.items()}

    def _history(self, given: BarData) -> BarData:
        """The held history extended by ``given``'s newer bars; read afresh (the stored bars before
        ``given``, then ``given``) when ``given`` does not reach back to the held last bar."""
        held = self._bars
        if held is not None and len(held):
            last = held.last_ns
            at = int(np.searchsorted(given.ts_ns, last))
            if at < len(given) and int(given.ts_ns[at]) == last:
                held.append(given.window(at + 1, len(given)))
                return held.data()
        first = pd.Timestamp(int(given.ts_ns[0]), tz="UTC")
        stored = self.stored_before(first, pd.Timestamp(int(given.ts_ns[-1]), tz="UTC"))
        self.seeds += 1
        history = GrowingBars(BarData.from_frame(stored)) if len(stored) else GrowingBars(given)
        if len(stored):
            history.append(given)
        self._bars, self._model, self._out = history, None, {}
        return history.data()
