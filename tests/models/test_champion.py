"""The champion rule on a real MLflow store: both versions scored on the later validation window.

The bars switch regime on 2020-07-01: returns follow through before it (AR(1), +0.6) and revert
after it (-0.4), so a ridge fitted on either part predicts its own part well and the other badly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipelines.app.train import TrainResult, plan_training, train_model
from pipelines.data.ingest import open_store
from pipelines.data.store import SeriesKey
from pipelines.features.store import stored_bars_table
from pipelines.models.champion import beats
from pipelines.models.champion_window import MIN_COMPARE_ROWS
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings

KEY = SeriesKey("file", "1d", "XYZ")
SWITCH = "2020-07-01"
EARLY = ("2016-01-01", SWITCH)  # the first regime only
LATE = (SWITCH, "2025-01-01")  # the second regime only


def regime_bars() -> pd.DataFrame:
    ts = pd.date_range("2016-01-01", "2024-12-31", freq="D", tz="UTC")
    eps = np.random.default_rng(7).standard_normal(len(ts))
    phi = np.where(ts < pd.Timestamp(SWITCH, tz="UTC"), 0.6, -0.4)
    r = np.zeros(len(ts))
    for i in range(1, len(ts)):
        r[i] = phi[i] * r[i - 1] + 0.01 * eps[i]
    close = 100 * np.exp(np.cumsum(r))
    open_ = np.r_[100.0, close[:-1]]
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": 1e6 * (1 + np.abs(eps)),
            "symbol": "XYZ",
            "timeframe": "1d",
            "source": "file",
        }
    )


@pytest.fixture
def regimes(settings: Settings) -> Settings:
    open_store(settings).write(regime_bars())
    return settings


def fit(settings: Settings, tracker: MlflowTracker, span: tuple[str, str], **extra: object) -> TrainResult:
    """A ridge of model ``m`` on the stored bars of ``span`` (the table handed in, as Dagster does)."""
    request = plan_training(
        settings,
        model_type="simple",
        model_name="m",
        symbol="XYZ",
        source="file",
        start=span[0],
        end=span[1],
        **extra,  # type: ignore[arg-type]
    )
    return train_model(
        settings, request, tracker, table=stored_bars_table(settings, KEY, request.start, request.end)
    )


def champion_of(tracker: MlflowTracker) -> str:
    current = tracker.alias_version("m", "champion")
    assert current is not None
    return current.version


def test_an_older_candidate_is_judged_on_the_champions_later_window(
    regimes: Settings, tracker: MlflowTracker
) -> None:
    fit(regimes, tracker, EARLY)
    later = fit(regimes, tracker, LATE)  # its window is the later one, where the old regime fails
    assert later.champion and later.comparison is not None
    assert later.comparison["window_of"] == "candidate"
    assert later.comparison["candidate"] == pytest.approx(later.metrics["val_ic"])  # its own window, whole
    assert later.comparison["candidate"] > later.comparison["champion"]

    older = fit(regimes, tracker, EARLY)  # better on its own (earlier) window than the champion on its own
    assert older.metrics["val_ic"] > later.metrics["val_ic"]
    assert not older.champion and champion_of(tracker) == later.version
    compared = older.comparison
    assert compared is not None and compared["window_of"] == "champion" and not compared["forced"]
    assert compared["window_start"] >= later.data_range["val_start"]
    assert compared["window_end"] == later.data_range["val_end"]
    assert compared["champion"] == pytest.approx(later.metrics["val_ic"])
    assert compared["candidate"] < compared["champion"]
    assert "champion stays version 2" in older.decision and "champion's validation window" in older.decision

    run = tracker.client.get_run(older.run_id).data
    assert run.metrics["champion_compare_candidate_ic"] == pytest.approx(compared["candidate"])
    assert run.metrics["champion_compare_champion_ic"] == pytest.approx(compared["champion"])
    assert run.metrics["champion_compare_rows"] == compared["rows"] >= MIN_COMPARE_ROWS
    assert run.metrics["promoted"] == 0.0 and run.metrics["champion_forced"] == 0.0
    assert run.params["champion_compare_window_start"] == compared["window_start"]
    assert run.params["champion_compare_window_end"] == compared["window_end"]
    assert run.params["champion_compare_window_of"] == "champion"
    assert run.tags["tradeforge.champion_decision"] == older.decision


def test_force_promotes_and_says_so(regimes: Settings, tracker: MlflowTracker) -> None:
    fit(regimes, tracker, LATE)
    forced = fit(regimes, tracker, EARLY, force=True)
    assert forced.champion and champion_of(tracker) == forced.version
    assert forced.decision.startswith("forced: promoted to champion over v1")
    assert forced.comparison is not None and forced.comparison["forced"]
    assert forced.comparison["candidate"] < forced.comparison["champion"]  # worse, promoted anyway
    run = tracker.client.get_run(forced.run_id).data
    assert run.tags["tradeforge.champion_forced"] == "true" and run.metrics["champion_forced"] == 1.0


def test_rows_either_version_trained_on_are_left_out(regimes: Settings, tracker: MlflowTracker) -> None:
    wide = fit(regimes, tracker, LATE, validation_split=0.6)  # validates from 2022 on
    shorter = fit(regimes, tracker, (SWITCH, "2024-06-01"))  # trained into that window
    compared = shorter.comparison
    assert compared is not None and compared["window_of"] == "champion"
    assert compared["window_start"] > shorter.data_range["train_end"] > wide.data_range["val_start"]
    assert compared["window_end"] == wide.data_range["val_end"]
    assert compared["rows"] < int(wide.data_range["val_rows"])


def test_too_few_held_out_rows_keep_the_champion(regimes: Settings, tracker: MlflowTracker) -> None:
    fit(regimes, tracker, LATE)
    tiny = fit(regimes, tracker, LATE, validation_split=0.01)  # its window ends with the champion's: later
    assert not tiny.champion and champion_of(tracker) == "1"
    assert tiny.comparison is not None and tiny.comparison["rows"] < MIN_COMPARE_ROWS
    assert (
        "champion stays version 1: only" in tiny.decision and f"at least {MIN_COMPARE_ROWS}" in tiny.decision
    )


@pytest.mark.parametrize(
    ("metric", "new", "old", "wins"),
    [
        ("val_ic", 0.1, 0.1, False),  # a tie keeps the champion
        ("val_ic", 0.1000001, 0.1, True),
        ("val_ic", -0.05, float("nan"), False),  # constant predictions (no skill) beat a negative IC
        ("val_ic", 0.01, float("nan"), True),
        ("val_ic", float("nan"), float("nan"), False),
        ("val_rmse", 0.9, 1.0, True),
        ("val_rmse", float("nan"), 1.0, False),
        ("val_directional_accuracy", 0.49, float("nan"), False),
    ],
)
def test_strictly_better_undefined_as_no_skill(metric: str, new: float, old: float, wins: bool) -> None:
    assert beats(metric, new, old) is wins
