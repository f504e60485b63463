"""The held-out window on which a new version and the champion are both scored, and their scores.

The window is the later of the two validation windows (the one that ends later; on a tie, the new
version's). Its rows are rebuilt by the training code (features of each version's feature set and
the new version's target) from the bars of the run that owns the window: the new version's own
snapshot, or the stored bars of the champion's data range. Rows either version trained on are cut:
only rows after the later of the two training ends (early-stopping rows count as training), and
after an embargo of the longer horizon, are compared. Both versions are scored on the same rows,
those where both predict.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipelines.errors import DataNotFoundError, InvalidRequestError
from pipelines.features import FeatureSet, get_feature_set
from pipelines.features.store import FeatureTable
from pipelines.models.base import FloatMatrix
from pipelines.models.champion_psr import HeldOutPsr, held_out_psr
from pipelines.models.evaluation import regression_metrics
from pipelines.models.kinds import BaseRegressor
from pipelines.models.training_matrix import TrainingData, make_ohlc_training_data, make_training_data

__all__ = ["MIN_COMPARE_ROWS", "Contender", "Scores", "Window", "comparison_window", "score_window"]

MIN_COMPARE_ROWS = 20  # fewer held-out rows than this decide nothing
_NO_PSR = HeldOutPsr()

# The bars of [start, end) of the new version's dataset (its own snapshot for its own range).
BarsOf = Callable[[pd.Timestamp, pd.Timestamp], FeatureTable]


def _ts(ranges: Mapping[str, str], key: str) -> pd.Timestamp | None:
    text = ranges.get(key)
    return None if not text else pd.Timestamp(text)


@dataclass(frozen=True)
class Contender:
    """One version in the comparison: its model, features, outputs, horizon and logged data ranges."""

    model: BaseRegressor
    feature_set: str
    feature_names: list[str]
    outputs: list[str]
    horizon: int
    ranges: Mapping[str, str]

    def missing_ranges(self) -> list[str]:
        return [k for k in ("train_start", "train_end", "val_start", "val_end") if not self.ranges.get(k)]

    @property
    def val_window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        return pd.Timestamp(self.ranges["val_start"]), pd.Timestamp(self.ranges["val_end"])

    @property
    def fit_end(self) -> pd.Timestamp:
        """The last row that shaped the model: its last training or early-stopping row."""
        ends = [_ts(self.ranges, "train_end"), _ts(self.ranges, "early_stopping_end")]
        return max(t for t in ends if t is not None)

    @property
    def span(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The bars its run read: the requested range (runs that predate logging it: first training
        row to just after the last validation row)."""
        start, end = _ts(self.ranges, "request_start"), _ts(self.ranges, "request_end")
        if start is None or end is None:
            return pd.Timestamp(self.ranges["train_start"]), self.val_window[1] + pd.Timedelta(1, "ns")
        return start, end


@dataclass(frozen=True)
class Window:
    """The later validation window (``of`` the candidate or the champion) and where rows may start."""

    of: str
    start: pd.Timestamp
    end: pd.Timestamp
    fit_end: pd.Timestamp  # the later training end of the two: compared rows come after it
    embargo: int  # rows left out after ``fit_end``: the longer horizon
    span: tuple[pd.Timestamp, pd.Timestamp]  # the bars of the run that owns the window


def comparison_window(candidate: Contender, champion: Contender) -> Window:
    cand_start, cand_end = candidate.val_window
    champ_start, champ_end = champion.val_window
    owner, start, end = (
        (candidate, cand_start, cand_end) if cand_end >= champ_end else (champion, champ_start, champ_end)
    )
    return Window(
        of="candidate" if owner is candidate else "champion",
        start=start,
        end=end,
        fit_end=max(candidate.fit_end, champion.fit_end),
        embargo=max(candidate.horizon, champion.horizon),
        span=owner.span,
    )


