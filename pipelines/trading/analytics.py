"""Portfolio analytics: performance over a period and risk, from plain inputs (no store, no web).

Inputs are what the trade store and the daily portfolio snapshots hold: a daily equity series
(date -> portfolio value), the closed trades (:class:`ClosedTrade`), the open positions
(:class:`Position`) and daily close series of symbols. Every fraction is a plain float (0.15 is 15%);
:func:`percent_string` writes one the way the API shows it ("15%"). An undefined value is None
(JSON null), never NaN or infinity.

Definitions:

* A period (:data:`PERIODS`) ending on ``as_of`` (default: the equity series' last date) covers the
  equity points dated from ``as_of - days`` through ``as_of``, so "7d" holds 7 daily returns, and the
  trades closed after ``as_of - days`` through ``as_of``; "all" covers everything.
* Daily returns are between consecutive equity points (a missing day is not filled in).
  ``sharpe_ratio`` and ``max_drawdown`` are the backtester's (:func:`pipelines.backtest.metrics.
  curve_ratios`): mean / sample std of the returns times sqrt(periods per year: 365 for a crypto-only
  portfolio, 252 otherwise), None with fewer than 2 returns or zero variance; the drawdown is
  reported as a positive fraction.
* A trade wins when its pnl > 0 and loses when its pnl < 0 (zero is neither). ``average_win`` and
  ``average_loss`` are mean ``pnl_percent`` fractions of the winners and the losers (the loss
  negative); ``profit_factor`` is gross profit / gross loss in account currency (None without a loss).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from pipelines.backtest.metrics import curve_ratios
from pipelines.errors import InvalidRequestError

__all__ = [
    "PERIODS",
    "ClosedTrade",
    "EquityInput",
    "Position",
    "average_traded_value",
    "beta",
    "close_returns",
    "concentration",
    "correlation_matrix",
    "daily_returns",
    "equity_series",
    "liquidity",
    "percent_string",
    "performance",
    "period_window",
    "risk",
    "risk_level",
    "value_at_risk",
]

PERIODS: dict[str, int | None] = {"1d": 1, "7d": 7, "30d": 30, "90d": 90, "1y": 365, "all": None}
CRYPTO_DAYS_PER_YEAR = 365.0  # a crypto-only portfolio trades every day
MARKET_DAYS_PER_YEAR = 252.0  # otherwise: exchange sessions

EquityInput = pd.Series | Mapping[dt.date, float | Decimal]


@dataclass(frozen=True, slots=True)
class ClosedTrade:
    """A closed trade: when it closed, its pnl in account currency, and that pnl as a fraction of
    the capital it used (``pnl_percent`` 0.02 is 2%)."""

    closed_at: dt.date | dt.datetime
    pnl: Decimal | float
    pnl_percent: float
    symbol: str = ""


def percent_string(fraction: float | Decimal | None, places: int = 2) -> str | None:
    """``fraction`` as a percentage string: 0.15 -> "15%", 0.01234 -> "1.23%", -0.005 -> "-0.5%"
    (at most ``places`` decimals, half-even rounding, no trailing zeros); None stays None."""
    if fraction is None:
        return None
    value = Decimal(str(fraction)) * 100
    if not value.is_finite():
        return None
    text = format(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return ("0" if text in ("-0", "") else text) + "%"


def equity_series(equity: EquityInput) -> pd.Series:
    """Daily portfolio values as a float series indexed by day (UTC dates, ascending; a day given
    twice keeps its last value). A value that is not a finite number >= 0 is an InvalidRequestError."""
    series = equity if isinstance(equity, pd.Series) else pd.Series(dict(equity), dtype=object)
    if series.empty:
        return pd.Series([], index=pd.DatetimeIndex([]), dtype=np.float64)
    index = pd.DatetimeIndex(pd.to_datetime(series.index, utc=True)).tz_localize(None).normalize()
    values = pd.Series(np.asarray([float(v) for v in series.to_numpy()]), index=index)
    values = values[~values.index.duplicated(keep="last")].sort_index()
    if not np.isfinite(values.to_numpy()).all() or (values.to_numpy() < 0).any():
        raise InvalidRequestError("portfolio values must be finite numbers >= 0")
    return values


def period_window(period: str, as_of: dt.date) -> dt.date | None:
    """The first day of ``period`` ending on ``as_of`` (None for "all"); an unknown period is an
    InvalidRequestError naming the allowed ones."""
    if period not in PERIODS:
        raise InvalidRequestError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
    days = PERIODS[period]
    return None if days is None else as_of - dt.timedelta(days=days)


def daily_returns(values: pd.Series) -> pd.Series:
    """Simple returns between consecutive points of :func:`equity_series` (NaN where the previous
    value is 0: dropped)."""
    prev = values.shift(1).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        ret = values.to_numpy() / prev - 1.0
    out = pd.Series(ret, index=values.index)[1:]
    kept: pd.Series = out[np.isfinite(out.to_numpy())]
    return kept


def _day(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def _trade_stats(trades: Sequence[ClosedTrade]) -> dict[str, Any]:
    wins = [t for t in trades if float(t.pnl) > 0]
    losses = [t for t in trades if float(t.pnl) < 0]
    gross_loss = -sum(float(t.pnl) for t in losses)
    gross_win = sum(float(t.pnl) for t in wins)
    return {
        "win_rate": len(wins) / len(trades) if trades else None,
        "average_win": _mean([float(t.pnl_percent) for t in wins]),
        "average_loss": _mean([float(t.pnl_percent) for t in losses]),
        "profit_factor": gross_win / gross_loss if gross_loss > 0 else None,
        "total_trades": len(trades),
        "winning_trades": len(wins),
        "losing_trades": len(losses),
    }


def _curve_stats(values: pd.Series, days_per_year: float) -> dict[str, Any]:
    curve = values.to_numpy(dtype=np.float64)
    total = float(curve[-1] / curve[0] - 1.0) if curve.size and curve[0] > 0 else None
    sharpe, drawdown = curve_ratios(curve, per_year=days_per_year) if curve.size else (None, 0.0)
    if sharpe is not None and not math.isfinite(sharpe):
        sharpe = None
    max_dd = -drawdown if math.isfinite(drawdown) else None
    return {
        "total_return": total,
        "total_return_percent": percent_string(total),
        "sharpe_ratio": sharpe,
        "max_drawdown": max_dd + 0.0 if max_dd is not None else None,
        "max_drawdown_percent": percent_string(max_dd),
    }


def performance(
    period: str,
    equity: EquityInput,
    trades: Sequence[ClosedTrade] = (),
    *,
    crypto_only: bool = False,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Performance of the portfolio over ``period`` (one of :data:`PERIODS`) ending on ``as_of``
    (default: the equity series' last day, else today, UTC); see the module docstring.

    ``equity`` is the daily value series and ``trades`` the closed trades (any dates: those outside
    the period are left out). Returns ``period``, ``start_date``, ``end_date``, ``metrics``
    (total_return, total_return_percent, sharpe_ratio, max_drawdown, max_drawdown_percent, win_rate,
    average_win, average_loss, profit_factor, total/winning/losing_trades) and ``daily_returns``
    (``[{date, return, return_percent}]``, ascending). Empty equity: total_return None.
    """
    values = equity_series(equity)
    if as_of is None:
        as_of = values.index[-1].date() if len(values) else dt.datetime.now(dt.UTC).date()
    first = period_window(period, as_of)
    inside = values.index <= pd.Timestamp(as_of)
    if first is not None:
        inside &= values.index >= pd.Timestamp(first)
    kept = values[inside]
    in_period = [
        t for t in trades if _day(t.closed_at) <= as_of and (first is None or _day(t.closed_at) > first)
    ]
    per_year = CRYPTO_DAYS_PER_YEAR if crypto_only else MARKET_DAYS_PER_YEAR
    returns = daily_returns(kept)
    return {
        "period": period,
        "start_date": kept.index[0].date().isoformat() if len(kept) else None,
        "end_date": as_of.isoformat(),
        "metrics": {**_curve_stats(kept, per_year), **_trade_stats(in_period)},
        "daily_returns": [
            {"date": day.date().isoformat(), "return": float(r), "return_percent": percent_string(float(r))}
            for day, r in zip(returns.index, returns.to_numpy(), strict=True)
        ],
    }


