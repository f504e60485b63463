"""Benchmark comparison and the honest blocks of backtests, walk-forwards and comparisons."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from pipelines.app.honest_results import honest_metrics
from pipelines.backtest import BacktestConfig, run_strategy, walk_forward
from pipelines.backtest.benchmark_compare import buy_and_hold_on, verdict, versus
from pipelines.backtest.honest import (
    compare_significance,
    honest_backtest,
    honest_walk_forward,
    trust_lines,
)
from pipelines.backtest.significance import bar_returns, sharpe_significance, walk_forward_efficiency
from pipelines.features.inputs import utc_nanos


def test_versus_recovers_a_known_beta_and_alpha() -> None:
    """r = 0.5 b + 0.001 each bar: beta 0.5, alpha 0.001 a bar (0.252 a year), information ratio of
    the active returns -0.5 b + 0.001."""
    rng = np.random.default_rng(2)
    rb = rng.normal(0.0005, 0.01, 500)
    rs = 0.5 * rb + 0.001
    ts = np.arange(501, dtype=np.int64) * 86_400 * 10**9
    bench = 100.0 * np.concatenate(([1.0], np.cumprod(1 + rb)))
    strat = 100.0 * np.concatenate(([1.0], np.cumprod(1 + rs)))
    out = versus(ts, strat, ts, bench, per_year=252)
    assert out["common_bars"] == 501
    assert out["beta"] == pytest.approx(0.5)
    assert out["alpha"] == pytest.approx(0.252)
    active = rs - rb
    assert out["information_ratio"] == pytest.approx(active.mean() / active.std(ddof=1) * math.sqrt(252))
    assert out["excess_return"] == pytest.approx(strat[-1] / 100 - bench[-1] / 100)
    # only every other bar in common: the comparison runs on those
    half = versus(ts, strat, ts[::2], bench[::2], per_year=252)
    assert half["common_bars"] == 251
    assert versus(ts[:2], strat[:2], ts[:2], bench[:2], per_year=252)["beta"] is None


def test_verdicts() -> None:
    assert verdict(0.031, "AAPL") == "beat buy and hold of AAPL by 3.1% a year"
    assert verdict(-0.12, "AAPL") == "did not beat buy and hold of AAPL (12.0% a year behind)"
    assert verdict(0.0, "SPY").startswith("did not beat buy and hold of SPY")
    assert "too few" in verdict(None, "SPY")


def test_benchmark_is_the_engines_buy_and_hold_on_the_results_bars(rand_bars: Any) -> None:
    bars = rand_bars(400, seed=1)
    config = BacktestConfig(commission=0.002, slippage=0.001, stop_loss=0.05)
    result = run_strategy(
        bars.iloc[100:].reset_index(drop=True), "sma_cross", {"fast": 5, "slow": 20}, config
    )
    honest = honest_backtest(bars, result, symbol="XYZ")  # the bars reach before the result
    direct = run_strategy(
        bars.iloc[100:].reset_index(drop=True), "buy_and_hold", {}, config.with_overrides(stop_loss=None)
    )
    assert honest.benchmark_result.final_equity == pytest.approx(direct.final_equity)
    b = honest.benchmark
    assert b["symbol"] == "XYZ" and b["total_return"] == pytest.approx(direct.metrics["total_return"])
    assert b["excess_return"] == pytest.approx(
        result.metrics["total_return"] - direct.metrics["total_return"]
    )
    assert b["excess_annual_return"] == pytest.approx(
        result.metrics["annual_return"] - direct.metrics["annual_return"]
    )
    assert b["verdict"] == verdict(b["excess_annual_return"], "XYZ") and b["others"] == []
    s = honest.significance
    assert s["sharpe_ratio"] == pytest.approx(result.metrics["sharpe_ratio"])
    assert s["benchmark_sharpe"] == pytest.approx(direct.metrics["sharpe_ratio"])
    assert 0.0 <= s["psr_vs_zero"] <= 1.0 and 0.0 <= s["psr_vs_benchmark"] <= 1.0
    assert s["trials"] == 1 and s["deflated_sharpe"] is None


def test_buy_and_hold_against_itself_and_another_symbol(rand_bars: Any) -> None:
    bars = rand_bars(300, seed=2)
    other = rand_bars(600, seed=9).iloc[::2].reset_index(drop=True)  # every other day
    config = BacktestConfig()
    result = run_strategy(bars, "buy_and_hold", {}, config)
    honest = honest_backtest(bars, result, symbol="AAA", others=[("BBB", other)])
    b = honest.benchmark
    assert b["excess_return"] == pytest.approx(0.0, abs=1e-12)
    assert b["beta"] == pytest.approx(1.0)
    assert b["verdict"].startswith("did not beat buy and hold of AAA")
    (vs_other,) = b["others"]
    assert vs_other["symbol"] == "BBB" and vs_other["common_bars"] == 150
    assert vs_other["verdict"] == verdict(vs_other["excess_annual_return"], "BBB")
    first = utc_nanos(bars["timestamp"])[0]
    assert buy_and_hold_on(other, result.timestamps_ns, config).timestamps_ns[0] == first
    labels = [label for label, _ in trust_lines(honest.as_dict())]
    assert labels[:2] == ["benchmark", ""] and labels[-1] == "verdict"


def test_walk_forward_carries_in_sample_metrics_and_efficiency(rand_bars: Any) -> None:
    bars = rand_bars(500, seed=8)
    config = BacktestConfig(allow_short=True)
    kwargs: dict[str, Any] = {
        "train_window": 200,
        "test_window": 60,
        "config": config,
        "feature_set": "minimal",
        "threshold": 0.05,
        "n_jobs": 1,
    }
    res = walk_forward(bars, "simple", **kwargs)
    assert all(f.in_sample_metrics is not None for f in res.folds)
    assert res.as_dict()["folds"][0]["in_sample_metrics"]["num_trades"] >= 0
    honest = honest_walk_forward(bars, res, config, symbol="XYZ")
    expected = walk_forward_efficiency(
        [f.in_sample_metrics["sharpe_ratio"] for f in res.folds if f.in_sample_metrics],
        [f.result.metrics["sharpe_ratio"] for f in res.folds],
    )
    assert honest.significance["walk_forward_efficiency"] == expected
    assert honest.benchmark_result.timestamps_ns[0] == res.timestamps_ns[0]
    assert honest.benchmark_result.num_bars == res.equity.size
    assert any(label == "wf efficiency" for label, _ in trust_lines(honest.as_dict()))
    sig = honest.significance
    assert sig["verdict"] == dict(trust_lines(honest.as_dict()))["verdict"]
    assert sig["verdict"].startswith("Sharpe ratio above 0: ") and sig["verdict"].endswith(" at 95%")
    # MLflow gets the efficiency with the two Sharpe ratios it divides (so a None efficiency, an
    # in-sample mean <= 0, still shows why)
    metrics = honest_metrics("wf_", honest.as_dict())
    for name in ("in_sample_sharpe", "out_of_sample_sharpe"):
        assert metrics[f"wf_{name}"] == pytest.approx(sig[name])
    if expected is not None:
        assert metrics["wf_walk_forward_efficiency"] == pytest.approx(
            metrics["wf_out_of_sample_sharpe"] / metrics["wf_in_sample_sharpe"]
        )
    bare = walk_forward(bars, "simple", in_sample=False, **kwargs)
    assert all(f.in_sample_metrics is None for f in bare.folds)
    assert np.array_equal(bare.equity, res.equity)
    assert (
        honest_walk_forward(bars, bare, config, symbol="XYZ").significance["walk_forward_efficiency"] is None
    )


def test_compare_significance_deflates_by_the_strategies_compared(rand_bars: Any) -> None:
    bars = rand_bars(600, seed=3)
    config = BacktestConfig()
    results = {
        f"sma_{fast}": run_strategy(bars, "sma_cross", {"fast": fast, "slow": 40}, config)
        for fast in (5, 10, 20)
    }
    block = compare_significance(results, benchmark_sharpe=0.3)
    sharpes = {k: r.metrics["sharpe_ratio"] for k, r in results.items()}
    assert block["best"] == max(sharpes, key=lambda k: sharpes[k])
    assert block["trials"] == 3
    assert block["trials_sharpe_variance"] == pytest.approx(float(np.var(list(sharpes.values()), ddof=1)))
    assert block["deflated_sharpe"] is not None and block["deflated_sharpe"] <= block["psr_vs_zero"]
    assert block["overfitting"]["trials"] == 3 and 0.0 <= block["overfitting"]["pbo"] <= 1.0
    single = compare_significance({"one": results["sma_5"]}, benchmark_sharpe=None)
    assert single["deflated_sharpe"] is None and single["overfitting"] is None


def test_a_curve_that_reaches_zero_gives_nones_not_warnings() -> None:
    ts = np.arange(6, dtype=np.int64)
    ruined = np.array([100.0, 90.0, 50.0, 0.0, 0.0, 0.0])
    bench = np.array([100.0, 101.0, 102.0, 103.0, 104.0, 105.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = versus(ts, ruined, ts, bench, per_year=252)
        block = sharpe_significance(bar_returns(ruined), per_year=252)
    assert out["excess_return"] == pytest.approx(-1.05)
    assert out["beta"] is None and out["information_ratio"] is None
    assert block["observations"] == 3 and block["min_track_record_bars"] is None
    assert block["significant"] is False
