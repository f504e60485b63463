"""Honest results: the ``benchmark`` and ``significance`` blocks every backtest, walk-forward and
comparison carries, and the short "how much to trust this" lines the front ends show.

``benchmark``: buy and hold of the same symbol (:mod:`pipelines.backtest.benchmark_compare`), its
comparison fields and verdict, and ``others``: the same against other symbols' buy and hold (a
benchmark symbol from the settings). ``significance``: :func:`significance.sharpe_significance`
against zero and the benchmark's Sharpe ratio; with several trials (strategies compared) the deflated
Sharpe ratio and the probability of backtest over-fitting; for a walk-forward its efficiency; for a
sweep the best combination's blocks, deflated by every combination run.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from pipelines.backtest.benchmark_compare import benchmark_summary, buy_and_hold_on, verdict, versus
from pipelines.backtest.config import BacktestConfig
from pipelines.backtest.engine import BacktestResult
from pipelines.backtest.overfitting import pbo_block
from pipelines.backtest.significance import (
    bar_returns,
    sharpe_significance,
    significance_verdict,
    walk_forward_efficiency,
    walk_forward_means,
)
from pipelines.backtest.sweep import SweepResult
from pipelines.backtest.walk_forward import WalkForwardResult

__all__ = [
    "HonestResults",
    "benchmark_block",
    "compare_significance",
    "honest_backtest",
    "honest_results",
    "honest_sweep",
    "honest_walk_forward",
    "trust_lines",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Others = Sequence[tuple[str, pd.DataFrame]]


@dataclass(frozen=True)
class HonestResults:
    """The two blocks, and the benchmark's own backtest (its curve goes beside the result's)."""

    benchmark: dict[str, Any]
    significance: dict[str, Any]
    benchmark_result: BacktestResult

    def as_dict(self) -> dict[str, Any]:
        return {"benchmark": self.benchmark, "significance": self.significance}


def benchmark_block(
    symbol: str, bench: BacktestResult, ts: IntArray, equity: FloatArray, per_year: float
) -> dict[str, Any]:
    """What ``bench`` (a buy and hold of ``symbol``) did, the curve against it, and the verdict."""
    fields = versus(ts, equity, bench.timestamps_ns, bench.equity, per_year=per_year)
    return {
        **benchmark_summary(symbol, bench),
        **fields,
        "verdict": verdict(fields["excess_annual_return"], symbol),
    }


def honest_results(
    bars: pd.DataFrame,
    timestamps_ns: IntArray,
    equity: FloatArray,
    config: BacktestConfig,
    *,
    symbol: str,
    others: Others = (),
    trials: int = 1,
    trials_sharpe_variance: float | None = None,
) -> HonestResults:
    """The blocks of a curve traded on ``bars`` (the bars may reach before and after it: only its
    period is bought and held); ``others``: (symbol, bars) of further benchmarks."""
    per_year = config.bars_per_year
    bench = buy_and_hold_on(bars, timestamps_ns, config)
    block = benchmark_block(symbol, bench, timestamps_ns, equity, per_year)
    block["others"] = [
        benchmark_block(name, buy_and_hold_on(other, timestamps_ns, config), timestamps_ns, equity, per_year)
        for name, other in others
    ]
    significance = sharpe_significance(
        bar_returns(equity),
        per_year=per_year,
        benchmark_sharpe=bench.metrics["sharpe_ratio"],
        trials=trials,
        trials_sharpe_variance=trials_sharpe_variance,
    )
    return HonestResults(block, significance, bench)


def honest_backtest(
    bars: pd.DataFrame, result: BacktestResult, *, symbol: str, others: Others = ()
) -> HonestResults:
    """The blocks of one backtest."""
    return honest_results(
        bars, result.timestamps_ns, result.equity, result.config, symbol=symbol, others=others
    )


def honest_walk_forward(
    bars: pd.DataFrame, result: WalkForwardResult, config: BacktestConfig, *, symbol: str, others: Others = ()
) -> HonestResults:
    """The blocks of a walk-forward's stitched out-of-sample curve, with ``walk_forward_efficiency``:
    mean out-of-sample over mean in-sample Sharpe ratio (``out_of_sample_sharpe`` /
    ``in_sample_sharpe``, both over the folds that have the two) of the folds (None when the folds
    were not traded in sample or their in-sample mean is <= 0)."""
    honest = honest_results(bars, result.timestamps_ns, result.equity, config, symbol=symbol, others=others)
    in_sample = [f.in_sample_metrics["sharpe_ratio"] if f.in_sample_metrics else None for f in result.folds]
    out_of_sample = [f.result.metrics["sharpe_ratio"] for f in result.folds]
    mean_in, mean_out = walk_forward_means(in_sample, out_of_sample)
    honest.significance["in_sample_sharpe"] = mean_in
    honest.significance["out_of_sample_sharpe"] = mean_out
    honest.significance["walk_forward_efficiency"] = walk_forward_efficiency(in_sample, out_of_sample)
    return honest


def honest_sweep(bars: pd.DataFrame, result: SweepResult, *, symbol: str, others: Others = ()) -> SweepResult:
    """``result`` with its ``benchmark`` block (the best combination's curve against buy and hold of
    ``symbol`` over the bars it traded, with its costs) and its ``significance`` block against the
    benchmark's Sharpe ratio too, still deflated by every combination run, with the sweep's PBO."""
    sig, best = result.significance, result.best
    honest = honest_results(
        bars,
        best.timestamps_ns,
        best.equity,
        result.config,
        symbol=symbol,
        others=others,
        trials=sig["trials"],
        trials_sharpe_variance=sig["trials_sharpe_variance"],
    )
    significance = {**honest.significance, "overfitting": sig.get("overfitting")}
    return replace(result, benchmark=honest.benchmark, significance=significance)


def compare_significance(
    results: Mapping[str, BacktestResult], benchmark_sharpe: float | None
) -> dict[str, Any]:
    """The ``significance`` of the best (by Sharpe ratio) of several results on the same bars: its
    Sharpe ratio deflated by the number of results compared and the variance of their Sharpe
    ratios, and the probability of backtest over-fitting of choosing it (None for one result)."""
    labels = list(results)
    sharpes = [results[label].metrics["sharpe_ratio"] for label in labels]
    by_label = dict(zip(labels, sharpes, strict=True))
    best = max(labels, key=lambda label: by_label[label] if by_label[label] is not None else -math.inf)
    finite = [s for s in sharpes if s is not None]
    variance = float(np.var(finite, ddof=1)) if len(finite) > 1 else None
    chosen = results[best]
    block = sharpe_significance(
        bar_returns(chosen.equity),
        per_year=chosen.config.bars_per_year,
        benchmark_sharpe=benchmark_sharpe,
        trials=len(labels),
        trials_sharpe_variance=variance,
    )
    matrix = (
        np.column_stack([bar_returns(results[label].equity) for label in labels]) if len(labels) > 1 else None
    )
    block["best"] = best
    block["overfitting"] = pbo_block(matrix) if matrix is not None else None
    return block


def _num(value: Any, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def trust_lines(honest: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Long because it words each line of the block in turn.

    (label, text) lines of "how much to trust this" from an answer's ``benchmark`` and
    ``significance`` blocks (as ``HonestResults.as_dict`` gives them)."""
    bench, sig = honest["benchmark"], honest["significance"]
    lines = [("benchmark", bench["verdict"])]
    lines += [("", other["verdict"]) for other in bench.get("others", [])]
    lines.append(
        (
            "sharpe",
            f"{_num(sig['sharpe_ratio'])} ± {_num(sig['sharpe_std_error'])} a year over "
            f"{sig['observations']:,} bars (buy and hold {_num(bench['sharpe_ratio'])})",
        )
    )
    lines.append(
        (
            "P(true SR > 0)",
            f"{_num(sig['psr_vs_zero'], '.3f')}; > buy and hold's: {_num(sig['psr_vs_benchmark'], '.3f')}",
        )
    )
    years, bars = sig["min_track_record_years"], sig["min_track_record_bars"]
    if years is None:
        needed = "no length makes a Sharpe ratio <= 0 significant"
    else:
        has = sig["observations"] * years / bars
        needed = f"{years:.1f} years needed for {sig['confidence']:.0%} confidence, {has:.1f} traded"
    lines.append(("track record", needed))
    if sig.get("deflated_sharpe") is not None:
        lines.append(
            (
                "deflated SR",
                f"{_num(sig['deflated_sharpe'], '.3f')} over {sig['trials']} trials "
                f"(luck alone reaches {_num(sig['expected_max_sharpe'])})",
            )
        )
    if sig.get("overfitting"):
        lines.append(("overfitting", f"PBO {_num(sig['overfitting']['pbo'], '.2f')}"))
    if "walk_forward_efficiency" in sig:
        lines.append(("wf efficiency", f"{_num(sig['walk_forward_efficiency'])} (out / in-sample Sharpe)"))
    lines.append(("verdict", sig.get("verdict") or significance_verdict(sig)))
    return lines
