"""``run_backtest``: target exposures in, equity curve, trades and metrics out.

The strategy says *what* exposure it wants after each bar's close; the engine decides *how* it is
traded: clipped to [-1, 1], shorts clipped to 0 unless ``allow_short``, scaled by
``position_size``, NaN read as flat, filled at the next bar's open by the compiled kernel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest import _fast
from pipelines.backtest import _kernel as k
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.curves import curve_points
from pipelines.backtest.metrics import compute_metrics, held_bars
from pipelines.errors import InvalidRequestError
from pipelines.features.inputs import BarData, utc_nanos

__all__ = [
    "EXIT_REASONS",
    "TIME_COLUMNS",
    "BacktestResult",
    "Trades",
    "bar_arrays",
    "run_backtest",
    "to_exposure",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "end")
TIME_COLUMNS = ("entry_time", "exit_time")  # of ``Trades.columns()``: UTC epoch nanoseconds
_OHLC = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Trades:
    """Round trips as columns (one row per trade; cheap for 100k trades, records on demand).

    Prices are average fills (slippage included); ``size`` the largest number of units held;
    ``pnl`` in account currency after fees; ``pnl_pct`` = pnl / entry notional.
    """

    matrix: FloatArray  # columns as in _kernel.T_*
    timestamps_ns: IntArray = field(repr=False)

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def column(self, index: int) -> FloatArray:
        col: FloatArray = self.matrix[:, index]
        return col

    @property
    def pnl(self) -> FloatArray:
        return self.column(k.T_PNL)

    @property
    def exit_reasons(self) -> list[str]:
        return [EXIT_REASONS[int(r)] for r in self.column(k.T_REASON)]

    def shown(self, max_trades: int | None) -> dict[str, Any]:
        """``trades`` as records, the first ``max_trades`` of them (None: all), with their count."""
        kept = self if max_trades is None or len(self) <= max_trades else self.head(max_trades)
        return {"trades": kept.to_records(), "trades_total": len(self), "trades_truncated": kept is not self}

    def head(self, count: int) -> Trades:
        return Trades(self.matrix[:count], self.timestamps_ns)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """One array per field of a trade, in the order answers show them; the ``TIME_COLUMNS`` hold
        UTC epoch nanoseconds. The answer's records and the downloadable trades file both read these."""
        m, ts = self.matrix, self.timestamps_ns
        entry = m[:, k.T_ENTRY_IDX].astype(np.int64)
        exit_ = m[:, k.T_EXIT_IDX].astype(np.int64)
        return {
            "entry_time": ts[entry],
            "exit_time": ts[exit_],
            "entry_bar": entry,
            "exit_bar": exit_,
            "side": np.where(m[:, k.T_SIDE] > 0, "long", "short").astype(object),
            "size": m[:, k.T_SIZE],
            "entry_price": m[:, k.T_ENTRY_PRICE],
            "exit_price": m[:, k.T_EXIT_PRICE],
            "pnl": m[:, k.T_PNL],
            "pnl_pct": m[:, k.T_PNL_PCT],
            "commission": m[:, k.T_COMMISSION],
            "duration_bars": held_bars(m),
            "duration_seconds": (ts[exit_] - ts[entry]) / 1e9,
            "exit_reason": np.asarray(EXIT_REASONS, dtype=object)[m[:, k.T_REASON].astype(np.int64)],
        }

    def to_records(self) -> list[dict[str, Any]]:
        """JSON-safe dicts: times as ISO strings, durations in bars and seconds."""
        values: dict[str, list[Any]] = {}
        for name, column in self.columns().items():
            if name in TIME_COLUMNS:
                values[name] = [t.isoformat() for t in pd.to_datetime(column, utc=True)]
            else:
                values[name] = column.tolist()
        return [dict(zip(values, row, strict=True)) for row in zip(*values.values(), strict=True)]


@dataclass(frozen=True)
class BacktestResult:
    """``equity`` and ``position`` (signed units) at each bar's close, aligned with ``timestamps_ns``."""

    timestamps_ns: IntArray
    equity: FloatArray
    position: FloatArray
    trades: Trades
    metrics: dict[str, Any]
    config: BacktestConfig

    @property
    def final_equity(self) -> float:
        return float(self.equity[-1]) if self.equity.size else self.config.initial_capital

    @property
    def num_bars(self) -> int:
        return int(self.equity.size)

    @property
    def timestamps(self) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(self.timestamps_ns, utc=True))

    def equity_series(self) -> pd.Series:
        return pd.Series(self.equity, index=self.timestamps, name="equity")

    def as_dict(self, max_points: int | None = None) -> dict[str, Any]:
        """JSON-safe: ``equity_curve`` as [[ISO timestamp, equity], ...], trades as records; with
        ``max_points`` the curve is downsampled and the trades cut to that many (``curves``)."""
        return {
            "config": self.config.as_dict(),
            "metrics": dict(self.metrics),
            "final_equity": self.final_equity,
            "num_bars": self.num_bars,
            **curve_points(self.timestamps_ns, self.equity, max_points),
            **self.trades.shown(max_points),
        }