@dataclass(frozen=True)
class Scores:
    """Both versions' metrics on the compared rows (``first``/``last``: their timestamps) and the
    probabilistic Sharpe ratio of their direction calls there (:mod:`.champion_psr`)."""

    candidate: dict[str, float]
    champion: dict[str, float]
    rows: int
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    candidate_psr: HeldOutPsr = _NO_PSR
    champion_psr: HeldOutPsr = _NO_PSR


def _feature_set(contender: Contender, who: str) -> FeatureSet:
    try:
        fset = get_feature_set(contender.feature_set)
    except InvalidRequestError:
        fset = None
    if fset is None or list(fset.columns) != list(contender.feature_names):
        raise DataNotFoundError(f"the {who}'s features ({contender.feature_set!r}) can no longer be computed")
    return fset


def _dataset(window: Window, candidate: Contender, champion: Contender, bars_of: BarsOf) -> TrainingData:
    """Both feature sets and the candidate's target on the bars of the window's run (rows where all
    are defined)."""
    table = bars_of(*window.span)
    fsets = [_feature_set(candidate, "new version"), _feature_set(champion, "champion")]
    bars, merged = table.features(fsets[0], *window.span)
    if fsets[1].name != fsets[0].name:
        _, other = table.features(fsets[1], *window.span)
        extra = [c for c in other.columns if c not in merged.columns]
        merged = merged.merge(other[["timestamp", *extra]], on="timestamp", how="inner")
    names = list(dict.fromkeys([*candidate.feature_names, *champion.feature_names]))
    if candidate.outputs == ["predicted_return"]:
        return make_training_data(merged, names, candidate.horizon, bars)
    return make_ohlc_training_data(merged, names, bars, candidate.horizon)


def _predict(model: BaseRegressor, x: FloatMatrix, rows: np.ndarray, context: int) -> FloatMatrix:
    """Predictions for ``rows`` (consecutive), with the ``context`` rows before them a model that
    reads windows of rows needs."""
    lo = max(0, int(rows[0]) - max(context - 1, 0))
    pred = np.asarray(model.predict(x[lo : int(rows[-1]) + 1]), dtype=np.float64)
    return pred[int(rows[0]) - lo :]


def _columns(data: TrainingData, names: list[str]) -> FloatMatrix:
    index = {n: i for i, n in enumerate(data.feature_names)}
    out: FloatMatrix = data.x[:, [index[n] for n in names]]
    return out


def score_window(window: Window, candidate: Contender, champion: Contender, bars_of: BarsOf) -> Scores:
    """Both versions' metrics on the window's rows after ``window.fit_end`` and the embargo.

    ``DataNotFoundError`` when the rows cannot be built (no stored bars, a feature set gone)."""
    data = _dataset(window, candidate, champion, bars_of)
    ts = data.timestamps
    fitted = int(ts.searchsorted(window.fit_end, side="right")) - 1  # the last row either trained on
    position = np.arange(len(ts))
    inside = (ts >= window.start) & (ts <= window.end) & (position > fitted + window.embargo)
    rows = np.flatnonzero(np.asarray(inside))
    if len(rows) == 0:
        return Scores({}, {}, 0, None, None)
    preds = [
        _predict(c.model, _columns(data, c.feature_names), rows, c.model.context_rows)
        for c in (candidate, champion)
    ]
    both = np.ones(len(rows), dtype=bool)
    for pred in preds:
        both &= np.isfinite(pred).all(axis=1) if pred.ndim == 2 else np.isfinite(pred)
    y = data.y[rows][both]
    kept = rows[both]
    first, last = (ts[kept[0]], ts[kept[-1]]) if len(kept) else (None, None)
    horizon = candidate.horizon  # the target's: both versions' calls are traded on it
    return Scores(
        regression_metrics(y, preds[0][both]),
        regression_metrics(y, preds[1][both]),
        len(kept),
        first,
        last,
        held_out_psr(y, preds[0][both], horizon),
        held_out_psr(y, preds[1][both], horizon),
    )
