"""A stored strategy's params become one runner config per symbol with the engine's settings."""

from __future__ import annotations

import pytest

from pipelines.errors import InvalidRequestError
from pipelines.trading.runner import StrategyRunner
from pipelines.trading.strategy_specs import checked_spec, runner_configs


def test_stored_params_become_runner_configs() -> None:
    spec = checked_spec(
        "BollingerBreakout",
        {"symbols": ["btc_usdt", "AAPL", "BTC/USDT"], "capital": "1500.5", "stop_loss": 0.02, "period": 30},
    )
    assert spec.type == "bollinger_breakout"
    assert spec.params["symbols"] == ["BTC/USDT", "AAPL"]  # canonical, duplicates dropped
    configs = runner_configs("s9", "u9", spec.type, spec.params)
    assert [c.symbol for c in configs] == ["BTC/USDT", "AAPL"]
    bt = configs[0].backtest
    assert (bt.initial_capital, bt.stop_loss, bt.timeframe) == (1500.5, 0.02, "1m")
    assert configs[0].params == {"period": 30, "nbdev": 2.0}
    runner = StrategyRunner(configs[1])
    assert runner.lookback == 300 and runner.cash == 1500.5


def test_ml_strategies_are_stored_but_not_run_without_a_model_context() -> None:
    spec = checked_spec("MLPredictive", {"symbols": ["AAPL"], "model_name": "lgbm_aapl"})
    with pytest.raises(InvalidRequestError, match="model context"):
        StrategyRunner(runner_configs("s", "u", spec.type, spec.params)[0])