def _checked_prices(name: str, col: FloatArray) -> FloatArray:
    if _fast.count_bad_prices(col):
        bad = int(np.flatnonzero(~((col > 0.0) & np.isfinite(col)))[0])
        raise InvalidRequestError(
            f"bars column {name!r} must hold finite prices > 0; row {bad} has {col[bad]!r}"
        )
    return col


def bar_arrays(
    bars: pd.DataFrame, data: BarData | None = None
) -> tuple[IntArray, FloatArray, FloatArray, FloatArray, FloatArray]:
    """(timestamps ns, open, high, low, close), checked: columns present, finite prices > 0,
    strictly increasing time. Float64 columns are viewed, not copied. ``data``, when the caller
    already holds the frame's validated ``BarData`` (a strategy run does), saves a second pass
    through pandas: on small frames, column access costs more than the backtest itself."""
    if data is not None:
        cols = [_checked_prices(name, np.ascontiguousarray(getattr(data, name))) for name in _OHLC]
        return np.ascontiguousarray(data.ts_ns), cols[0], cols[1], cols[2], cols[3]
    if not isinstance(bars, pd.DataFrame):
        raise InvalidRequestError(f"bars must be a pandas DataFrame, got {type(bars).__name__}")
    missing = [c for c in ("timestamp", *_OHLC) if c not in bars.columns]
    if missing:
        raise InvalidRequestError(f"bars are missing column(s) {', '.join(missing)}")
    cols = []
    for name in _OHLC:
        try:
            series = bars[name]
            if series.dtype == np.float64:
                raw = series.to_numpy()
            else:
                raw = series.to_numpy(np.float64, na_value=np.nan)
            col = np.ascontiguousarray(raw)
        except (TypeError, ValueError):
            raise InvalidRequestError(f"bars column {name!r} must be numeric") from None
        cols.append(_checked_prices(name, col))
    ts = np.ascontiguousarray(utc_nanos(bars["timestamp"]))
    if (ts.size and ts[0] == np.iinfo(np.int64).min) or not _fast.is_strictly_increasing(ts):
        raise InvalidRequestError("bars must be sorted by timestamp with no duplicate or missing timestamps")
    return ts, cols[0], cols[1], cols[2], cols[3]


def to_exposure(target: npt.ArrayLike, n: int, config: BacktestConfig) -> FloatArray:
    """The exposures the engine trades: clipped, long-only unless allowed, sized, NaN = flat."""
    arr = np.ascontiguousarray(target, dtype=np.float64)
    if arr.shape != (n,):
        raise InvalidRequestError(f"target must have one value per bar ({n}), got shape {arr.shape}")
    out = np.empty(n)
    _fast.to_exposure(arr, -1.0 if config.allow_short else 0.0, float(config.position_size), out)
    return out


def run_backtest(
    bars: pd.DataFrame, target: npt.ArrayLike, config: BacktestConfig, *, data: BarData | None = None
) -> BacktestResult:
    """Trade ``target`` (exposure in [-1, 1] decided at each bar's close) over ``bars``
    (``data``: the same bars already validated by ``BarData.from_frame``)."""
    if not isinstance(config, BacktestConfig):
        raise InvalidRequestError("config must be a BacktestConfig")
    ts, open_, high, low, close = bar_arrays(bars, data)
    exposure = to_exposure(target, ts.size, config)
    equity, position, trades = k.simulate(
        open_,
        high,
        low,
        close,
        exposure,
        initial=float(config.initial_capital),
        commission=float(config.commission),
        slippage=float(config.slippage),
        stop_loss=float(config.stop_loss or 0.0),
        take_profit=float(config.take_profit or 0.0),
    )
    metrics = compute_metrics(
        equity,
        position,
        trades,
        ts,
        initial_capital=float(config.initial_capital),
        bars_per_year=config.bars_per_year,
    )
    return BacktestResult(ts, equity, position, Trades(trades, ts), metrics, config)
