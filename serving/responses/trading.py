"""Answers of the prediction, market-data and backtest routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import UNSET, Meta, UnsetType

from serving.responses import Num, Shape
from serving.responses.honest import Benchmark, Significance

__all__ = [
    "Backtest", "Bar", "BatchError", "BatchPredicted", "BatchSummary", "CompareRow", "Comparison",
    "EnsembleMember", "EnsemblePredicted", "EquityPoint", "Fold", "ForecastStep", "FullCurve", "History",
    "MetricCatalog", "MetricInfo", "Metrics", "NamedPrediction", "Period", "PredictMetadata",
    "Predicted", "Prediction", "Quote", "SignalHistory", "SignalMetadata", "SignalPoint",
    "SignalPredicted", "Trade", "TradingConfig",
    "WalkForwardResult",
]  # fmt: skip


# --- predictions --------------------------------------------------------------------------------


# What each bar count of a prediction counts: the signal route's metadata reports both.
BarsComputedFrom = Annotated[
    int,
    Meta(
        description=(
            "Bars the features were computed from: the stored series up to its latest bar, so the "
            "indicators are warmed up (the signal route's metadata.bars_available)."
        )
    ),
]
LookbackBars = Annotated[
    int,
    Meta(
        description=(
            "Bars of the requested lookback window: days_lookback, capped at bars_available; the "
            "prediction's own data_points counts every bar the features were computed from."
        )
    ),
]


class ForecastStep(Shape):
    step: int
    open: Num
    high: Num
    low: Num
    close: Num


class Prediction(Shape):
    model_name: str
    model_version: str
    model_kind: str
    symbol: str
    timeframe: str
    timestamp: str
    latest_date: str
    current_price: Num
    predicted_return: Num
    value: Num
    direction: Literal["up", "down", "flat"]
    signal: Num
    confidence: Num
    recommendation: Literal["BUY", "SELL", "HOLD"]
    horizon: int
    features_used: int
    data_points: BarsComputedFrom
    source: str
    computation_time_ms: float
    forecast: list[ForecastStep] | UnsetType | None = UNSET  # multi_ohlc models only


class NamedPrediction(Prediction, kw_only=True):
    model: str


class PredictMetadata(Shape):
    model_name: str
    model_type: str
    model_version: str
    features_used: int
    computation_time_ms: float
    data_points: BarsComputedFrom
    horizon: int
    source: str
    features_requested: dict[str, list[str]] | UnsetType | None = UNSET  # with ``features``
    volume_features: list[str] | UnsetType | None = UNSET  # with ``features``


class Predicted(Shape):
    status: Literal["success"]
    prediction: NamedPrediction
    metadata: PredictMetadata


class BatchError(Shape):
    symbol: str
    code: str
    message: str


class BatchSummary(Shape):
    total: int
    successful: int
    failed: int
    buy_signals: int
    sell_signals: int
    hold_signals: int


class BatchPredicted(Shape):
    status: Literal["success"]
    model: str
    model_name: str
    predictions: list[Prediction]
    errors: list[BatchError]
    summary: BatchSummary
    timestamp: str


class SignalMetadata(Shape):
    model_type: str
    model_version: str
    data_points: LookbackBars
    bars_available: BarsComputedFrom
    days_lookback: int
    latest_date: str
    features_used: int
    computation_time_ms: float


class SignalPredicted(Prediction, kw_only=True):
    metadata: SignalMetadata


class EnsembleMember(Shape):
    model_name: str
    signal: Num
    confidence: Num
    weight: float
    weighted_signal: Num


class EnsemblePredicted(Shape):
    models_used: list[str]
    symbol: str
    timestamp: str
    ensemble_signal: Num
    ensemble_confidence: Num
    individual_predictions: list[EnsembleMember]
    recommendation: Literal["BUY", "SELL", "HOLD"]
    current_price: Num


class SignalPoint(Shape):
    timestamp: str
    price: Num
    predicted_return: Num
    signal: Num
    confidence: Num
    recommendation: Literal["BUY", "SELL", "HOLD"]


class SignalHistory(Shape):
    model_name: str
    model_version: str
    symbol: str
    timeframe: str
    source: str
    days: int
    count: int
    signals: list[SignalPoint]


# --- market -------------------------------------------------------------------------------------


class Quote(Shape):
    symbol: str
    price: float
    change: Num
    change_percent: Num
    volume: float
    timestamp: str
    previous_close: Num
    source: str
    timeframe: str


class Bar(Shape):
    timestamp: str
    open: float
    high: float
    low: float
    close: float
    volume: float


class History(Shape):
    symbol: str
    period: str
    interval: str
    source: str
    timeframe: str
    resampled: bool
    start: str | None
    end: str | None
    count: int
    bars: list[Bar]


# --- backtests ----------------------------------------------------------------------------------


class Period(Shape):
    start: str
    end: str


class Metrics(Shape):
    """Undefined ratios (no trades, no losses, a flat curve) are null."""

    total_return: Num
    annual_return: Num
    sharpe_ratio: Num
    sortino_ratio: Num
    calmar_ratio: Num
    max_drawdown: Num
    volatility: Num
    num_trades: int
    win_rate: Num
    profit_factor: Num
    avg_win: Num
    avg_loss: Num
    avg_trade_duration: Num
    avg_trade_duration_seconds: Num
    winning_trades: int
    losing_trades: int
    exposure: Num


class TradingConfig(Shape):
    initial_capital: float
    commission: float
    slippage: float
    position_size: float
    allow_short: bool
    stop_loss: float | None
    take_profit: float | None
    timeframe: str
    crypto: bool


class Trade(Shape):
    entry_time: str
    exit_time: str
    entry_bar: int
    exit_bar: int
    side: Literal["long", "short"]
    size: float
    entry_price: float
    exit_price: float
    pnl: float
    pnl_pct: float
    commission: float
    duration_bars: int
    duration_seconds: float
    exit_reason: str


EquityPoint = tuple[str, float]  # [ISO timestamp, equity]


class FullCurve(Shape):
    """Where the whole curve (timestamp, equity, drawdown per bar) and every trade of a cut answer are
    kept: files of the job ``job_id``, Parquet by default, CSV with ``?format=csv``, until ``expires_at``."""

    job_id: str
    equity_curve_url: str
    trades_url: str
    formats: list[Literal["parquet", "csv"]]
    expires_at: str


class CurveInfo(Shape, kw_only=True):
    """How a per-bar answer was cut to ``max_response_points``: the curve keeps each bucket's low and
    high, its first and last points and its deepest drawdown; trades are the first ones. When anything
    was cut, ``full_curve`` says where to download all of it (null otherwise)."""

    equity_curve_points: int
    equity_curve_total_points: int
    equity_curve_downsampled: bool
    equity_curve_method: str | UnsetType | None = UNSET  # when the curve was cut
    trades_total: int
    trades_truncated: bool
    full_curve: FullCurve | None


class Backtest(CurveInfo, kw_only=True):
    model_name: str | None
    strategy: str
    params: dict[str, Any]
    symbol: str
    timeframe: str
    period: Period
    config: TradingConfig
    metrics: Metrics
    final_equity: float
    num_bars: int
    equity_curve: list[EquityPoint]
    trades: list[Trade]
    benchmark: Benchmark | None = None
    significance: Significance | None = None
    status: Literal["success"]


class CompareRow(Metrics):
    label: str
    strategy: str
    params: dict[str, Any]
    final_equity: float


class Comparison(Shape, kw_only=True):
    symbol: str
    timeframe: str
    period: Period
    models_compared: list[str]
    results: list[CompareRow]
    best: str
    benchmark: Benchmark | None = None
    significance: Significance | None = None
    status: Literal["success"]


class Fold(Shape):
    fold: int
    train_start: str
    train_end: str
    test_start: str
    test_end: str
    train_rows: int
    test_rows: int
    final_equity: float
    metrics: Metrics
    in_sample_metrics: Metrics | None = None


class WalkForwardResult(CurveInfo, kw_only=True):
    """``warnings``: each fold that trained on fewer than ``train_window`` rows, and why (no bars
    before ``start_date`` to warm its features); empty when every fold trained on a full window."""

    model_name: str | None
    model_type: str
    symbol: str
    timeframe: str
    period: Period
    train_window: int
    test_window: int
    mode: str
    num_folds: int
    folds: list[Fold]
    metrics: Metrics
    final_equity: float
    equity_curve: list[EquityPoint]
    trades: list[Trade]
    warnings: list[str]
    benchmark: Benchmark | None = None
    significance: Significance | None = None
    status: Literal["success"]


class MetricInfo(Shape):
    name: str
    description: str


class MetricCatalog(Shape):
    metrics: list[MetricInfo]
    count: int
