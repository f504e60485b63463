"""Training matrices from a stored feature table, and the time-ordered train/validation split.

Targets are **log** returns, ``log(close[t+h] / close[t])`` (they add up over time and are
symmetric, and ``signals.derive_signals`` turns them back into prices with ``exp``). They are
computed here from ``close`` over the full, time-ordered table, not taken from the table's simple
``label_fwd_ret_{h}`` columns. ``multi_ohlc`` targets need the bars too: ``log(open|high|low|close
[t+k] / close[t])`` for k = 1..n_steps, step-major (``open_t+1, high_t+1, low_t+1, close_t+1, ...``).
Rows with a non-finite feature or target are dropped after the targets are computed.

``build_training_data(bars, features, names, kind=..., ...)`` is what a training run calls: targets
from the bars, features matched on timestamp, split and summarized for logging. ``make_training_data`` /
``make_ohlc_training_data`` build the unsplit :class:`TrainingData` from a stored feature table.

``time_split`` never shuffles: the validation rows are the latest, and an embargo of ``embargo``
rows (default: the horizon) between the two sets keeps a training label's future window from
overlapping the validation period. Kinds that stop early (boosted trees, the LSTM) watch a slice of
their own at the end of the training part, behind an embargo of its own, so the validation rows stay
unseen until scoring: ``fit rows | embargo | early-stopping rows | embargo | validation rows``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pipelines.errors import InvalidRequestError
from pipelines.models.base import FloatMatrix, ModelKind
from pipelines.models.kinds.multi_ohlc import ohlc_output_names
from pipelines.models.params import validate_params

__all__ = [
    "EARLY_STOP_FRACTION",
    "MIN_TRAIN_ROWS",
    "MIN_VAL_ROWS",
    "PreparedData",
    "Split",
    "TrainValSplit",
    "TrainingData",
    "build_training_data",
    "early_stops",
    "make_ohlc_training_data",
    "make_training_data",
    "time_split",
]

MIN_TRAIN_ROWS = 20
MIN_VAL_ROWS = 5
EARLY_STOP_FRACTION = 0.15  # of the training part, for kinds that stop early
_OHLC = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Split:
    """Row positions: ``train`` = [0, train.stop), then ``embargo`` unused rows, then ``val`` to the end.

    With early stopping, ``stop`` (else empty) lies between them: ``train``, ``embargo`` rows,
    ``stop``, ``embargo`` rows, ``val``."""

    train: range
    val: range
    embargo: int
    stop: range = range(0)


def time_split(
    n: int,
    validation_split: float,
    embargo: int,
    *,
    min_train: int = MIN_TRAIN_ROWS,
    min_val: int = MIN_VAL_ROWS,
    early_stop: float = 0.0,
) -> Split:
    """Split ``n`` time-ordered rows: the last ``round(n * validation_split)`` validate, the
    ``embargo`` rows before them are left out, the rest train. ``early_stop`` > 0 takes that fraction
    of the training part, at its end and after another ``embargo`` rows, as the early-stopping slice."""
    vs = float(validation_split)
    if not 0.0 < vs < 0.9:
        raise InvalidRequestError(f"validation_split must be > 0 and < 0.9, got {validation_split!r}")
    if isinstance(embargo, bool) or not isinstance(embargo, int) or embargo < 0:
        raise InvalidRequestError(f"embargo must be a whole number of rows >= 0, got {embargo!r}")
    n_val = round(n * vs)
    n_train = n - n_val - embargo
    if n_val < min_val or n_train < min_train:
        raise InvalidRequestError(
            f"too few rows to train: {n} usable rows give {max(n_train, 0)} training, {embargo} embargo and "
            f"{n_val} validation rows; at least {min_train} training and {min_val} validation rows are "
            "needed "
            "(use a longer date range or a smaller validation_split)"
        )
    val = range(n_train + embargo, n)
    if early_stop <= 0.0:
        return Split(train=range(0, n_train), val=val, embargo=embargo)
    n_stop = round(n_train * early_stop)
    n_fit = n_train - n_stop - embargo
    if n_stop < min_val or n_fit < min_train:
        raise InvalidRequestError(
            f"too few rows to train with early stopping: {n_train} training rows give {max(n_fit, 0)} to "
            f"fit, {embargo} embargo and {n_stop} early-stopping rows; at least {min_train} and {min_val} "
            "are needed (use a longer date range, or set early_stopping_rounds to 0)"
        )
    return Split(train=range(0, n_fit), val=val, embargo=embargo, stop=range(n_fit + embargo, n_train))


@dataclass(frozen=True)
class TrainValSplit:
    x_train: FloatMatrix
    y_train: FloatMatrix
    x_val: FloatMatrix
    y_val: FloatMatrix
    rows: Split
    train_start: pd.Timestamp
    train_end: pd.Timestamp
    val_start: pd.Timestamp
    val_end: pd.Timestamp
    x_stop: FloatMatrix | None = None  # the early-stopping slice, when the split has one
    y_stop: FloatMatrix | None = None
    stop_range: tuple[pd.Timestamp, pd.Timestamp] | None = None

    def data_range(self) -> dict[str, str | int]:
        """What a training run logs about its data."""
        out: dict[str, str | int] = {
            "train_start": self.train_start.isoformat(),
            "train_end": self.train_end.isoformat(),
            "val_start": self.val_start.isoformat(),
            "val_end": self.val_end.isoformat(),
            "train_rows": len(self.rows.train),
            "val_rows": len(self.rows.val),
            "embargo_rows": self.rows.embargo,
            "early_stopping_rows": len(self.rows.stop),
        }
        if self.stop_range is not None:
            out["early_stopping_start"] = self.stop_range[0].isoformat()
            out["early_stopping_end"] = self.stop_range[1].isoformat()
        return out


@dataclass(frozen=True)
class TrainingData:
    """Aligned rows: ``x`` (n, features), ``y`` (n,) or (n, 4*n_steps), their bar ``timestamps``."""

    x: FloatMatrix
    y: FloatMatrix
    timestamps: pd.DatetimeIndex
    feature_names: list[str]
    target: str
    horizon: int
    dropped_rows: int

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def split(
        self, validation_split: float = 0.2, embargo: int | None = None, *, early_stop: float = 0.0
    ) -> TrainValSplit:
        gap = self.horizon if embargo is None else embargo
        rows = time_split(len(self), validation_split, gap, early_stop=early_stop)
        tr, va, st = (slice(r.start, r.stop) for r in (rows.train, rows.val, rows.stop))
        ts = self.timestamps
        stop = bool(len(rows.stop))
        return TrainValSplit(
            x_train=self.x[tr],
            y_train=self.y[tr],
            x_val=self.x[va],
            y_val=self.y[va],
            rows=rows,
            train_start=ts[rows.train.start],
            train_end=ts[rows.train.stop - 1],
            val_start=ts[rows.val.start],
            val_end=ts[rows.val.stop - 1],
            x_stop=self.x[st] if stop else None,
            y_stop=self.y[st] if stop else None,
            stop_range=(ts[rows.stop.start], ts[rows.stop.stop - 1]) if stop else None,
        )


def _check_horizon(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidRequestError(f"{name} must be a whole number of bars >= 1, got {value!r}")
    return int(value)


def _timestamps(frame: pd.DataFrame, what: str) -> pd.DatetimeIndex:
    if "timestamp" not in frame.columns:
        raise InvalidRequestError(f"the {what} has no 'timestamp' column")
    ts = pd.DatetimeIndex(pd.to_datetime(frame["timestamp"], utc=True))
    if not ts.is_monotonic_increasing or ts.has_duplicates:
        raise InvalidRequestError(f"the {what}'s timestamps must be strictly increasing")
    return ts


def _columns(frame: pd.DataFrame, names: Sequence[str], what: str) -> FloatMatrix:
    missing = [c for c in names if c not in frame.columns]
    if missing:
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise InvalidRequestError(f"the {what} lacks columns {missing[:10]}{more}")
    out: FloatMatrix = frame[list(names)].to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def _log_ratio(num: FloatMatrix, den: FloatMatrix) -> FloatMatrix:
    with np.errstate(divide="ignore", invalid="ignore"):
        out: FloatMatrix = np.where((num > 0) & (den > 0), np.log(num / den), np.nan)
    return out


def _assemble(
    x: FloatMatrix, y: FloatMatrix, ts: pd.DatetimeIndex, names: list[str], target: str, horizon: int
) -> TrainingData:
    finite_y = np.isfinite(y) if y.ndim == 1 else np.isfinite(y).all(axis=1)
    keep = np.isfinite(x).all(axis=1) & finite_y
    kept = int(keep.sum())
    if kept == 0:
        raise InvalidRequestError(
            f"no usable rows: all {len(x)} rows have a missing feature or target "
            f"(too little history for the features' warm-up plus the {horizon}-bar horizon?)"
        )
    rows = np.flatnonzero(keep)
    return TrainingData(x[rows], y[rows], ts[rows], names, target, horizon, len(x) - kept)


def _positions(
    table: pd.DataFrame, ts: pd.DatetimeIndex, bars: pd.DataFrame | None
) -> tuple[FloatMatrix, np.ndarray]:
    """The price rows and, for each table row, its position among them (bars aligned by timestamp)."""
    if bars is None:
        close = _columns(table, ["close"], "feature table")
        prices = np.full((len(table), 4), np.nan)
        prices[:, 3] = close[:, 0]
        return prices, np.arange(len(table))
    bar_ts = _timestamps(bars, "bars")
    pos = bar_ts.get_indexer(ts)
    if (pos < 0).any():
        raise InvalidRequestError(f"{int((pos < 0).sum())} feature rows have no bar with the same timestamp")
    return _columns(bars, _OHLC, "bars"), pos


def make_training_data(
    table: pd.DataFrame, feature_names: Sequence[str], horizon: int, bars: pd.DataFrame | None = None
) -> TrainingData:
    """X from ``feature_names`` and y = log(close[t+horizon] / close[t]), close from the table's
    ``close`` column or, when given, from ``bars`` matched on timestamp."""
    h = _check_horizon("horizon", horizon)
    names = _names(feature_names)
    ts = _timestamps(table, "feature table")
    x = _columns(table, names, "feature table")
    prices, pos = _positions(table, ts, bars)
    close = prices[:, 3]
    ahead = pos + h
    ok = ahead < len(close)
    y = np.full(len(ts), np.nan)
    y[ok] = _log_ratio(close[ahead[ok]], close[pos[ok]])
    return _assemble(x, y, ts, names, f"log_fwd_ret_{h}", h)


def make_ohlc_training_data(
    table: pd.DataFrame, feature_names: Sequence[str], bars: pd.DataFrame, n_steps: int
) -> TrainingData:
    """X from the feature table; y (n, 4*n_steps) = log(OHLC of the next n_steps bars / close[t])."""
    k = _check_horizon("n_steps", n_steps)
    names = _names(feature_names)
    ts = _timestamps(table, "feature table")
    x = _columns(table, names, "feature table")
    ohlc, pos = _positions(table, ts, bars)
    y = np.full((len(ts), 4 * k), np.nan)
    base = ohlc[pos, 3]
    for step in range(1, k + 1):
        ahead = pos + step
        ok = ahead < len(ohlc)
        y[ok, 4 * (step - 1) : 4 * step] = _log_ratio(ohlc[ahead[ok]], base[ok, None])
    return _assemble(x, y, ts, names, f"ohlc_log_ratio_{k}", k)


def _names(feature_names: Sequence[str]) -> list[str]:
    names = list(feature_names)
    if not names:
        raise InvalidRequestError("at least one feature is needed")
    return names


@dataclass(frozen=True)
class PreparedData:
    """Everything a training run needs: the split matrices and what to log about them."""

    x_train: FloatMatrix
    y_train: FloatMatrix
    x_val: FloatMatrix
    y_val: FloatMatrix
    feature_names: list[str]
    outputs: list[str]
    target: str
    horizon: int
    ranges: dict[str, str]
    train_rows: int
    val_rows: int
    embargo: int
    dropped_rows: int
    x_stop: FloatMatrix | None = None  # rows early stopping watches (None: the kind does not stop early)
    y_stop: FloatMatrix | None = None

    @property
    def early_stopping_rows(self) -> int:
        return 0 if self.x_stop is None else int(self.x_stop.shape[0])


def early_stops(kind: ModelKind, params: dict[str, Any] | None) -> bool:
    """Whether ``kind`` with ``params`` watches a held-out slice to stop training early."""
    if kind is ModelKind.LSTM:
        return True
    if kind not in (ModelKind.LIGHTGBM, ModelKind.XGBOOST, ModelKind.MULTI_OHLC):
        return False
    return int(validate_params(kind, params)["early_stopping_rounds"]) > 0


def build_training_data(
    bars: pd.DataFrame,
    features: pd.DataFrame,
    feature_names: Sequence[str],
    *,
    kind: ModelKind | str,
    horizon: int = 1,
    validation_split: float = 0.2,
    params: dict[str, Any] | None = None,
    embargo: int | None = None,
) -> PreparedData:
    """Targets for ``kind`` from ``bars``, features from ``features`` (matched on timestamp), split in
    time with an embargo (default: the horizon). ``multi_ohlc`` forecasts ``params["n_steps"]`` bars
    and uses that as its horizon; every other kind predicts the log return over ``horizon`` bars.
    Kinds that stop early get their early-stopping slice (see :func:`time_split`)."""
    k = ModelKind(kind)
    if k is ModelKind.MULTI_OHLC:
        n_steps = int(validate_params(k, params)["n_steps"])
        data = make_ohlc_training_data(features, feature_names, bars, n_steps)
        outputs = ohlc_output_names(n_steps)
    else:
        data = make_training_data(features, feature_names, horizon, bars)
        outputs = ["predicted_return"]
    stop = EARLY_STOP_FRACTION if early_stops(k, params) else 0.0
    part = data.split(validation_split, embargo, early_stop=stop)
    ranges = {key: str(value) for key, value in part.data_range().items()}
    return PreparedData(
        x_train=part.x_train,
        y_train=part.y_train,
        x_val=part.x_val,
        y_val=part.y_val,
        feature_names=data.feature_names,
        outputs=outputs,
        target=data.target,
        horizon=data.horizon,
        ranges=ranges,
        train_rows=len(part.rows.train),
        val_rows=len(part.rows.val),
        embargo=part.rows.embargo,
        dropped_rows=data.dropped_rows,
        x_stop=part.x_stop,
        y_stop=part.y_stop,
    )
