"""Strategies: registry and validation, independent re-implementations, no look-ahead."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines.app.backtest_plan import plan_backtest
from pipelines.backtest import (
    BacktestConfig,
    get_strategy,
    list_strategies,
    run_backtest,
    run_strategy,
    validate_strategy_params,
)
from pipelines.backtest.strategies import strategy_name
from pipelines.errors import InvalidRequestError
from pipelines.settings import Settings

BUILTINS = ("bollinger_breakout", "buy_and_hold", "ml_predictive", "rsi_reversion", "sma_cross")


def test_list_strategies_schema() -> None:
    listed = {s["name"]: s for s in list_strategies()}
    assert set(BUILTINS) <= set(listed)
    sma = {p["name"]: p for p in listed["sma_cross"]["params"]}
    assert sma["fast"] == {
        "name": "fast",
        "type": "integer",
        "default": 10,
        "required": False,
        "description": "fast SMA period",
        "minimum": 1,
    }
    ml = {p["name"]: p for p in listed["ml_predictive"]["params"]}
    assert ml["model_name"]["required"] and ml["threshold"]["default"] == 0.2


def test_validation() -> None:
    assert validate_strategy_params("sma_cross", {"fast": 5}) == {"fast": 5, "slow": 20}
    assert validate_strategy_params("rsi_reversion", {"oversold": 25})["oversold"] == 25.0
    with pytest.raises(InvalidRequestError, match="unknown strategy 'nope'"):
        validate_strategy_params("nope", {})
    with pytest.raises(InvalidRequestError, match="no parameter 'fastest'"):
        validate_strategy_params("sma_cross", {"fastest": 3})
    with pytest.raises(InvalidRequestError, match=r"must be an integer, got 2\.5"):
        validate_strategy_params("sma_cross", {"fast": 2.5})
    with pytest.raises(InvalidRequestError, match="must be an integer, got True"):
        validate_strategy_params("sma_cross", {"fast": True})
    with pytest.raises(InvalidRequestError, match="must be a number"):
        validate_strategy_params("rsi_reversion", {"oversold": "low"})
    with pytest.raises(InvalidRequestError, match="required"):
        validate_strategy_params("ml_predictive", {})
    with pytest.raises(InvalidRequestError, match=">= 1"):
        validate_strategy_params("sma_cross", {"fast": 0})


def test_names_differing_only_in_case_and_underscores_find_the_registered_strategy(
    rand_bars: Any, tmp_path: Path
) -> None:
    assert strategy_name("MLPredictive") == "ml_predictive" == strategy_name("ml_predictive")
    assert strategy_name("SmaCross") == "sma_cross" == strategy_name("SMA_CROSS")
    assert strategy_name("BuyAndHold") == "buy_and_hold"
    assert get_strategy("RsiReversion") is get_strategy("rsi_reversion")
    with pytest.raises(InvalidRequestError, match=r"unknown strategy 'SmaCrossing'; available: .*sma_cross"):
        strategy_name("SmaCrossing")
    with pytest.raises(InvalidRequestError, match="strategy 'ml_predictive' has no parameter 'model_path'"):
        validate_strategy_params("MLPredictive", {"model_path": "m"})
    bars = rand_bars(120, seed=3)
    camel = run_strategy(bars, "SmaCross", {"fast": 5, "slow": 20}, BacktestConfig())
    snake = run_strategy(bars, "sma_cross", {"fast": 5, "slow": 20}, BacktestConfig())
    assert camel.metrics == snake.metrics and camel.metrics["num_trades"] > 0
    plan = plan_backtest(Settings(home=tmp_path), strategy="SmaCross", symbol="AAPL", end="2024-01-01")
    assert plan.strategy == "sma_cross"


def test_sma_cross_matches_pandas(rand_bars: Any) -> None:
    bars = rand_bars(400, seed=5)
    got = get_strategy("sma_cross").fn(bars, {"fast": 7, "slow": 30}, None)
    fast = bars["close"].rolling(7).mean()
    slow = bars["close"].rolling(30).mean()
    want = np.where(fast > slow, 1.0, -1.0)
    want[slow.isna().to_numpy()] = 0.0
    np.testing.assert_array_equal(got, want)
    with pytest.raises(InvalidRequestError, match="fast < slow"):
        run_strategy(bars, "sma_cross", {"fast": 30, "slow": 7}, BacktestConfig())


def _wilder_rsi(close: pd.Series, n: int) -> np.ndarray:
    d = close.diff().to_numpy()
    gain, loss = np.clip(d, 0, None), np.clip(-d, 0, None)
    out = np.full(close.size, np.nan)
    ag, al = gain[1 : n + 1].mean(), loss[1 : n + 1].mean()
    out[n] = 100 * ag / (ag + al)
    for i in range(n + 1, close.size):
        ag = (ag * (n - 1) + gain[i]) / n
        al = (al * (n - 1) + loss[i]) / n
        out[i] = 100 * ag / (ag + al)
    return out


def test_rsi_reversion_matches_a_loop(rand_bars: Any) -> None:
    bars = rand_bars(600, seed=11)
    got = get_strategy("rsi_reversion").fn(bars, {"period": 14, "oversold": 35.0, "overbought": 65.0}, None)
    rsi = _wilder_rsi(bars["close"], 14)
    state, want = 0.0, np.zeros(rsi.size)
    for i, v in enumerate(rsi):
        if v < 35:
            state = 1.0
        elif v > 65:
            state = -1.0
        want[i] = state
    np.testing.assert_array_equal(got, want)
    assert (got == 1).any() and (got == -1).any()


def test_bollinger_breakout_matches_a_loop(rand_bars: Any) -> None:
    bars = rand_bars(600, seed=12)
    got = get_strategy("bollinger_breakout").fn(bars, {"period": 20, "nbdev": 1.5}, None)
    close = bars["close"]
    mid = close.rolling(20).mean().to_numpy()
    sd = close.rolling(20).std(ddof=0).to_numpy()
    up, lo = mid + 1.5 * sd, mid - 1.5 * sd
    state, want = 0.0, np.zeros(close.size)
    for i, c in enumerate(close):
        if (state > 0 and c < mid[i]) or (state < 0 and c > mid[i]):
            state = 0.0
        if state == 0 and c > up[i]:
            state = 1.0
        elif state == 0 and c < lo[i]:
            state = -1.0
        want[i] = state
    np.testing.assert_array_equal(got, want)
    assert (got == 1).any() and (got == -1).any()


@pytest.mark.parametrize("name", ["sma_cross", "rsi_reversion", "bollinger_breakout", "buy_and_hold"])
def test_no_look_ahead(rand_bars: Any, name: str) -> None:
    """Changing bars after t changes nothing up to bar t+1's open: targets to t, positions and
    equity to t (the fill at t+1's open uses target t and open t+1 only)."""
    bars = rand_bars(300, seed=21)
    config = BacktestConfig(allow_short=True, commission=0.001, slippage=0.001)
    base = run_strategy(bars, name, {}, config)
    t = 150
    other = rand_bars(300, seed=99)
    altered = bars.copy()
    for col in ("open", "high", "low", "close", "volume"):
        altered.loc[t + 1 :, col] = other.loc[t + 1 :, col].to_numpy() * 1.3
    altered.loc[t + 1, "open"] = bars.loc[t + 1, "open"]
    altered.loc[t + 1, "high"] = max(altered.loc[t + 1, "high"], bars.loc[t + 1, "open"])
    altered.loc[t + 1, "low"] = min(altered.loc[t + 1, "low"], bars.loc[t + 1, "open"])
    alt = run_strategy(altered, name, {}, config)
    strat = get_strategy(name)
    np.testing.assert_array_equal(
        strat.fn(bars, validate_strategy_params(name, {}), None)[: t + 1],
        strat.fn(altered, validate_strategy_params(name, {}), None)[: t + 1],
    )
    np.testing.assert_array_equal(base.position[: t + 2], alt.position[: t + 2])
    np.testing.assert_array_equal(base.equity[: t + 1], alt.equity[: t + 1])


class FixedSignals:
    """A StrategyContext backed by an in-memory signal (what a model would say)."""

    def __init__(self, signal: np.ndarray) -> None:
        self.signal = signal
        self.asked: list[str] = []

    def model_signal(self, model_name: str, bars: pd.DataFrame) -> np.ndarray:
        self.asked.append(model_name)
        return self.signal


def test_ml_predictive_thresholds_and_overrides(bars_from: Any) -> None:
    bars = bars_from([100.0] * 6, close=[100.0] * 6)
    ctx = FixedSignals(np.array([np.nan, 0.5, 0.1, -0.5, 0.25, 0.0]))
    target = get_strategy("ml_predictive").fn(bars, {"model_name": "m", "threshold": 0.2}, ctx)
    np.testing.assert_array_equal(target, [0, 1, 0, -1, 1, 0])
    res = run_strategy(
        bars,
        "ml_predictive",
        {"model_name": "m", "stop_loss_pct": 0.07, "position_size": 0.5},
        BacktestConfig(),
        ctx,
    )
    assert ctx.asked == ["m", "m"] and res.config.stop_loss == 0.07 and res.config.position_size == 0.5
    assert res.position[2] == pytest.approx(0.5 * 10_000 / (100 * 1.001))
    with pytest.raises(InvalidRequestError, match="context"):
        run_strategy(bars, "ml_predictive", {"model_name": "m"}, BacktestConfig())


def test_run_strategy_equals_engine_on_targets(rand_bars: Any) -> None:
    bars = rand_bars(200)
    config = BacktestConfig(commission=0.0005)
    via = run_strategy(bars, "sma_cross", {"fast": 5, "slow": 15}, config)
    direct = run_backtest(bars, get_strategy("sma_cross").fn(bars, {"fast": 5, "slow": 15}, None), config)
    np.testing.assert_array_equal(via.equity, direct.equity)
