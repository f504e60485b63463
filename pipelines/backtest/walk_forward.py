"""Walk-forward analysis: retrain on a moving window, trade the window after it, chain the results.

Features are computed once over all bars (they are causal: row t uses bars <= t); the bars before
``start`` only warm them. Each fold's training set comes from its train window alone, and its labels
are computed inside that window, so the last ``horizon`` rows (whose forward return would reach into
the test window) have no label and are dropped: the window reaches ``horizon`` bars further back to
keep ``train_window`` labelled rows. A fold that still trains on fewer rows (no older bars to warm
the indicators) is named in the result's ``warnings``.

Models train in threads: LightGBM, XGBoost and scikit-learn release the GIL while fitting, so
threads scale without pickling data to worker processes (each fit gets one OpenMP thread when
folds run in parallel). The backtests then run in order, each fold starting with the
previous fold's final equity, flat; incomplete trailing windows are not traded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest import _kernel as k
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.curves import curve_points
from pipelines.backtest.engine import BacktestResult, Trades, run_backtest
from pipelines.backtest.metrics import compute_metrics
from pipelines.backtest.strategies.ml import signal_targets
from pipelines.errors import InvalidRequestError
from pipelines.features import compute_features, resolve_feature_set
from pipelines.models.base import Regressor
from pipelines.models.kinds import create_model
from pipelines.models.params import validate_params
from pipelines.models.signals import derive_signals
from pipelines.models.training_matrix import make_training_data

__all__ = [
    "FOLD_DEFAULTS",
    "FoldResult",
    "ModelFactory",
    "Progress",
    "WalkForwardResult",
    "fold_bounds",
    "walk_forward",
]

FloatArray = npt.NDArray[np.float64]
ModelFactory = Callable[[list[str]], Regressor]
# progress(percent, description): hears of the features, of each fitted fold and of the backtests.
Progress = Callable[[float, str], None]
# (test targets, rows trained on, train-window targets or None)
FoldOutput = tuple[FloatArray, int, FloatArray | None]
# Small-but-sane settings for models retrained per fold (a few hundred rows each); params override.
FOLD_DEFAULTS: dict[str, dict[str, Any]] = {
    "lightgbm": {"n_estimators": 100, "num_leaves": 15, "min_child_samples": 10},
    "xgboost": {"n_estimators": 100, "max_depth": 4},
    "random_forest": {"n_estimators": 100},
}
MODES = ("rolling", "expanding")


@dataclass(frozen=True)
class FoldResult:
    index: int
    train: range  # row positions in the bars
    test: range
    train_rows: int  # rows that had features and a label
    result: BacktestResult
    in_sample_metrics: dict[str, Any] | None = None  # the model traded on its own train window

    def as_dict(self, ts: pd.DatetimeIndex) -> dict[str, Any]:
        return {
            "fold": self.index,
            "train_start": ts[self.train.start].isoformat(),
            "train_end": ts[self.train.stop - 1].isoformat(),
            "test_start": ts[self.test.start].isoformat(),
            "test_end": ts[self.test.stop - 1].isoformat(),
            "train_rows": self.train_rows,
            "test_rows": len(self.test),
            "final_equity": self.result.final_equity,
            "metrics": dict(self.result.metrics),
            "in_sample_metrics": None if self.in_sample_metrics is None else dict(self.in_sample_metrics),
        }


@dataclass(frozen=True)
class WalkForwardResult:
    folds: list[FoldResult]
    timestamps_ns: npt.NDArray[np.int64]
    equity: FloatArray  # the stitched out-of-sample curve
    trades: Trades
    metrics: dict[str, Any]
    bar_timestamps: pd.DatetimeIndex
    warnings: tuple[str, ...] = ()

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1])

    def as_dict(self, max_points: int | None = None) -> dict[str, Any]:
        """JSON-safe; with ``max_points`` the curve is downsampled and the trades cut to that many."""
        return {
            "folds": [f.as_dict(self.bar_timestamps) for f in self.folds],
            "metrics": dict(self.metrics),
            "final_equity": self.final_equity,
            **curve_points(self.timestamps_ns, self.equity, max_points),
            **self.trades.shown(max_points),
            "warnings": list(self.warnings),
        }


def _window(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise InvalidRequestError(f"{name} must be a whole number of bars >= {minimum}, got {value!r}")
    return int(value)


def fold_bounds(
    n: int, train_window: int, test_window: int, mode: str = "rolling", *, start: int = 0, horizon: int = 0
) -> list[tuple[range, range]]:
    """(train rows, test rows) of every complete fold; test windows tile the rows after ``start`` and
    the first train window. A train range holds the ``train_window`` rows before its test window
    (``expanding``: every row from ``start``) and ``horizon`` rows before those (never before row 0)."""
    if mode not in MODES:
        raise InvalidRequestError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if train_window + test_window > n - start:
        raise InvalidRequestError(
            f"train_window ({train_window}) + test_window ({test_window}) is longer than the data "
            f"({n - start} bars): no complete fold"
        )
    folds = []
    for test_start in range(start + train_window, n - test_window + 1, test_window):
        first = start if mode == "expanding" else test_start - train_window
        train = range(max(0, first - horizon), test_start)
        folds.append((train, range(test_start, test_start + test_window)))
    return folds


def _fold_params(model_type: str, params: dict[str, Any] | None) -> dict[str, Any]:
    merged = {**FOLD_DEFAULTS.get(model_type, {}), **(params or {})}
    validate_params(model_type, merged)
    return merged


def _checked_sizes(
    train_window: Any, test_window: Any, horizon: Any, n_jobs: Any, threshold: Any
) -> tuple[int, int, int, int]:
    """(train window, test window, horizon, jobs) as ints, or InvalidRequestError."""
    train_window = _window("train_window", train_window, 20)
    test_window = _window("test_window", test_window, 2)
    horizon = _window("horizon", horizon, 1)
    n_jobs = _window("n_jobs", n_jobs, 1)
    if not 0.0 <= float(threshold) < 1.0:
        raise InvalidRequestError(f"threshold must be >= 0 and < 1, got {threshold!r}")
    if horizon >= train_window:
        raise InvalidRequestError(f"horizon ({horizon}) must be shorter than train_window ({train_window})")
    return train_window, test_window, horizon, n_jobs


def _kind_factory(model_type: str, params: dict[str, Any] | None) -> ModelFactory:
    """A factory of fresh ``model_type`` models with the fold's parameters (validated once)."""
    kind_params = _fold_params(model_type, params)

    def factory(feature_names: list[str]) -> Regressor:
        return create_model(model_type, kind_params, feature_names)

    return factory


