"""The compare use case: the best run against buy and hold of the symbol and of the settings'
benchmark symbol, its Sharpe ratio deflated by the runs compared."""

from __future__ import annotations

import pytest

from pipelines.app.backtest import api_compare
from pipelines.settings import Settings


def test_compare_carries_its_benchmarks_and_deflated_sharpe(settings: Settings) -> None:
    with_spy = settings.model_copy(update={"backtest_benchmark_symbol": "SPY"})
    assert with_spy.data.backtest_benchmark_symbol == "SPY"
    strategies = [
        {"strategy": "sma_cross", "params": {"fast": fast, "slow": 30}, "label": f"sma_{fast}"}
        for fast in (5, 10)
    ]
    out = api_compare(
        with_spy,
        symbol="AAPL",
        strategies=strategies,
        source="synthetic",
        start_date="2021-01-01",
        end_date="2024-01-01",
    )
    sig, bench = out["significance"], out["benchmark"]
    assert sig["best"] == out["best"] and sig["trials"] == 2
    sharpes = [row["sharpe_ratio"] for row in out["results"][:2]]
    assert sig["trials_sharpe_variance"] == pytest.approx((sharpes[0] - sharpes[1]) ** 2 / 2)
    assert sig["deflated_sharpe"] <= sig["psr_vs_zero"]
    assert sig["verdict"].startswith("deflated Sharpe ratio: ") and sig["verdict"].endswith("at 95%")
    assert sig["psr_vs_benchmark"] is not None and "min_track_record_bars" in sig
    assert bench["symbol"] == "AAPL" and bench["total_return"] == pytest.approx(
        out["results"][-1]["total_return"]
    )
    (spy,) = bench["others"]
    assert spy["symbol"] == "SPY" and spy["common_bars"] > 500
    assert spy["verdict"].endswith(("a year behind)", "a year")) and "SPY" in spy["verdict"]
    # the settings' benchmark symbol is the traded one: only its own buy and hold
    same = api_compare(
        with_spy, symbol="SPY", strategies=strategies[:1], source="synthetic", start_date="2022-01-01"
    )
    assert same["benchmark"]["others"] == [] and same["significance"]["deflated_sharpe"] is None
