"""Trading analytics against hand-computed values: a known equity series and trades, and the edge
cases (empty, one day, no losses, flat)."""

from __future__ import annotations

import datetime as dt
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from pipelines.backtest.metrics import compute_metrics
from pipelines.errors import InvalidRequestError
from pipelines.trading.analytics import (
    ClosedTrade,
    Position,
    average_traded_value,
    beta,
    concentration,
    correlation_matrix,
    liquidity,
    percent_string,
    performance,
    risk,
    risk_level,
    value_at_risk,
)

D = dt.date
EQUITY = {D(2024, 1, 1): 100.0, D(2024, 1, 2): 110.0, D(2024, 1, 3): 99.0, D(2024, 1, 4): 118.8}
TRADES = [
    ClosedTrade(dt.datetime(2024, 1, 2, 15, 0), Decimal("10"), 0.10),
    ClosedTrade(D(2024, 1, 3), Decimal("-4"), -0.04),
    ClosedTrade(D(2024, 1, 4), Decimal("5"), 0.05),
    ClosedTrade(D(2024, 1, 4), Decimal("0"), 0.0),  # neither a win nor a loss
    ClosedTrade(D(2023, 6, 1), Decimal("-100"), -0.5),  # before every period but "all"
]


def test_performance_of_a_known_series_and_trades() -> None:
    out = performance("7d", EQUITY, TRADES)
    m = out["metrics"]
    # Returns +10%, -10%, +20%: mean 1/15, sample std sqrt(0.07/3), annualised with sqrt(252).
    assert m["total_return"] == pytest.approx(0.188) and m["total_return_percent"] == "18.8%"
    assert m["sharpe_ratio"] == pytest.approx((1 / 15) / math.sqrt(0.07 / 3) * math.sqrt(252))
    assert m["max_drawdown"] == pytest.approx(0.1) and m["max_drawdown_percent"] == "10%"
    assert (m["total_trades"], m["winning_trades"], m["losing_trades"]) == (4, 2, 1)
    assert m["win_rate"] == 0.5
    assert m["average_win"] == pytest.approx(0.075) and m["average_loss"] == pytest.approx(-0.04)
    assert m["profit_factor"] == pytest.approx(15 / 4)
    assert [r["date"] for r in out["daily_returns"]] == ["2024-01-02", "2024-01-03", "2024-01-04"]
    assert [r["return"] for r in out["daily_returns"]] == pytest.approx([0.1, -0.1, 0.2])
    assert [r["return_percent"] for r in out["daily_returns"]] == ["10%", "-10%", "20%"]
    assert (out["period"], out["start_date"], out["end_date"]) == ("7d", "2024-01-01", "2024-01-04")
    crypto = performance("7d", EQUITY, TRADES, crypto_only=True)["metrics"]["sharpe_ratio"]
    assert crypto == pytest.approx(m["sharpe_ratio"] * math.sqrt(365 / 252))


def test_periods_cut_the_series_and_the_trades() -> None:
    one = performance("1d", EQUITY, TRADES)
    assert one["start_date"] == "2024-01-03" and one["metrics"]["total_return"] == pytest.approx(0.2)
    assert one["metrics"]["sharpe_ratio"] is None  # one return
    assert one["metrics"]["total_trades"] == 2 and one["metrics"]["profit_factor"] is None  # no loss
    every = performance("all", EQUITY, TRADES)["metrics"]
    assert every["total_trades"] == 5 and every["average_loss"] == pytest.approx(-0.27)
    earlier = performance("1d", EQUITY, TRADES, as_of=D(2024, 1, 2))
    assert earlier["metrics"]["total_return"] == pytest.approx(0.1) and earlier["end_date"] == "2024-01-02"
    as_series = pd.Series(list(EQUITY.values()), index=pd.to_datetime(list(EQUITY), utc=True))
    assert performance("30d", as_series, TRADES) == performance("30d", EQUITY, TRADES)


def test_an_unknown_period_names_the_allowed_ones() -> None:
    with pytest.raises(InvalidRequestError, match=r"'2w'.*1d, 7d, 30d, 90d, 1y, all"):
        performance("2w", EQUITY)


def test_edge_cases_are_null_never_nan() -> None:
    empty = performance("all", {})
    assert empty["metrics"]["total_return"] is None and empty["metrics"]["total_return_percent"] is None
    assert empty["metrics"]["sharpe_ratio"] is None and empty["daily_returns"] == []
    assert empty["metrics"]["win_rate"] is None and empty["metrics"]["total_trades"] == 0
    one_day = performance("all", {D(2024, 1, 1): 50.0})["metrics"]
    assert one_day["total_return"] == 0.0 and one_day["sharpe_ratio"] is None
    assert one_day["max_drawdown"] == 0.0
    flat = performance("all", {D(2024, 1, d): 100.0 for d in range(1, 11)})["metrics"]
    assert flat["total_return"] == 0.0 and flat["sharpe_ratio"] is None and flat["max_drawdown"] == 0.0
    wins = performance("all", EQUITY, [ClosedTrade(D(2024, 1, 2), 3.0, 0.03)])["metrics"]
    assert wins["profit_factor"] is None and wins["average_loss"] is None and wins["win_rate"] == 1.0
    with pytest.raises(InvalidRequestError, match="finite"):
        performance("all", {D(2024, 1, 1): float("nan")})