def walk_forward(
    bars: pd.DataFrame,
    model_type: str,
    params: dict[str, Any] | None = None,
    *,
    start: pd.Timestamp | None = None,
    train_window: int = 252,
    test_window: int = 63,
    config: BacktestConfig | None = None,
    mode: str = "rolling",
    feature_set: str = "default",
    horizon: int = 1,
    threshold: float = 0.2,
    n_jobs: int = 2,
    model_factory: ModelFactory | None = None,
    progress: Progress | None = None,
    in_sample: bool = True,
) -> WalkForwardResult:
    """Retrain ``model_type`` per fold, trade its signals (> threshold long, < -threshold short or
    flat) on the following test window, and stitch the out-of-sample equity curve.

    ``start``: where the first train window begins; the bars before it only warm the features
    (None: the first bar). ``model_factory(feature_names)`` replaces ``create_model`` (to inject or
    observe models). ``in_sample``: also trade each model on its train window (``in_sample_metrics``).
    """
    report, cfg = progress or _silent, config or BacktestConfig()
    train_window, test_window, horizon, n_jobs = _checked_sizes(
        train_window, test_window, horizon, n_jobs, threshold
    )
    offset = _first_row(bars, start)
    folds = fold_bounds(len(bars), train_window, test_window, mode, start=offset, horizon=horizon)
    names = resolve_feature_set(feature_set).columns
    if model_factory is None:
        model_factory = _kind_factory(model_type, params)
    report(10.0, f"features of {len(bars)} bars")
    features = compute_features(bars, feature_set)
    x_all = features[names].to_numpy(dtype=np.float64, na_value=np.nan)
    usable = np.isfinite(x_all).all(axis=1)
    close = bars["close"].to_numpy(dtype=np.float64)
    limit = _thread_limit() if n_jobs > 1 else None

    def fit_predict(fold: tuple[range, range]) -> FoldOutput:
        train, test = fold
        rows = slice(train.start, train.stop)
        data = make_training_data(features.iloc[rows], names, horizon, bars.iloc[rows])
        model = model_factory(names)
        with limit() if limit is not None else nullcontext():
            model.fit(data.x, data.y)
        pred, fitted = _predictions(model, x_all, usable, train, test, in_sample)
        scale = float(np.std(data.y)) or 1e-12
        signal = derive_signals(pred, close[test.start : test.stop], scale)["signal"]
        if fitted is not None:
            fitted = signal_targets(derive_signals(fitted, close[rows], scale)["signal"], threshold)
        return signal_targets(signal, threshold), len(data), fitted

    outputs = _fit_folds(fit_predict, folds, n_jobs, report)
    wanted = [train_window if mode == "rolling" else test.start - offset for _, test in folds]
    warnings = _short_folds(folds, [rows for _, rows, _ in outputs], wanted, usable, bars)
    report(90.0, f"backtesting {len(folds)} test windows")
    return _stitch(bars, folds, outputs, cfg, tuple(warnings))