# --- risk -------------------------------------------------------------------------------------------

MIN_VAR_RETURNS = 20  # fewer daily returns say too little about a 1-in-20 (let alone 1-in-100) day
MIN_CORRELATION_RETURNS = 3  # common days two symbols need for a correlation
RISK_LEVELS = ((0.02, "low"), (0.05, "medium"))  # 95% VaR below 2%: low, below 5%: medium, else high
LIQUIDITY_LEVELS = ((0.01, "low"), (0.10, "medium"))  # notional / average daily traded value
TRADED_VALUE_DAYS = 30  # days the average daily traded value is taken over


@dataclass(frozen=True, slots=True)
class Position:
    """An open position: its symbol, signed quantity and the latest price it is marked at."""

    symbol: str
    quantity: Decimal | float
    price: Decimal | float

    @property
    def notional(self) -> float:
        return abs(float(self.quantity) * float(self.price))


def value_at_risk(returns: pd.Series | Sequence[float], confidence: float) -> float | None:
    """Historical VaR: the loss (a positive fraction, 0 when even that quantile is a gain) at the
    ``1 - confidence`` quantile of the daily returns (numpy's linear interpolation); None with fewer
    than :data:`MIN_VAR_RETURNS` returns."""
    values = np.asarray(returns, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size < MIN_VAR_RETURNS:
        return None
    return max(-float(np.quantile(values, 1.0 - confidence)), 0.0)


def close_returns(closes: pd.Series) -> pd.Series:
    """Daily simple returns of a close series indexed by time (one close a day: the day's last)."""
    return daily_returns(equity_series(closes))


def beta(portfolio: pd.Series, benchmark: pd.Series) -> float | None:
    """cov(portfolio, benchmark) / var(benchmark) of daily returns on their common days (sample
    statistics); None with fewer than 2 common days or a benchmark without variance."""
    both = pd.concat([portfolio, benchmark], axis=1, join="inner").dropna()
    if len(both) < 2:
        return None
    p, b = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
    var = float(np.var(b, ddof=1))
    if var == 0.0:
        return None
    result = float(np.cov(p, b, ddof=1)[0, 1]) / var
    return result if math.isfinite(result) else None


def correlation_matrix(returns: Mapping[str, pd.Series]) -> dict[str, dict[str, float | None]]:
    """Pearson correlation of each symbol's daily returns with every other symbol's, on their common
    days (None with fewer than :data:`MIN_CORRELATION_RETURNS` of them or a flat series)."""
    if len(returns) < 2:
        return {name: {} for name in returns}
    frame = pd.DataFrame(dict(returns))
    corr = frame.corr(min_periods=MIN_CORRELATION_RETURNS).to_numpy(dtype=np.float64)
    names = list(returns)
    return {
        a: {
            b: (float(corr[i, j]) if math.isfinite(corr[i, j]) else None)
            for j, b in enumerate(names)
            if j != i
        }
        for i, a in enumerate(names)
    }


def concentration(positions: Sequence[Position]) -> float | None:
    """The largest position's share of the total notional (1.0: everything in one symbol); None
    without positions."""
    total = sum(p.notional for p in positions)
    return max(p.notional for p in positions) / total if total > 0 else None


def risk_level(var_95: float | None) -> str | None:
    """``low``, ``medium`` or ``high`` from the 95% VaR (:data:`RISK_LEVELS`); None when unknown."""
    if var_95 is None:
        return None
    return next((label for bound, label in RISK_LEVELS if var_95 < bound), "high")


def average_traded_value(bars: pd.DataFrame, days: int = TRADED_VALUE_DAYS) -> float | None:
    """Mean close * volume of the last ``days`` daily bars (``close``, ``volume`` columns)."""
    tail = bars.tail(days)
    if tail.empty:
        return None
    value = float((tail["close"].astype(float) * tail["volume"].astype(float)).mean())
    return value if math.isfinite(value) else None


def liquidity(positions: Sequence[Position], traded_value: Mapping[str, float | None]) -> str | None:
    """The worst position's notional / average daily traded value of its symbol, as ``low``,
    ``medium`` or ``high`` (:data:`LIQUIDITY_LEVELS`); a symbol with no traded value known is
    ``high``; None without positions."""
    if not positions:
        return None
    worst = 0.0
    for p in positions:
        daily = traded_value.get(p.symbol)
        worst = max(worst, p.notional / daily if daily else math.inf)
    return next((label for bound, label in LIQUIDITY_LEVELS if worst < bound), "high")


def risk(
    equity: EquityInput,
    positions: Sequence[Position] = (),
    closes: Mapping[str, pd.Series] | None = None,
    *,
    benchmark: pd.Series | None = None,
    traded_value: Mapping[str, float | None] | None = None,
) -> dict[str, Any]:
    """Risk of the portfolio: ``var_95``/``var_99`` of its daily returns, ``portfolio_risk`` from the
    95% VaR, ``beta`` against the ``benchmark`` close series, ``correlation_matrix`` of the held
    symbols' daily returns (``closes``: daily close series by symbol), ``concentration_risk`` (largest
    position weight) and ``liquidity_risk`` (``traded_value``: average daily traded value by symbol,
    see :func:`average_traded_value`). ``notes`` says why a value is null."""
    returns = daily_returns(equity_series(equity))
    closes = closes or {}
    held = [p.symbol for p in positions if p.symbol in closes]
    var_95, var_99 = value_at_risk(returns, 0.95), value_at_risk(returns, 0.99)
    beta_value = beta(returns, close_returns(benchmark)) if benchmark is not None else None
    notes = []
    if var_95 is None:
        notes.append(f"VaR needs at least {MIN_VAR_RETURNS} daily returns; the portfolio has {len(returns)}")
    if beta_value is None:
        notes.append("beta needs 2 or more days with both portfolio and benchmark returns")
    if not positions:
        notes.append("no open positions: no concentration or liquidity risk")
    return {
        "portfolio_risk": risk_level(var_95),
        "var_95": var_95,
        "var_99": var_99,
        "beta": beta_value,
        "correlation_matrix": correlation_matrix({s: close_returns(closes[s]) for s in dict.fromkeys(held)}),
        "concentration_risk": concentration(positions),
        "liquidity_risk": liquidity(positions, traded_value or {}),
        "notes": notes,
    }
