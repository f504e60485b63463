"""Optuna optimization of a strategy's parameters: the search never sees the held-out tail, the best
is the best of what was tried, studies resume, and bad requests are refused before any trial."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.optimize import optimize_strategy, split_index
from pipelines.backtest.param_space import parse_constraint, parse_dimension, parse_space
from pipelines.backtest.runner import run_strategy, run_strategy_from
from pipelines.errors import ConflictError, InvalidRequestError

Bars = Callable[..., pd.DataFrame]
CONFIG = BacktestConfig(commission=0.001)


def _sma(rand_bars: Bars, **changes: Any) -> Any:
    bars = rand_bars(600, seed=5)
    space = parse_space("sma_cross", {"fast": "3:30", "slow": "10:80"})
    args: dict[str, Any] = {"constraints": [parse_constraint("fast < slow", list(space))], "trials": 25}
    return bars, space, optimize_strategy(bars, "sma_cross", CONFIG, space, **(args | changes))


def test_the_search_never_sees_the_held_out_tail(rand_bars: Bars) -> None:
    bars, space, result = _sma(rand_bars, holdout=0.25, prune=False)
    cut = split_index(len(bars), 0.25)
    assert result.split["search_bars"] == cut == 450 and result.split["holdout_bars"] == 150
    assert pd.Timestamp(result.split["search_end"]) < pd.Timestamp(result.split["holdout_start"])
    # A different future gives the very same trials: nothing of the tail leaked into the search.
    changed = bars.copy()
    changed.loc[cut:, ["open", "high", "low", "close"]] *= 1.5
    again = optimize_strategy(
        changed,
        "sma_cross",
        CONFIG,
        space,
        constraints=[parse_constraint("fast < slow", list(space))],
        trials=25,
        holdout=0.25,
        prune=False,
    )
    assert [t["value"] for t in again.trials] == [t["value"] for t in result.trials]
    assert again.out_of_sample != result.out_of_sample
    # In-sample is the backtest of the search bars; out-of-sample trades the tail only.
    search = run_strategy(bars.iloc[:cut].reset_index(drop=True), "sma_cross", result.best_params, CONFIG)
    assert result.in_sample == search.metrics
    assert result.best_value == search.metrics["sharpe_ratio"]
    tail = run_strategy_from(
        bars, pd.Timestamp(result.split["holdout_start"]), "sma_cross", result.best_params, CONFIG
    )
    assert result.out_of_sample == tail.metrics


def test_the_best_is_the_best_of_every_combination_on_a_small_grid(rand_bars: Bars) -> None:
    bars = rand_bars(400, seed=11)
    space = parse_space("sma_cross", {"fast": "5,10,15", "slow": "20,40"})
    result = optimize_strategy(bars, "sma_cross", CONFIG, space, trials=40, prune=False, holdout=0.2)
    search = bars.iloc[: result.split["search_bars"]].reset_index(drop=True)
    every = {
        (f, s): run_strategy(search, "sma_cross", {"fast": f, "slow": s}, CONFIG).metrics["sharpe_ratio"]
        for f, s in itertools.product((5, 10, 15), (20, 40))
    }
    best = max(every, key=lambda k: every[k])
    assert (result.best_params["fast"], result.best_params["slow"]) == best
    assert result.best_value == pytest.approx(every[best], rel=0, abs=1e-12)
    for trial in result.trials:
        assert trial["value"] == pytest.approx(every[(trial["params"]["fast"], trial["params"]["slow"])])


def test_constraints_skip_trials_and_pruning_stops_some(rand_bars: Bars) -> None:
    _, _, result = _sma(rand_bars, trials=40, prune=True)
    done = [t for t in result.trials if t["state"] == "complete"]
    assert done and all(t["params"]["fast"] < t["params"]["slow"] for t in done)
    skipped = [t for t in result.trials if "breaks" in t.get("note", "")]
    assert all(t["params"]["fast"] >= t["params"]["slow"] for t in skipped)
    assert result.counts["trials_skipped"] == len(skipped)
    assert result.counts["trials_pruned"] > 0  # the median pruner stopped some at half the bars
    assert sum(result.counts.values()) == len(result.trials) == 40


def test_the_best_sharpe_is_deflated_by_the_trials(rand_bars: Bars) -> None:
    _, _, result = _sma(rand_bars, prune=False)
    block = result.significance
    assert block["trials"] == result.counts["trials_complete"] > 1
    assert block["trials_sharpe_variance"] > 0
    assert block["deflated_sharpe"] < block["psr_vs_zero"]  # many trials: less trust than one
    assert block["overfitting"] is not None and 0.0 <= block["overfitting"]["pbo"] <= 1.0


def test_a_stored_study_resumes_and_refuses_other_settings(rand_bars: Bars, tmp_path: Path) -> None:
    store = tmp_path / "studies" / "sma.log"
    _, space, first = _sma(rand_bars, trials=10, storage=store, study_name="sma")
    bars, _, second = _sma(rand_bars, trials=5, storage=store, study_name="sma")
    assert len(second.trials) == 15 and second.trials[:10] == first.trials
    assert second.best_value >= first.best_value
    with pytest.raises(ConflictError, match="objective"):
        optimize_strategy(
            bars, "sma_cross", CONFIG, space, trials=1, objective="calmar", storage=store, study_name="sma"
        )


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"fast": "5:1"}, "ends below"),
        ({"fast": "a:9"}, "not an integer"),
        ({"fast": "0:9"}, ">= 1"),
        ({"speed": "1:9"}, "no parameter"),
        ({"fast": "1:9:0"}, "step must be > 0"),
        ({"fast": "1:2:3:4"}, "low:high"),
    ],
)
def test_bad_spaces_are_refused(ranges: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        parse_space("sma_cross", ranges)


def test_bad_requests_are_refused_before_any_trial(rand_bars: Bars, tmp_path: Path) -> None:
    bars = rand_bars(200, seed=1)
    space = parse_space("sma_cross", {"fast": "3:10"})
    with pytest.raises(InvalidRequestError, match="constraint"):
        parse_constraint("fast < __import__", ["fast"])
    with pytest.raises(InvalidRequestError, match="a OP b"):
        parse_constraint("fast; slow", ["fast", "slow"])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"objective": "luck"}, "objective"),
        ({"holdout": 0.9}, "holdout"),
        ({"trials": 0}, "trials"),
        ({"fixed": {"fast": 3}}, "both searched and fixed"),
    ]
    for changes, message in cases:
        with pytest.raises(InvalidRequestError, match=message):
            optimize_strategy(bars, "sma_cross", CONFIG, space, storage=tmp_path / "s.log", **changes)
    with pytest.raises(InvalidRequestError, match="too few"):
        optimize_strategy(bars.head(20), "sma_cross", CONFIG, space)
    assert not (tmp_path / "s.log").exists()  # nothing was stored
    assert parse_dimension("nbdev", "1.0:2.0:0.3", float).high == pytest.approx(1.9)