def _predictions(
    model: Regressor,
    x_all: npt.NDArray[np.float64],
    usable: npt.NDArray[np.bool_],
    train: range,
    test: range,
    in_sample: bool,
) -> tuple[FloatArray, FloatArray | None]:
    """The model's predictions of the test rows (NaN where a feature is missing) and, when
    ``in_sample``, of its train rows. A model that reads one row per prediction predicts both in one
    call (a call's overhead outweighs a few hundred rows); one that reads earlier rows too (lstm)
    predicts each window on its own, so the test rows see what they would alone."""
    both = in_sample and getattr(model, "context_rows", 1) == 1
    first = train.start if both else test.start
    pred = np.asarray(model.predict(x_all[first : test.stop]), dtype=np.float64)
    pred[~usable[first : test.stop]] = np.nan
    if not in_sample:
        return pred, None
    if both:
        return pred[test.start - first :], pred[: test.start - first]
    fitted = np.asarray(model.predict(x_all[train.start : train.stop]), dtype=np.float64)
    fitted[~usable[train.start : train.stop]] = np.nan
    return pred, fitted


def _silent(_pct: float, _text: str) -> None:
    return None


def _first_row(bars: pd.DataFrame, start: pd.Timestamp | None) -> int:
    """The position of the first bar at or after ``start`` (a naive ``start`` is UTC)."""
    if start is None:
        return 0
    when = pd.Timestamp(start)
    when = when.tz_localize("UTC") if when.tzinfo is None else when.tz_convert("UTC")
    ts = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"], utc=True))
    return int(ts.searchsorted(when))


def _fit_folds(
    fit_predict: Callable[[tuple[range, range]], FoldOutput],
    folds: Sequence[tuple[range, range]],
    n_jobs: int,
    report: Progress,
) -> list[FoldOutput]:
    """Every fold's output in order, in ``n_jobs`` threads; ``report`` hears "fold i/N" as each ends."""
    lock = threading.Lock()
    done = [0]

    def counted(fold: tuple[range, range]) -> FoldOutput:
        output = fit_predict(fold)
        with lock:  # one report at a time, in the order the folds finish
            done[0] += 1
            report(15.0 + 75.0 * done[0] / len(folds), f"fold {done[0]}/{len(folds)} fitted")
        return output

    if n_jobs > 1 and len(folds) > 1:
        with ThreadPoolExecutor(max_workers=min(n_jobs, len(folds))) as pool:
            return list(pool.map(counted, folds))
    return [counted(f) for f in folds]


def _short_folds(
    folds: Sequence[tuple[range, range]],
    rows: Sequence[int],
    wanted: Sequence[int],
    usable: npt.NDArray[np.bool_],
    bars: pd.DataFrame,
) -> list[str]:
    """A warning for each fold that trained on fewer rows than its window holds, with the reason."""
    warm = int(np.argmax(usable)) if usable.any() else len(usable)  # rows before the features are complete
    first = pd.Timestamp(bars["timestamp"].iloc[0])
    since = first.date().isoformat() if first == first.normalize() else first.isoformat()
    out = []
    for i, ((train, _), got, want) in enumerate(zip(folds, rows, wanted, strict=True)):
        if got >= want:
            continue
        if train.start < warm or len(train) < want:
            why = f"the features need {warm} bars of history to warm up and no bars before {since} exist"
        else:
            why = "rows with a missing feature or label were left out"
        out.append(f"fold {i} trained on {got} rows, not {want}: {why}")
    return out


def _thread_limit() -> Callable[[], Any] | None:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - scikit-learn depends on it
        return None
    return lambda: threadpool_limits(limits=1)


def _stitch(
    bars: pd.DataFrame,
    folds: Sequence[tuple[range, range]],
    outputs: Sequence[FoldOutput],
    config: BacktestConfig,
    warnings: tuple[str, ...] = (),
) -> WalkForwardResult:
    capital = config.initial_capital
    results: list[FoldResult] = []
    for i, ((train, test), (target, rows, fitted)) in enumerate(zip(folds, outputs, strict=True)):
        fold_cfg = config.with_overrides(initial_capital=capital)
        res = run_backtest(bars.iloc[test.start : test.stop], target, fold_cfg)
        in_metrics = None
        if fitted is not None:
            in_metrics = run_backtest(bars.iloc[train.start : train.stop], fitted, config).metrics
        results.append(FoldResult(i, train, test, rows, res, in_metrics))
        capital = res.final_equity
    start = folds[0][1].start
    ts = np.concatenate([r.result.timestamps_ns for r in results])
    equity = np.concatenate([r.result.equity for r in results])
    position = np.concatenate([r.result.position for r in results])
    parts = []
    for r in results:
        m = r.result.trades.matrix.copy()
        m[:, [k.T_ENTRY_IDX, k.T_EXIT_IDX]] += r.test.start - start
        parts.append(m)
    trades = np.concatenate(parts) if parts else np.empty((0, k.N_FIELDS))
    metrics = compute_metrics(
        equity,
        position,
        trades,
        ts,
        initial_capital=config.initial_capital,
        bars_per_year=config.bars_per_year,
    )
    bar_ts = pd.DatetimeIndex(pd.to_datetime(bars["timestamp"], utc=True))
    return WalkForwardResult(results, ts, equity, Trades(trades, ts), metrics, bar_ts, warnings)
