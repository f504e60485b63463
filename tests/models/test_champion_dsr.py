"""The deflated Sharpe ratio of a new version across the versions of its model, on a real MLflow store."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.data.ingest import open_store
from pipelines.models.champion_psr import HeldOutPsr
from pipelines.models.champion_trials import SHARPE_TAG, deflate
from pipelines.models.tracking import MlflowTracker
from pipelines.settings import Settings
from pipelines.sharpe import deflated_sharpe, probabilistic_sharpe
from tests.models.test_champion import EARLY, LATE, regime_bars
from tests.models.test_champion_psr import fit


def _tags(tracker: MlflowTracker, version: str) -> dict[str, str]:
    return dict(tracker.client.get_model_version("m", version).tags)


def test_the_third_version_is_deflated_by_three_trials(settings: Settings, tracker: MlflowTracker) -> None:
    open_store(settings).write(regime_bars())
    first = fit(settings, tracker, "XYZ", EARLY)
    run = tracker.client.get_run(first.run_id).data
    assert first.comparison is None and run.metrics["held_out_trials"] == 1.0
    # one trial: the deflated Sharpe ratio is the PSR against 0
    assert run.metrics["held_out_deflated_sharpe"] == pytest.approx(run.metrics["held_out_psr"], abs=1e-12)
    fit(settings, tracker, "XYZ", LATE)
    third = fit(settings, tracker, "XYZ", ("2018-01-01", "2025-01-01"))
    compared = third.comparison
    assert compared is not None and compared["trials"] == 3
    tags = [_tags(tracker, v) for v in ("1", "2", "3")]
    sharpes = [float(t[SHARPE_TAG]) for t in tags]
    assert sharpes[2] == compared["held_out_sharpe"]
    variance = float(np.var(sharpes, ddof=1))
    assert variance > 0 and compared["trials_sharpe_variance"] == pytest.approx(variance, rel=1e-12)
    own = tags[2]
    expected = deflated_sharpe(
        sharpes[2],
        int(own["tradeforge.held_out_returns"]),
        float(own["tradeforge.held_out_skewness"]),
        float(own["tradeforge.held_out_kurtosis"]),
        3,
        variance,
    )
    assert compared["deflated_sharpe"] == pytest.approx(expected, abs=1e-12)
    assert compared["deflated_sharpe"] < compared["candidate_psr"]  # deflated below the PSR against 0
    run = tracker.client.get_run(third.run_id).data
    assert run.metrics["held_out_deflated_sharpe"] == pytest.approx(expected, abs=1e-12)
    assert run.tags["tradeforge.held_out_trials"] == "3"


def test_a_version_without_a_sharpe_tag_is_not_counted(settings: Settings, tracker: MlflowTracker) -> None:
    open_store(settings).write(regime_bars())
    fit(settings, tracker, "XYZ", EARLY)
    tracker.client.delete_model_version_tag("m", "1", SHARPE_TAG)  # as registered before the tag existed
    later = fit(settings, tracker, "XYZ", LATE)
    compared = later.comparison
    assert compared is not None and compared["trials"] == 1 and compared["trials_sharpe_variance"] == 0.0
    assert compared["deflated_sharpe"] == pytest.approx(compared["candidate_psr"], abs=1e-12)
    assert float(_tags(tracker, "2")[SHARPE_TAG]) == compared["held_out_sharpe"]


def test_one_trial_is_the_psr_against_zero_and_no_sharpe_no_deflation() -> None:
    held = HeldOutPsr(psr=0.0, sharpe=0.12, returns=250, skewness=-0.3, kurtosis=4.0)
    alone = deflate(held, [])
    assert alone is not None and alone.trials == 1 and alone.sharpe_variance == 0.0
    assert alone.deflated_sharpe == probabilistic_sharpe(0.12, 0.0, 250, -0.3, 4.0)
    crowded = deflate(held, [0.0, 0.3, -0.1])
    assert crowded is not None and crowded.trials == 4
    assert crowded.deflated_sharpe < alone.deflated_sharpe
    assert deflate(HeldOutPsr(returns=2), [0.1]) is None