@pytest.mark.parametrize(
    ("fraction", "text"),
    [(0.15, "15%"), (0.01234, "1.23%"), (-0.005, "-0.5%"), (0.0, "0%"), (1.0, "100%"), (-0.00001, "0%")],
)
def test_percent_strings(fraction: float, text: str) -> None:
    assert percent_string(fraction) == text
    assert percent_string(None) is None


def _days(values: list[float]) -> pd.Series:
    return pd.Series(values, index=pd.date_range("2024-01-01", periods=len(values), freq="D"))


def test_historical_var_needs_twenty_returns() -> None:
    returns = [-0.05, -0.03] + [0.01] * 19  # 21 returns: the 5% quantile is the 2nd smallest
    assert value_at_risk(returns, 0.95) == pytest.approx(0.03)
    # 1% of 20 positions: 0.2 of the way from -5% to -3%.
    assert value_at_risk(returns, 0.99) == pytest.approx(0.046)
    assert value_at_risk(returns[:19], 0.95) is None
    assert value_at_risk([0.01] * 30, 0.95) == 0.0  # not a loss
    assert [risk_level(v) for v in (None, 0.01, 0.02, 0.049, 0.05)] == [
        None,
        "low",
        "medium",
        "medium",
        "high",
    ]


def test_beta_and_correlations() -> None:
    bench = pd.Series([0.01, -0.02, 0.03, 0.0], index=pd.date_range("2024-01-02", periods=4))
    assert beta(bench * 2 + 0.001, bench) == pytest.approx(2.0)
    assert beta(bench, bench * 0) is None and beta(bench[:1], bench) is None
    a = _days([100, 101, 99, 102, 104, 103.0])
    b = a * 3  # same returns
    c = _days([50, 49.5, 50.5, 49, 48, 48.5])  # moves against a
    closes = {"A": a, "B": b, "C": c}
    ret = {k: v.pct_change().dropna() for k, v in closes.items()}
    matrix = correlation_matrix(ret)
    assert matrix["A"]["B"] == pytest.approx(1.0) and set(matrix["A"]) == {"B", "C"}
    assert matrix["A"]["C"] == pytest.approx(float(np.corrcoef(ret["A"], ret["C"])[0, 1]))
    assert matrix["A"]["C"] < 0 and matrix["C"]["A"] == matrix["A"]["C"]
    assert correlation_matrix({"A": ret["A"]}) == {"A": {}}


def test_concentration_and_liquidity() -> None:
    positions = [Position("A", Decimal("2"), Decimal("30")), Position("B", -1.0, 40.0)]
    assert concentration(positions) == pytest.approx(0.6)  # 60 of 100
    assert concentration([]) is None
    assert liquidity(positions, {"A": 1e6, "B": 1e6}) == "low"
    assert liquidity(positions, {"A": 1e6, "B": 1000.0}) == "medium"  # 4%
    assert liquidity(positions, {"A": 1e6}) == "high"  # B's traded value unknown
    assert liquidity([], {}) is None
    bars = pd.DataFrame({"close": [10.0, 20.0, 30.0], "volume": [1.0, 1.0, 2.0]})
    assert average_traded_value(bars, days=2) == pytest.approx(40.0)
    assert average_traded_value(bars.iloc[:0]) is None


def test_risk_report() -> None:
    values = 100 * np.cumprod([1.0] + [1.01, 0.98] * 12)  # alternating +1%, -2%
    equity = _days(list(values))
    closes = {"A": _days(list(values * 2)), "B": _days(list(range(100, 125)))}
    out = risk(
        equity,
        [Position("A", 1, 50), Position("B", 1, 150)],
        closes,
        benchmark=_days(list(values * 5)),
        traded_value={"A": 1e9, "B": 1e9},
    )
    assert out["var_95"] == pytest.approx(0.02) and out["portfolio_risk"] == "medium"
    assert out["beta"] == pytest.approx(1.0) and out["concentration_risk"] == pytest.approx(0.75)
    assert out["liquidity_risk"] == "low" and set(out["correlation_matrix"]) == {"A", "B"}
    assert out["notes"] == []
    short = risk(equity[:5])
    assert short["var_95"] is None and short["portfolio_risk"] is None and short["beta"] is None
    assert any("20 daily returns" in n for n in short["notes"])
    assert short["concentration_risk"] is None and short["correlation_matrix"] == {}


def test_sharpe_and_drawdown_are_the_backtesters() -> None:
    curve = np.array(list(EQUITY.values()))
    days = np.arange(curve.size, dtype=np.int64) * 86_400_000_000_000
    bt = compute_metrics(
        curve, np.zeros_like(curve), np.zeros((0, 10)), days, initial_capital=100.0, bars_per_year=252.0
    )
    m = performance("all", EQUITY)["metrics"]
    assert m["sharpe_ratio"] == bt["sharpe_ratio"] and m["max_drawdown"] == -bt["max_drawdown"]
