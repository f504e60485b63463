"""The engine on tiny hand-computed scenarios: fills, fees, stops, sizing, shorts, edge cases."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from pipelines.backtest import BacktestConfig, commission, entry_units, fill_price, run_backtest
from pipelines.backtest.costs import BUY, SELL
from pipelines.errors import InvalidRequestError

OPENS = [100.0, 102.0, 104.0, 106.0, 108.0, 110.0]
CLOSES = [101.0, 103.0, 105.0, 107.0, 109.0, 111.0]


def cfg(**kw: Any) -> BacktestConfig:
    base: dict[str, Any] = {"initial_capital": 10_000.0, "commission": 0.0, "slippage": 0.0}
    base.update(kw)
    return BacktestConfig(**base)


def test_single_long_trade_with_commission_and_slippage(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [1, 1, 1, 0, 0, 0], cfg(commission=0.001, slippage=0.01))
    # signal at bar 0's close -> buy at bar 1's open, 1% worse, 0.1% fee, spending all 10,000
    buy = 102.0 * 1.01
    units = 10_000.0 / (buy * 1.001)
    cash = 10_000.0 - units * buy - units * buy * 0.001
    assert cash == pytest.approx(0.0, abs=1e-9)
    sell = 108.0 * 0.99  # target 0 at bar 3's close -> sell at bar 4's open
    final = cash + units * sell - units * sell * 0.001
    expected_equity = [10_000.0, cash + units * 103, cash + units * 105, cash + units * 107, final, final]
    np.testing.assert_allclose(res.equity, expected_equity, rtol=1e-12)
    np.testing.assert_allclose(res.position, [0, units, units, units, 0, 0], rtol=1e-12)
    (trade,) = res.trades.to_records()
    assert trade["side"] == "long" and trade["exit_reason"] == "signal"
    assert trade["entry_price"] == pytest.approx(buy) and trade["exit_price"] == pytest.approx(sell)
    assert trade["size"] == pytest.approx(units)
    assert trade["pnl"] == pytest.approx(final - 10_000.0)
    assert trade["pnl_pct"] == pytest.approx((final - 10_000.0) / (units * buy))
    assert trade["commission"] == pytest.approx(units * (buy + sell) * 0.001)
    assert (trade["entry_bar"], trade["exit_bar"], trade["duration_bars"]) == (1, 4, 3)
    assert trade["duration_seconds"] == 3 * 86_400.0
    assert trade["entry_time"] == "2024-01-02T00:00:00+00:00"
    assert res.final_equity == pytest.approx(final) and res.num_bars == 6
    assert res.metrics["num_trades"] == 1 and res.metrics["exposure"] == pytest.approx(3 / 6)


def test_fills_replayed_through_costs_module_match_the_engine(rand_bars: Any) -> None:
    """The paper broker will call costs.py; the kernel must produce exactly the same fills."""
    bars = rand_bars(60, seed=3)
    rng = np.random.default_rng(1)
    target = rng.choice([-1.0, 0.0, 1.0], size=60)
    config = cfg(commission=0.002, slippage=0.003, allow_short=True)
    res = run_backtest(bars, target, config)
    cash, units, last = 10_000.0, 0.0, 0.0
    opens = bars["open"].to_numpy()
    for i in range(1, 60):
        if target[i - 1] == last:
            continue
        last = target[i - 1]
        if units != 0.0:  # every change of a +-1/0 target closes the position
            side = SELL if units > 0 else BUY
            px = fill_price(side, opens[i], config.slippage)
            cash += units * px - commission(units * px, config.commission)
            units = 0.0
        if last != 0.0:
            side = BUY if last > 0 else SELL
            px = fill_price(side, opens[i], config.slippage)
            units = side * entry_units(cash, px, config.commission)
            cash -= units * px + commission(units * px, config.commission)
        assert res.position[i] == units
        assert res.equity[i] == cash + units * bars["close"].iloc[i]
    assert len(res.trades) > 5


def test_short_trade(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [-1, -1, 0, 0, 0, 0], cfg(commission=0.001, slippage=0.01, allow_short=True))
    sell = 102.0 * 0.99
    units = 10_000.0 / (sell * 1.001)
    cash = 10_000.0 + units * sell - units * sell * 0.001
    buy = 106.0 * 1.01
    final = cash - units * buy - units * buy * 0.001
    assert res.position[1] == pytest.approx(-units)
    assert res.equity[2] == pytest.approx(cash - units * 105.0)
    assert res.final_equity == pytest.approx(final)
    (trade,) = res.trades.to_records()
    assert trade["side"] == "short" and trade["pnl"] == pytest.approx(final - 10_000.0) and trade["pnl"] < 0


def test_shorts_are_clipped_to_flat_unless_allowed(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [-1, -1, 0, 0, 0, 0], cfg())
    assert len(res.trades) == 0 and res.final_equity == 10_000.0


def test_flip_closes_and_reopens_at_the_same_open(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [1, -1, -1, -1, -1, -1], cfg(allow_short=True))
    first, second = res.trades.to_records()
    assert (first["exit_bar"], first["exit_reason"]) == (2, "signal")
    assert (second["entry_bar"], second["side"]) == (2, "short")
    assert first["exit_price"] == pytest.approx(104.0) and second["entry_price"] == pytest.approx(104.0)
    assert second["exit_reason"] == "end" and second["exit_price"] == pytest.approx(111.0)
    units = 10_000.0 / 102.0
    assert first["pnl"] == pytest.approx(units * 2.0)
    assert second["size"] == pytest.approx((10_000.0 + units * 2.0) / 104.0)


def test_stop_loss_intrabar_and_gap_through(bars_from: Any) -> None:
    opens = [100.0, 100.0, 99.0, 99.0, 99.0, 99.0]
    lows = [99.0, 99.0, 94.0, 98.0, 98.0, 98.0]
    bars = bars_from(opens, low=lows, high=[o + 1 for o in opens])
    res = run_backtest(bars, [1] * 6, cfg(stop_loss=0.05))
    (trade,) = res.trades.to_records()
    units = 100.0  # 10,000 at 100
    assert (trade["exit_reason"], trade["exit_bar"], trade["exit_price"]) == ("stop_loss", 2, 95.0)
    assert trade["pnl"] == pytest.approx(-5.0 * units) and trade["duration_bars"] == 2
    # flat after the stop while the target stays at 1
    np.testing.assert_array_equal(res.position[2:], 0.0)
    assert res.final_equity == pytest.approx(9_500.0)
    # a bar that opens below the stop fills at its open
    gap = bars_from([100.0, 100.0, 90.0, 91.0], low=[99.0, 99.0, 89.0, 90.0], high=[101, 101, 91, 92])
    (trade,) = run_backtest(gap, [1] * 4, cfg(stop_loss=0.05)).trades.to_records()
    assert trade["exit_price"] == 90.0 and trade["pnl"] == pytest.approx(-1_000.0)


def test_re_entry_after_stop_needs_a_new_target(bars_from: Any) -> None:
    opens = [100.0, 100.0, 99.0, 99.0, 99.0, 99.0]
    bars = bars_from(opens, low=[99.0, 99.0, 94.0, 98.0, 98.0, 98.0], high=[o + 1 for o in opens])
    res = run_backtest(bars, [1, 1, 1, 0, 1, 1], cfg(stop_loss=0.05))
    reasons = [t["exit_reason"] for t in res.trades.to_records()]
    assert reasons == ["stop_loss", "end"]
    assert res.trades.to_records()[1]["entry_bar"] == 5


def test_take_profit_and_gap_and_stop_first(bars_from: Any) -> None:
    bars = bars_from([100.0, 100.0, 105.0, 105.0], high=[101, 101, 111, 106], low=[99, 99, 104, 104])
    (trade,) = run_backtest(bars, [1] * 4, cfg(take_profit=0.1)).trades.to_records()
    assert trade["exit_reason"] == "take_profit" and trade["exit_price"] == pytest.approx(110.0)
    gap = bars_from([100.0, 100.0, 115.0, 115.0], high=[101, 101, 116, 116], low=[99, 99, 114, 114])
    (trade,) = run_backtest(gap, [1] * 4, cfg(take_profit=0.1)).trades.to_records()
    assert trade["exit_price"] == 115.0
    both = bars_from([100.0, 100.0, 100.0], high=[101, 101, 120], low=[99, 99, 80])
    (trade,) = run_backtest(both, [1] * 3, cfg(take_profit=0.1, stop_loss=0.1)).trades.to_records()
    assert trade["exit_reason"] == "stop_loss" and trade["exit_price"] == pytest.approx(90.0)


def test_short_stop_loss(bars_from: Any) -> None:
    bars = bars_from([100.0, 100.0, 101.0], high=[101, 101, 107], low=[99, 99, 100])
    (trade,) = run_backtest(bars, [-1] * 3, cfg(stop_loss=0.05, allow_short=True)).trades.to_records()
    assert trade["exit_reason"] == "stop_loss" and trade["exit_price"] == pytest.approx(105.0)
    assert trade["pnl"] == pytest.approx(-500.0)


def test_position_size_half(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [1, 1, 1, 1, 1, 1], cfg(position_size=0.5, commission=0.001))
    units = 5_000.0 / (102.0 * 1.001)
    assert res.position[-1] == pytest.approx(units)
    cash = 10_000.0 - units * 102.0 * 1.001
    assert cash == pytest.approx(5_000.0)
    assert res.final_equity == pytest.approx(cash + units * 111.0)
    (trade,) = res.trades.to_records()
    assert trade["exit_reason"] == "end" and trade["pnl"] == pytest.approx(res.final_equity - 10_000.0)


def test_fractional_targets_resize_one_trade(bars_from: Any) -> None:
    bars = bars_from([100.0] * 5, close=[100.0] * 5)
    res = run_backtest(bars, [0.5, 1.0, 0.25, 0.25, 0.25], cfg())
    np.testing.assert_allclose(res.position, [0, 50, 100, 25, 25])
    (trade,) = res.trades.to_records()
    assert trade["size"] == pytest.approx(100.0) and trade["pnl"] == pytest.approx(0.0)


def test_no_trades_gives_defined_metrics(bars_from: Any) -> None:
    res = run_backtest(bars_from(OPENS, close=CLOSES), np.zeros(6), cfg())
    m = res.metrics
    assert m["num_trades"] == 0 and m["total_return"] == 0.0 and m["max_drawdown"] == 0.0
    assert m["exposure"] == 0.0 and m["volatility"] == 0.0
    for key in ("win_rate", "profit_factor", "avg_win", "avg_loss", "sharpe_ratio", "sortino_ratio"):
        assert m[key] is None, key
    assert res.as_dict()["equity_curve"][0] == ["2024-01-01T00:00:00+00:00", 10_000.0]


def test_nan_targets_are_flat_and_out_of_range_targets_clip(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    res = run_backtest(bars, [np.nan, 5.0, 5.0, np.nan, 0, 0], cfg())
    np.testing.assert_allclose(res.position, [0, 0, 10_000.0 / 104.0, 10_000.0 / 104.0, 0, 0])


def test_trade_pnls_add_up_to_the_equity_change(rand_bars: Any) -> None:
    bars = rand_bars(500, seed=7)
    rng = np.random.default_rng(2)
    target = np.repeat(rng.uniform(-1, 1, 50).round(1), 10)
    config = cfg(commission=0.001, slippage=0.0005, allow_short=True, stop_loss=0.03, take_profit=0.04)
    res = run_backtest(bars, target, config)
    assert {"stop_loss", "take_profit", "signal"} <= set(res.trades.exit_reasons)
    assert res.trades.pnl.sum() == pytest.approx(res.final_equity - 10_000.0, rel=1e-9)


def test_many_trades_grow_the_buffer(rand_bars: Any) -> None:
    bars = rand_bars(2_000, seed=1)
    target = np.tile([1.0, 0.0], 1_000)
    res = run_backtest(bars, target, cfg())
    # entries at every odd bar's open, exits at the next open; the entry at bar 1999 ends open
    assert len(res.trades) == 1_000
    assert res.trades.exit_reasons.count("end") == 1
    assert res.trades.pnl.sum() == pytest.approx(res.final_equity - 10_000.0)


def test_as_dict_is_json_safe(rand_bars: Any) -> None:
    import json

    res = run_backtest(rand_bars(30), np.ones(30), cfg())
    text = json.dumps(res.as_dict(), allow_nan=False)
    assert '"exit_reason": "end"' in text


@pytest.mark.parametrize(
    "kw",
    [
        {"initial_capital": 0},
        {"commission": 0.1},
        {"slippage": -0.01},
        {"position_size": 0},
        {"position_size": 1.5},
        {"stop_loss": 1.0},
        {"take_profit": 0},
        {"timeframe": "7m"},
        {"allow_short": "yes"},
        {"initial_capital": float("nan")},
    ],
)
def test_bad_config(kw: dict[str, Any]) -> None:
    with pytest.raises(InvalidRequestError):
        BacktestConfig(**kw)


def test_bad_inputs(bars_from: Any) -> None:
    bars = bars_from(OPENS, close=CLOSES)
    with pytest.raises(InvalidRequestError, match="one value per bar"):
        run_backtest(bars, [1, 1], cfg())
    with pytest.raises(InvalidRequestError, match="missing"):
        run_backtest(bars.drop(columns="low"), np.ones(6), cfg())
    broken = bars.copy()
    broken.loc[2, "close"] = np.nan
    with pytest.raises(InvalidRequestError, match="close"):
        run_backtest(broken, np.ones(6), cfg())
    with pytest.raises(InvalidRequestError, match="sorted"):
        run_backtest(bars.iloc[::-1], np.ones(6), cfg())


def test_position_changes_only_after_a_target_change_across_trade_buffer_refills(
    rand_bars: Any,
) -> None:
    """The kernel refills its trade buffer every few dozen trades; resuming must not re-trade an
    unchanged target (it once read the last target back as 0 after an entry, resizing the trade)."""
    bars = rand_bars(2000, seed=4)
    target = np.where((np.arange(2000) // 7) % 2 == 0, 1.0, -1.0)
    result = run_backtest(bars, target, BacktestConfig(allow_short=True, commission=0.001))
    assert len(result.trades) > 200
    moved = np.flatnonzero(np.diff(result.position) != 0.0) + 1
    pending = np.concatenate(([0.0], target[:-1]))  # decided at close i - 1, traded at open i
    assert moved.tolist() == (np.flatnonzero(pending[1:] != pending[:-1]) + 1).tolist()
