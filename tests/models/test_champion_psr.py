"""The held-out probabilistic Sharpe ratio as a champion criterion, on a real MLflow store.

A series with a real edge (returns that revert after 2020-07-01) passes the test; a series of pure
noise, where a new version can beat the champion's IC by luck, does not."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.app.train import TrainResult, plan_training, train_model
from pipelines.data.ingest import open_store
from pipelines.data.store import SeriesKey
from pipelines.features.store import stored_bars_table
from pipelines.models.champion_psr import direction_returns, held_out_psr
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings
from tests.models.test_champion import EARLY, LATE, regime_bars

MIN_PSR = 0.95


def noise_bars(seed: int) -> pd.DataFrame:
    """Daily bars of iid returns: no model has an edge on them."""
    bars = regime_bars()
    r = 0.01 * np.random.default_rng(seed).standard_normal(len(bars))
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    return bars.assign(
        open=open_,
        close=close,
        high=np.maximum(open_, close) * 1.002,
        low=np.minimum(open_, close) * 0.998,
        symbol="NSE",
    )


def fit(settings: Settings, tracker: MlflowTracker, symbol: str, span: tuple[str, str]) -> TrainResult:
    request = plan_training(
        settings,
        model_type="simple",
        model_name="m",
        symbol=symbol,
        source="file",
        start=span[0],
        end=span[1],
    )
    key = SeriesKey("file", "1d", symbol)
    return train_model(
        settings, request, tracker, table=stored_bars_table(settings, key, request.start, request.end)
    )


@pytest.fixture
def gated(settings: Settings) -> Settings:
    return settings.model_copy(update={"champion_min_psr": MIN_PSR})


def test_a_real_edge_reaches_the_psr_and_is_promoted(gated: Settings, tracker: MlflowTracker) -> None:
    open_store(gated).write(regime_bars())
    fit(gated, tracker, "XYZ", EARLY)
    later = fit(gated, tracker, "XYZ", LATE)
    compared = later.comparison
    assert later.champion and compared is not None
    assert compared["candidate"] > compared["champion"] and compared["min_psr"] == MIN_PSR
    assert compared["candidate_psr"] >= MIN_PSR > compared["champion_psr"]
    assert compared["psr_returns"] == compared["rows"]  # one-bar horizon: every row is its own return
    assert f"held-out PSR {compared['candidate_psr']:.6g} over" in later.decision
    assert later.decision.endswith(f">= {MIN_PSR}: promoted to champion")
    run = tracker.client.get_run(later.run_id).data
    assert run.metrics["champion_compare_candidate_psr"] == pytest.approx(compared["candidate_psr"])
    assert run.metrics["champion_compare_champion_psr"] == pytest.approx(compared["champion_psr"])
    assert float(run.tags["tradeforge.champion_psr"]) == pytest.approx(compared["candidate_psr"], abs=1e-6)
    assert run.tags["tradeforge.champion_min_psr"] == str(MIN_PSR)
    assert run.params["champion_min_psr"] == str(MIN_PSR)
    assert run.tags["tradeforge.champion_decision"] == later.decision


def test_a_lucky_win_on_noise_is_not_promoted(gated: Settings, tracker: MlflowTracker) -> None:
    """On iid returns the new version beats the champion's IC by luck; its held-out PSR does not
    reach the setting, so the champion stays (without the setting it would have been promoted)."""
    open_store(gated).write(noise_bars(2))
    fit(gated, tracker, "NSE", EARLY)
    lucky = fit(gated, tracker, "NSE", LATE)
    compared = lucky.comparison
    assert compared is not None and compared["candidate"] > compared["champion"]  # it won on the metric
    assert compared["candidate_psr"] < MIN_PSR
    assert not lucky.champion and tracker.alias_version("m", "champion").version == "1"  # type: ignore[union-attr]
    assert lucky.decision.endswith(f"< {MIN_PSR}: champion stays version 1")
    run = tracker.client.get_run(lucky.run_id).data
    assert run.metrics["promoted"] == 0.0
    assert float(run.tags["tradeforge.champion_psr"]) == pytest.approx(compared["candidate_psr"], abs=1e-6)
    assert run.tags["tradeforge.champion_decision"] == lucky.decision


def test_unset_the_psr_is_recorded_but_decides_nothing(settings: Settings, tracker: MlflowTracker) -> None:
    open_store(settings).write(noise_bars(2))
    fit(settings, tracker, "NSE", EARLY)
    lucky = fit(settings, tracker, "NSE", LATE)
    compared = lucky.comparison
    assert compared is not None and compared["min_psr"] is None
    assert compared["candidate_psr"] < MIN_PSR and lucky.champion  # the metric alone decided
    assert "PSR" not in lucky.decision
    run = tracker.client.get_run(lucky.run_id).data
    assert "tradeforge.champion_min_psr" not in run.tags and "champion_min_psr" not in run.params


def test_direction_returns_trade_the_sign_without_overlap() -> None:
    y = np.log(np.array([1.01, 0.98, 1.02, 1.03, 0.99, 1.0]))
    pred = np.array([0.5, 0.2, -0.1, 0.0, -3.0, 1.0])
    assert direction_returns(y, pred, 1) == pytest.approx([0.01, -0.02, -0.02, 0.0, 0.01, 0.0])
    assert direction_returns(y, pred, 2) == pytest.approx([0.01, -0.02, 0.01])  # rows 0, 2, 4
    paths = np.zeros((3, 8))  # OHLC paths of 2 steps: the next close (column 3) is traded, 1 bar
    paths[:, 3] = np.log([1.1, 0.9, 1.0])
    calls = np.ones((3, 8))
    assert direction_returns(paths, calls, 2) == pytest.approx([0.1, -0.1, 0.0])
    assert math.isnan(held_out_psr(y[:2], pred[:2], 1).psr)  # too few returns
    always_right = held_out_psr(
        np.log(1 + np.r_[0.01, -0.02, 0.015, -0.005] * 10), np.r_[1, -1, 1, -1] * 1.0, 1
    )
    assert always_right.psr > 0.5 and always_right.returns == 4
